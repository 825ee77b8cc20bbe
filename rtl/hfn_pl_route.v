// Routing of the pixel engine's fill (docs/rtl.md): from the row buffer of one input
// channel (rows of the tile's input, sub-words of 8 codes) to the line-buffer word of
// every lane and kernel column, for kernel row kh and the tile's routing class.  Pure
// wiring per class; the class and kh select (a multiplexer of NCLS * 3 inputs per code).
//
// Class g (the parameters' 16-bit slot g): lane j is output pixel (r, x) = (j / TWD,
// j % TWD); term kw reads row buffer row r * S + kh, input column (XOFF + x) * S + kw -
// PAD, i.e. sub-word row * WPRI + col / 8, code col % 8; 0 when the column is outside
// [0, IW), the row outside [0, SR), or kw > 0 in a 1x1 class (KH = 1).
`default_nettype none
module hfn_pl_route #(
    parameter integer P = 16,
    parameter integer XW = 4,
    parameter integer NSL = 8,           // row-buffer sub-words
    parameter integer NCLS = 1,
    parameter [16*NCLS-1:0] C_TWD = 0, C_S = 0, C_PAD = 0, C_WPRI = 0, C_IW = 0,
    parameter [16*NCLS-1:0] C_XOFF = 0, C_KH = 0, C_SR = 0
) (
    input  wire [NSL*8*XW-1:0] rb,
    input  wire [7:0]          cls,
    input  wire [1:0]          kh,
    output wire [3*P*XW-1:0]   lb
);
    genvar kw, j, g, h;
    generate
        for (kw = 0; kw < 3; kw = kw + 1) begin : g_kw
            for (j = 0; j < P; j = j + 1) begin : g_lane
                wire [XW-1:0] cand [0:3*NCLS-1];
                for (g = 0; g < NCLS; g = g + 1) begin : g_cls
                    localparam integer TWD0 = C_TWD[16*g +: 16];
                    localparam integer TWD = TWD0 < 1 ? 1 : TWD0;
                    localparam integer SS = C_S[16*g +: 16];
                    localparam integer PAD = C_PAD[16*g +: 16];
                    localparam integer WPRI = C_WPRI[16*g +: 16];
                    localparam integer IW = C_IW[16*g +: 16];
                    localparam integer XOFF = C_XOFF[16*g +: 16];
                    localparam integer KHG = C_KH[16*g +: 16];
                    localparam integer SR = C_SR[16*g +: 16];
                    localparam integer R = j / TWD;
                    localparam integer X = j % TWD;
                    localparam integer COL = (XOFF + X) * SS + kw - PAD;
                    for (h = 0; h < 3; h = h + 1) begin : g_kh
                        localparam integer ROW = R * SS + h;
                        localparam integer OK = (h < KHG) && (KHG == 3 || kw == 0)
                            && (ROW < SR) && (COL >= 0) && (COL < IW);
                        localparam integer SL = OK ? ROW * WPRI + COL / 8 : 0;
                        localparam integer BIT = OK ? (SL * 8 + COL % 8) * XW : 0;
                        if (OK && SL < NSL) begin : g_on
                            assign cand[3*g + h] = rb[BIT +: XW];
                        end else begin : g_off
                            assign cand[3*g + h] = {XW{1'b0}};
                        end
                    end
                end
                wire [9:0] sel = {cls, kh};
                assign lb[(kw*P + j)*XW +: XW] = cand[cls * 3 + {8'd0, kh}];
                wire _unused_sel = &{1'b0, sel};
            end
        end
    endgenerate
endmodule
`default_nettype wire
