// The lane array: P_OUT x P_IN lanes; lane (o, i) takes input i times weight (o, i), a
// WB-bit two's-complement value (bits [(o*P_IN + i)*WB +: WB] of w).  WB = 2 is a
// ternary weight and needs no multiplier: bit 0 set = non-zero, bit 1 set = negative, so
// the lane adds, subtracts or skips its input.  WB > 2 multiplies.  Each output lane
// sums its P_IN terms with a balanced adder tree; the sums are registered (one stage).
`default_nettype none
module hfn_lanes #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,       // power of two
    parameter integer EW = 9,         // input element width (signed)
    parameter integer WB = 2,         // weight width (signed); 2 = ternary
    parameter integer SW = 14         // sum width: holds P_IN * 2^(EW-1) * max|w|
) (
    input  wire                      clk,
    input  wire [P_IN*EW-1:0]        x,
    input  wire [P_OUT*P_IN*WB-1:0]  w,
    output reg  [P_OUT*SW-1:0]       sum
);
    genvar o;
    generate
        for (o = 0; o < P_OUT; o = o + 1) begin : g_lane
            reg signed [SW-1:0] t [0:2*P_IN-2];   // heap-ordered adder tree
            // WB > 2: one EW x WB multiplier per lane (operands at their own widths), the
            // product in SW bits (it fits: |x * w| <= 2^(EW-1) * max|w| <= 2^(SW-1))
            wire [P_IN*SW-1:0] prods;
            genvar j;
            for (j = 0; j < P_IN; j = j + 1) begin : g_mul
                if (WB == 2) begin : g_none
                    assign prods[j*SW +: SW] = {SW{1'b0}};
                end else begin : g_mult
                    /* verilator lint_off UNUSEDSIGNAL */   // top bits when SW < EW + WB
                    wire signed [EW+WB-1:0] p = $signed(x[j*EW +: EW])
                                              * $signed(w[(o*P_IN + j)*WB +: WB]);
                    /* verilator lint_on UNUSEDSIGNAL */
                    if (SW > EW + WB) begin : g_ext
                        assign prods[j*SW +: SW] = {{(SW-EW-WB){p[EW+WB-1]}}, p};
                    end else begin : g_fit
                        assign prods[j*SW +: SW] = p[SW-1:0];
                    end
                end
            end
            integer i;
            always @* begin
                for (i = 0; i < P_IN; i = i + 1) begin
                    if (WB == 2) begin : ternary
                        if (!w[(o*P_IN + i)*WB])
                            t[P_IN - 1 + i] = {SW{1'b0}};
                        else if (w[(o*P_IN + i)*WB + 1])
                            t[P_IN - 1 + i] = -{{(SW-EW){x[i*EW + EW - 1]}}, x[i*EW +: EW]};
                        else
                            t[P_IN - 1 + i] = {{(SW-EW){x[i*EW + EW - 1]}}, x[i*EW +: EW]};
                    end else begin : multiply
                        t[P_IN - 1 + i] = prods[i*SW +: SW];
                    end
                end
                for (i = P_IN - 2; i >= 0; i = i - 1)
                    t[i] = t[2*i + 1] + t[2*i + 2];
            end
            always @(posedge clk) sum[o*SW +: SW] <= t[0];
        end
    endgenerate
endmodule
`default_nettype wire
