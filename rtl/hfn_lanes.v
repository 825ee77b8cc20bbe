// The ternary lane array: P_OUT x P_IN lanes, no multipliers.  Lane (o, i) adds,
// subtracts or skips input i: weight = mask ? (sign ? -1 : +1) : 0 (sign bit 1 =
// subtract).  Each output lane sums its P_IN terms with a balanced adder tree; the
// sums are registered (one pipeline stage).
`default_nettype none
module hfn_lanes #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,       // power of two
    parameter integer EW = 9,         // input element width (signed)
    parameter integer SW = 14         // sum width (>= EW + log2(P_IN) + 1)
) (
    input  wire                    clk,
    input  wire [P_IN*EW-1:0]      x,
    input  wire [P_OUT*P_IN-1:0]   sign,
    input  wire [P_OUT*P_IN-1:0]   mask,
    output reg  [P_OUT*SW-1:0]     sum
);
    genvar o;
    generate
        for (o = 0; o < P_OUT; o = o + 1) begin : g_lane
            reg signed [SW-1:0] t [0:2*P_IN-2];   // heap-ordered adder tree
            integer i;
            always @* begin
                for (i = 0; i < P_IN; i = i + 1) begin
                    if (!mask[o*P_IN + i])
                        t[P_IN - 1 + i] = {SW{1'b0}};
                    else if (sign[o*P_IN + i])
                        t[P_IN - 1 + i] = -{{(SW-EW){x[i*EW + EW - 1]}}, x[i*EW +: EW]};
                    else
                        t[P_IN - 1 + i] = {{(SW-EW){x[i*EW + EW - 1]}}, x[i*EW +: EW]};
                end
                for (i = P_IN - 2; i >= 0; i = i - 1)
                    t[i] = t[2*i + 1] + t[2*i + 2];
            end
            always @(posedge clk) sum[o*SW +: SW] <= t[0];
        end
    endgenerate
endmodule
`default_nettype wire
