// Weight generator of source `stored` (docs/weight-sources.md): the weights are kept in
// a ROM, one word of P_OUT*P_IN weights of WB bits per chunk, in the lane order of the
// engine (weight (o, i) at [(o*P_IN + i)*WB +: WB], two's complement, 0 for the lanes
// past a layer's channels).  The chunk address is the port's `chunk` (base + g*KCH +
// (kh*KW + kw)*NC + c), so the word read at an issue is the chunk's weights, valid
// LATENCY = 1 cycle later: the generator is the ROM.  `issue`, `first`, `n` and `group`
// (the rest of the port contract) are not needed.
`default_nettype none
module hfn_wgen_stored #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,
    parameter integer NW = 3,          // width of n (holds 0..P_IN)
    parameter integer CAW = 1,         // chunk address width (>= clog2(CD))
    parameter integer CD = 2,          // weight ROM depth (chunks)
    parameter integer GAW = 1,         // group address width
    parameter integer WB = 8,          // weight width (signed)
    parameter FILE = ""
) (
    input  wire                       clk,
    /* verilator lint_off UNUSEDSIGNAL */   // the stored weights need only the chunk
    input  wire                       issue,
    input  wire                       first,
    input  wire [NW-1:0]              n,
    input  wire [GAW-1:0]             group,
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_off UNUSEDSIGNAL */   // CAW fits the deepest generator ROM
    input  wire [CAW-1:0]             chunk,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [P_OUT*P_IN*WB-1:0]   w
);
    localparam integer RAW = (CD > 1) ? $clog2(CD) : 1;   // this ROM's address width
    hfn_rom #(.W(P_OUT*P_IN*WB), .D(CD), .AW(RAW), .FILE(FILE)) u_rom (
        .clk(clk), .addr(chunk[RAW-1:0]), .q(w));
endmodule
`default_nettype wire
