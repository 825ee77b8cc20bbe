// Unrolled steps of the weight-sign LFSR (docs/weight-generation.md) for the pixel
// engine: bits[j] = the bit emitted by step j (j < P), chain = the states after
// 0, 1, ..., P steps (state after n steps at chain[32*n +: 32]).  A pure XOR network.
`default_nettype none
module hfn_pl_leap #(
    parameter integer P = 8
) (
    input  wire [31:0]         state,
    output wire [P-1:0]        bits,
    output wire [32*(P+1)-1:0] chain
);
    localparam [31:0] FEEDBACK = 32'h80200003;
    assign chain[31:0] = state;
    genvar j;
    generate
        for (j = 0; j < P; j = j + 1) begin : g_step
            wire [31:0] s = chain[32*j +: 32];
            assign bits[j] = s[0];
            assign chain[32*(j+1) +: 32] = {1'b0, s[31:1]} ^ (s[0] ? FEEDBACK : 32'h0);
        end
    endgenerate
endmodule
`default_nettype wire
