// Constants from a $readmemh image, all words at once: q = {mem[D-1], ..., mem[0]}.
// The requant units' exception entries (docs/rtl.md): generated per project like the
// ROM images, so that the top's Verilog does not depend on them; synthesis folds the
// words into the comparators that read them.
`default_nettype none
module hfn_const #(
    parameter integer W = 8,         // word width
    parameter integer D = 1,         // words
    parameter FILE = ""              // $readmemh image
) (
    output wire [W*D-1:0] q
);
    reg [W-1:0] mem [0:D-1];
    initial $readmemh(FILE, mem);
    genvar i;
    generate
        for (i = 0; i < D; i = i + 1) begin : g_word
            assign q[i*W +: W] = mem[i];
        end
    endgenerate
endmodule
`default_nettype wire
