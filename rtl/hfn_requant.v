// Compact requantisation (docs/arithmetic.md "Compact requantisation", docs/rtl.md).
//
// A row of a requant is stored as one word {neg, S, A} instead of its L thresholds (KNEE = 1:
// {K, S2, A2, neg, S, A}, and inputs x >= K use the second segment (A2, S2)); the
// unit regenerates the ascending thresholds T_j = ceil((B + j*S + tie_j) / 2^FU) on the
// fly and counts those x reaches, c = #{j < L : x >= T_j}, by a pipelined non-restoring
// bisection: E = A - x*2^FU (A = B + (2^(N-1) - 1)*S + tie_odd - 1, precomputed by the
// writer) is the probe of the middle threshold minus x; stage k >= 1 decides bit k from
// the sign of E and moves to the next probe by E +/- S*2^(k-1) (one adder/subtractor per
// stage, shift-and-add: no multiplier); stage 0 probes an even index, whose tie term
// differs from the odd probes' by kappa = tie_even - tie_odd (tie 1: +1, tie 2: -1).
// Then c = min(c, L) + delta (delta: a listed exception point of this row at this x) and
// y = out_min + (neg ? L - c : c).
//
// hfn_requant_lane: one value per cycle, latency N + 2 from x/key to y; the row's ROM
// word arrives one cycle after x/key (a synchronous ROM addressed at cycle 0).
// hfn_requant: P lanes sharing one ROM address (base + group for per-channel rows),
// with a bypass (en = 0 passes x through with the same latency).
`default_nettype none
module hfn_requant #(
    parameter integer P = 4,          // lanes
    parameter integer N = 4,          // bisection stages
    parameter integer VW = 20,        // value width of in_x / out_y (signed)
    parameter integer XW = 16,        // input width the rows need (signed, <= VW)
    parameter integer FU = 0,
    parameter integer EW = 24,
    parameter integer AW = 16,
    parameter integer SW = 8,
    parameter integer OW = 10,        // output width (signed, <= VW)
    parameter integer RAW = 8,        // ROM address width (the exception key)
    parameter integer GW = 4,         // group index width
    parameter integer NE = 0,         // exception entries per lane
    parameter integer DW = 2,
    parameter integer TIES = 1,
    parameter integer KNEE = 0,       // 1: words {K, S2, A2, neg, S, A} (rows with a knee)
    parameter integer NEX = (NE > 0) ? NE : 1,
    parameter integer EXW = 1 + RAW + XW + DW,
    parameter integer QW = AW + SW + 1 + ((KNEE != 0) ? XW + AW + SW : 0)
) (
    input  wire                   clk,
    /* verilator lint_off UNUSEDSIGNAL */  // VW-bit values: the rows read XW bits, the
    input  wire [P*VW-1:0]        in_x,    // bypass all; static fields are VW bits wide
    input  wire [GW-1:0]          in_g,
    input  wire                   en,
    input  wire                   pc,      // per-channel rows (else one shared row)
    input  wire [1:0]             tie,
    input  wire [VW-1:0]          out_min,
    input  wire [VW-1:0]          out_max, // out_min + levels
    input  wire [VW-1:0]          levels,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [RAW-1:0]         base,    // address of the set's row of group 0
    output wire [RAW-1:0]         rom_addr,
    input  wire [P*QW-1:0]        rom_q,
    input  wire [P*NEX*EXW-1:0]   exc,
    output wire [P*VW-1:0]        out_y
);
    assign rom_addr = base + (pc ? {{(RAW-GW){1'b0}}, in_g} : {RAW{1'b0}});
    reg [P*VW-1:0] xd [0:N+1];           // the bypass: x delayed by the latency
    integer i;
    always @(posedge clk) begin
        xd[0] <= in_x;
        for (i = 1; i <= N + 1; i = i + 1) xd[i] <= xd[i-1];
    end
    genvar o;
    generate
        for (o = 0; o < P; o = o + 1) begin : g_lane
            wire [OW-1:0] y;
            hfn_requant_lane #(.N(N), .XW(XW), .FU(FU), .EW(EW), .AW(AW), .SW(SW), .OW(OW),
                               .KW(RAW), .NE(NE), .DW(DW), .TIES(TIES), .KNEE(KNEE)) u_lane (
                .clk(clk), .x(in_x[o*VW +: XW]), .key(rom_addr),
                .word(rom_q[o*QW +: QW]), .tie(tie), .levels(levels[N-1:0]),
                .out_min(out_min[OW-1:0]), .out_max(out_max[OW-1:0]),
                .exc(exc[o*NEX*EXW +: NEX*EXW]), .y(y));
            assign out_y[o*VW +: VW] = en ? {{(VW-OW){y[OW-1]}}, y} : xd[N+1][o*VW +: VW];
        end
    endgenerate
endmodule
`default_nettype wire
