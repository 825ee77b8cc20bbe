// Requantisation by thresholds, P lanes, as a pipelined binary search
// (docs/arithmetic.md, docs/rtl.md).  y = out_min + cnt, or out_min + levels - cnt
// for a decreasing channel (flag `neg` stored beside each threshold), where
// cnt = #{j : x >= T'_j} over the ascending, range-clipped thresholds T'.
// Stage s (s0 <= s < B) reads one threshold per lane from its own ROM (level
// t = s - s0 of the search tree, slot m = the bits decided so far) and decides one
// bit; stages below s0 are idle (requant with fewer levels).  `en = 0` passes x
// through with the same latency.  Latency: B + 2 cycles from in_x to out_y.
`default_nettype none
module hfn_requant #(
    parameter integer P = 4,
    parameter integer B = 4,          // stages (max threshold tree depth)
    parameter integer VW = 20,        // value width (signed)
    parameter integer TW = 16,        // threshold width (signed); ROM word is TW+1
    parameter integer AW = 8,         // threshold ROM address width
    parameter integer GW = 4,         // group index width
    parameter integer SW_ = 4         // width of s0 (holds 0..B)
) (
    input  wire                 clk,
    input  wire [P*VW-1:0]      in_x,
    input  wire [GW-1:0]        in_g,
    input  wire                 en,
    input  wire                 pc,          // per-channel thresholds (else shared)
    input  wire [SW_-1:0]       s0,          // first active stage
    input  wire [VW-1:0]        out_min,
    input  wire [VW-1:0]        levels,
    input  wire [B*AW-1:0]      base,        // per stage: start of this set
    output wire [B*P*AW-1:0]    rom_addr,
    input  wire [B*P*(TW+1)-1:0] rom_q,
    output reg  [P*VW-1:0]      out_y
);
    reg [P*VW-1:0] xs [0:B];
    reg [GW-1:0]   gs [0:B];
    reg [P*B-1:0]  ms [0:B];          // decided bits so far (registered part)
    wire [P*B-1:0] mc [0:B];          // decided bits incl. this stage's compare

    always @(posedge clk) begin
        xs[0] <= in_x;
        gs[0] <= in_g;
        ms[0] <= {P*B{1'b0}};
    end
    assign mc[0] = ms[0];

    genvar s, o;
    generate
        for (s = 0; s < B; s = s + 1) begin : g_stage
            wire active = (s0 <= s);
            wire [AW-1:0] gext = {{(AW-GW){1'b0}}, gs[s]};
            wire [AW-1:0] row = pc ? (gext << (s - s0)) : {AW{1'b0}};
            for (o = 0; o < P; o = o + 1) begin : g_lane
                assign rom_addr[(s*P + o)*AW +: AW] =
                    base[s*AW +: AW] + row + {{(AW-B){1'b0}}, mc[s][o*B +: B]};
                wire [TW:0] q = rom_q[(s*P + o)*(TW+1) +: TW+1];
                wire signed [VW:0] th = {{(VW+1-TW){q[TW-1]}}, q[TW-1:0]};
                wire signed [VW:0] xv = {xs[s+1][o*VW + VW - 1], xs[s+1][o*VW +: VW]};
                wire ge = (xv >= th);
                assign mc[s+1][o*B +: B] = active ? {ms[s+1][o*B +: B-1], ge}
                                                  : {B{1'b0}};
            end
            always @(posedge clk) begin
                xs[s+1] <= xs[s];
                gs[s+1] <= gs[s];
                ms[s+1] <= mc[s];
            end
        end
        for (o = 0; o < P; o = o + 1) begin : g_out
            wire neg = rom_q[((B-1)*P + o)*(TW+1) + TW];
            wire [VW-1:0] cnt = {{(VW-B){1'b0}}, mc[B][o*B +: B]};
            always @(posedge clk)
                out_y[o*VW +: VW] <= !en ? xs[B][o*VW +: VW]
                                   : neg ? out_min + levels - cnt : out_min + cnt;
        end
    endgenerate
endmodule
`default_nettype wire
