// Weight generator of source `hfn` (docs/weight-sources.md, docs/weight-generation.md):
// w = sign(LFSR) * mask, regenerated for every output pixel; no weight is stored.
//
// Port contract of every weight generator (driven by the engine's sequencer):
//   group  GAW bits  the output-channel group; held from >= 2 cycles before the group's
//                    first issue (generators read per-group ROMs with it)
//   issue            a chunk is issued this cycle
//   chunk  CAW bits  the issued chunk's address: base + g*KCH + (kh*KW + kw)*NC + c
//   first            it is the first chunk of an output pixel (weights start over)
//   n      NW bits   valid kernel positions in the chunk (1..P_IN)
//   w                P_OUT*P_IN weights of WB bits, weight (o, i) at [(o*P_IN + i)*WB +: WB],
//                    valid LATENCY = 1 cycle after the issue
// hfn: WB = 2 (bit 0 = mask, bit 1 = mask & sign: two's complement +1 / -1 / 0).
// ROMs: the mask (P_OUT*P_IN bits per chunk, lane order) and the LFSR start states
// (32*P_OUT bits per group); each lane leaps its LFSR by n per chunk (hfn_lfsr_leap).
`default_nettype none
module hfn_wgen_hfn #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,
    parameter integer NW = 3,          // width of n (holds 0..P_IN)
    parameter integer CAW = 1,         // chunk address width (>= clog2(CD))
    parameter integer CD = 2,          // mask ROM depth
    parameter integer GAW = 1,         // group address width (>= clog2(GD))
    parameter integer GD = 2,          // start-state ROM depth
    parameter MASK_FILE = "",
    parameter STATE_FILE = ""
) (
    input  wire                       clk,
    input  wire                       issue,
    input  wire                       first,
    input  wire [NW-1:0]              n,
    /* verilator lint_off UNUSEDSIGNAL */   // CAW / GAW fit the deepest generator ROM
    input  wire [CAW-1:0]             chunk,
    input  wire [GAW-1:0]             group,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [P_OUT*P_IN*2-1:0]    w
);
    wire [P_OUT*P_IN-1:0] mask_q;
    wire [32*P_OUT-1:0] st_q;
    // each ROM takes the address bits it needs (CAW / GAW fit the deepest generator ROM
    // of a design that mixes sources)
    localparam integer MAW = (CD > 1) ? $clog2(CD) : 1, SAW = (GD > 1) ? $clog2(GD) : 1;
    hfn_rom #(.W(P_OUT*P_IN), .D(CD), .AW(MAW), .FILE(MASK_FILE)) u_mask (
        .clk(clk), .addr(chunk[MAW-1:0]), .q(mask_q));
    hfn_rom #(.W(32*P_OUT), .D(GD), .AW(SAW), .FILE(STATE_FILE)) u_state (
        .clk(clk), .addr(group[SAW-1:0]), .q(st_q));
    reg [P_OUT*P_IN-1:0] sign;
    reg [31:0] lfsr [0:P_OUT-1];
    genvar o, k;
    generate
        for (o = 0; o < P_OUT; o = o + 1) begin : g_lfsr
            wire [31:0] cur = first ? st_q[32*o +: 32] : lfsr[o];
            wire [P_IN-1:0] bits_c;
            wire [31:0] nxt;
            hfn_lfsr_leap #(.P(P_IN), .NW(NW)) u_leap (.state(cur), .n(n),
                .bits(bits_c), .next(nxt));
            always @(posedge clk) if (issue) begin
                lfsr[o] <= nxt;
                sign[o*P_IN +: P_IN] <= bits_c;
            end
        end
        for (k = 0; k < P_OUT*P_IN; k = k + 1) begin : g_w
            assign w[2*k +: 2] = {sign[k] & mask_q[k], mask_q[k]};
        end
    endgenerate
endmodule
`default_nettype wire
