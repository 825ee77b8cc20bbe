// Pixel lanes of one stream (docs/rtl.md): lane j sums the three terms' activations of
// its output pixel, each XORed with the term's sign bit (one's complement of an unsigned
// code: 2^XW - 1 - x for a negative weight), and accumulates UNSIGNED.  The exact signed
// sum is acc - (2^XW - 1) * N_neg, with N_neg the negative weights the stream emitted in
// the unit (one scalar per unit, subtracted at the drain).  An idle term reads 0 with
// sign 0.  On `last` the shadow takes the unit's sum and the accumulator restarts (no
// bubble); with NPL = 2 a unit of plane 0 (`pl0`) goes to the plane shadow instead.
// Latency: a shadow holds the unit's sum 2 cycles after the `last` cycle's inputs.
`default_nettype none
module hfn_pl_lanes #(
    parameter integer P = 64,          // pixel lanes
    parameter integer XW = 4,          // activation code width (unsigned)
    parameter integer VWL = 12,        // accumulator width (unsigned, from the masks)
    parameter integer NPL = 1          // input planes (2: a plane shadow)
) (
    input  wire                 clk,
    input  wire [3*P*XW-1:0]    x,     // term k, lane j: x[(k*P + j)*XW +: XW]
    input  wire [2:0]           s,     // sign per term (1 = negative weight)
    input  wire                 last,  // last cycle of the unit
    input  wire                 pl0,   // the unit is of plane 0 (NPL = 2)
    output wire [P*VWL-1:0]     shadow,
    output wire [P*VWL-1:0]     hshadow
);
    // stage 1: the three terms' sum (registered); stage 2: accumulate.
    reg last1, pl01;
    always @(posedge clk) begin last1 <= last; pl01 <= pl0; end
    genvar j;
    generate
        for (j = 0; j < P; j = j + 1) begin : g_lane
            wire [XW-1:0] u0 = x[(0*P + j)*XW +: XW] ^ {XW{s[0]}};
            wire [XW-1:0] u1 = x[(1*P + j)*XW +: XW] ^ {XW{s[1]}};
            wire [XW-1:0] u2 = x[(2*P + j)*XW +: XW] ^ {XW{s[2]}};
            reg  [XW+1:0] t;
            reg  [VWL-1:0] acc, sh;
            wire [VWL-1:0] sum = acc + {{(VWL-XW-2){1'b0}}, t};
            always @(posedge clk) begin
                t <= {2'b0, u0} + {2'b0, u1} + {2'b0, u2};
                acc <= last1 ? {VWL{1'b0}} : sum;
                if (last1 && !(NPL > 1 && pl01)) sh <= sum;
            end
            assign shadow[j*VWL +: VWL] = sh;
            if (NPL > 1) begin : g_pl
                reg [VWL-1:0] hs;
                always @(posedge clk) if (last1 && pl01) hs <= sum;
                assign hshadow[j*VWL +: VWL] = hs;
            end else begin : g_nopl
                assign hshadow[j*VWL +: VWL] = {VWL{1'b0}};
            end
        end
    endgenerate
endmodule
`default_nettype wire
