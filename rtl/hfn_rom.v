// Synchronous-read ROM initialised from a $readmemh image.
// Used for every generated table of the engine: the mask ROM (the only per-weight
// storage), the LFSR start-state ROM, the requant ROMs and the layer table.
`default_nettype none
module hfn_rom #(
    parameter integer W = 8,         // word width
    parameter integer D = 2,         // depth (words)
    parameter integer AW = 1,        // address width used here (>= clog2(D))
    parameter FILE = ""              // $readmemh image
) (
    input  wire          clk,
    input  wire [AW-1:0] addr,
    output reg  [W-1:0]  q
);
    reg [W-1:0] mem [0:D-1];
    initial begin
        $readmemh(FILE, mem);
        q = {W{1'b0}};
    end
    always @(posedge clk) q <= mem[addr];
endmodule
`default_nettype wire
