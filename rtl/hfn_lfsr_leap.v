// P-lane leap-forward of the weight-sign LFSR (docs/weight-generation.md).
// 32-bit right-shifting Galois LFSR, feedback 0x80200003.  One step emits state[0]
// and then shifts; this block unrolls P steps into an XOR network: `bits[j]` is the
// bit emitted by step j, `next` is the state after `n` steps (1 <= n <= P), taken from
// the same chain, so a chunk shorter than P advances the stream by exactly n.
`default_nettype none
module hfn_lfsr_leap #(
    parameter integer P = 8,
    parameter integer NW = 4          // width of n (holds 0..P)
) (
    input  wire [31:0]   state,
    input  wire [NW-1:0] n,
    output wire [P-1:0]  bits,
    output wire [31:0]   next
);
    localparam [31:0] FEEDBACK = 32'h80200003;
    wire [31:0] chain [0:P];
    assign chain[0] = state;
    genvar j;
    generate
        for (j = 0; j < P; j = j + 1) begin : g_step
            assign bits[j] = chain[j][0];
            assign chain[j + 1] = {1'b0, chain[j][31:1]} ^ (chain[j][0] ? FEEDBACK : 32'h0);
        end
    endgenerate
    reg [31:0] sel;
    integer k;
    always @* begin
        sel = chain[P];
        for (k = 1; k < P; k = k + 1)
            if (n == k[NW-1:0]) sel = chain[k];
    end
    assign next = sel;
endmodule
`default_nettype wire
