// Requantisation of one stream's drain (pixel engine, docs/rtl.md), one op (R1, Rs or
// R2): the compact requantisation of docs/arithmetic.md (rtl/hfn_requant_lane.v, the
// channel engine's lane, unchanged) with RS lanes sharing the row of the drained unit's
// output channel.
//
// Per unit the channel's row {[K, S2, A2,] neg, S, A} (one word: rtl_backend/images.py owns the
// layout, `RequantImages` with the streams as its lanes) is read from this stream's ROM
// at ld_addr (`ld_start` when `bank_free`), held until `take` (the cycle before the
// unit's first value is at x), then the row's address becomes the exception key (at x's
// cycle) and, one cycle later, the word becomes the lanes' `word` (their cycle 1): the
// previous unit's last value, at x in the `take` cycle at the latest, still sees its
// own key and word.  With en = 0 the lanes pass x through.  Latency N + 2 from x to y.
//
// RQ packs the unit's widths, 8 bits each from bit 0 (design.UNIT_PARAMS order): XW, FU,
// EW, AW, SW, OW, NE, DW, TIES, KNEE (1: the rows have knees, the word is
// {K, S2, A2, neg, S, A}: docs/arithmetic.md).
`default_nettype none
module hfn_pl_requant #(
    parameter integer RS = 4,          // lanes
    parameter integer VW = 18,         // value width (signed)
    parameter integer N = 5,           // bisection stages (2^N - 1 >= L)
    parameter [79:0]  RQ = {8'd0, 8'd0, 8'd2, 8'd1, 8'd0, 8'd8, 8'd8, 8'd16, 8'd0, 8'd8},
    parameter integer HD = 16,         // ROM depth
    parameter FILE = "rq.mem",
    parameter XFILE = "x.mem"          // exception entries (hfn_const)
) (
    input  wire              clk,
    input  wire              rst,
    input  wire              en,          // the pass has this op
    input  wire [8:0]        levels,      // L
    input  wire [1:0]        tie,         // tie mode of the op's rows
    input  wire [VW-1:0]     out_min,
    // row loading
    input  wire              ld_start,    // read the row at ld_addr (bank_free)
    input  wire [15:0]       ld_addr,
    output wire              bank_free,   // a read may start
    output reg               loaded,      // a row is held, not yet taken
    // lanes
    input  wire              take,        // the unit's first value is at x next cycle
    input  wire              v_in,
    input  wire [RS*VW-1:0]  x,
    output wire              v_out,
    output wire [RS*VW-1:0]  y
);
    localparam integer XW = {24'd0, RQ[7:0]}, FU = {24'd0, RQ[15:8]};
    localparam integer EW = {24'd0, RQ[23:16]}, AW = {24'd0, RQ[31:24]};
    localparam integer SW = {24'd0, RQ[39:32]}, OW = {24'd0, RQ[47:40]};
    localparam integer NE = {24'd0, RQ[55:48]}, DW = {24'd0, RQ[63:56]};
    localparam integer TIES = {24'd0, RQ[71:64]}, KNEE = {24'd0, RQ[79:72]};
    localparam integer KW = (HD > 1) ? $clog2(HD) : 1;
    localparam integer WW = AW + SW + 1 + ((KNEE != 0) ? XW + AW + SW : 0);
    localparam integer NEX = (NE > 0) ? NE : 1;
    localparam integer EXW = 1 + KW + XW + DW;
    localparam integer LAT = N + 2;
    // ---------------------------------------------------------------- ROM + row
    reg [WW-1:0] rom [0:HD-1];
    initial $readmemh(FILE, rom);
    reg [WW-1:0] rq, wcur;
    reg [KW-1:0] kbank, kcur;
    reg busy, tk1;
    always @(posedge clk) if (ld_start) rq <= rom[ld_addr[KW-1:0]];
    always @(posedge clk) begin
        tk1 <= !rst && take;
        if (take) kcur <= kbank;
        if (tk1) wcur <= rq;
        if (rst) begin
            busy <= 1'b0; loaded <= 1'b0;
        end else begin
            busy <= ld_start;
            if (ld_start) kbank <= ld_addr[KW-1:0];
            if (busy) loaded <= 1'b1;
            else if (take) loaded <= 1'b0;
        end
    end
    assign bank_free = !busy && !loaded && !take && !tk1;
    // ---------------------------------------------------------------- exceptions + lanes
    wire [NEX*EXW-1:0] exc;
    hfn_const #(.W(EXW), .D(NEX), .FILE(XFILE)) u_exc (.q(exc));
    /* verilator lint_off UNUSEDSIGNAL */   // the lanes read OW / N bits of these
    wire [VW-1:0] lv = {{(VW-9){1'b0}}, levels};
    wire [VW-1:0] out_max = out_min + lv;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [RS*VW-1:0] xd [0:LAT-1];          // the bypass: x delayed by the latency
    reg [LAT-1:0] vd;
    integer i;
    always @(posedge clk) begin
        xd[0] <= x;
        for (i = 1; i < LAT; i = i + 1) xd[i] <= xd[i-1];
        vd <= rst ? {LAT{1'b0}} : {vd[LAT-2:0], v_in};
    end
    assign v_out = vd[LAT-1];
    genvar r;
    generate
        for (r = 0; r < RS; r = r + 1) begin : g_lane
            wire [OW-1:0] yl;
            hfn_requant_lane #(.N(N), .XW(XW), .FU(FU), .EW(EW), .AW(AW), .SW(SW), .OW(OW),
                               .KW(KW), .NE(NE), .DW(DW), .TIES(TIES), .KNEE(KNEE)) u_lane (
                .clk(clk), .x(x[r*VW +: XW]), .key(kcur), .word(wcur), .tie(tie),
                .levels(levels[N-1:0]), .out_min(out_min[OW-1:0]),
                .out_max(out_max[OW-1:0]), .exc(exc), .y(yl));
            assign y[r*VW +: VW] = en ? {{(VW-OW){yl[OW-1]}}, yl} : xd[LAT-1][r*VW +: VW];
        end
    endgenerate
endmodule
`default_nettype wire
