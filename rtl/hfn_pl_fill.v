// Line-buffer fill of the pixel engine (docs/rtl.md): for the next tile, channel after
// channel, it reads the tile's input rows from the central buffer into a row buffer and
// writes, per kernel row kh, one line-buffer word per 8 lanes and kernel column into
// every stream (the same words for all streams).  Lane j of term kw reads, at kernel row
// kh and input channel c, the word at  region + plane offset + kh * CI + c,  which holds
// in[(oy0 + r) * s + kh - pad][(xoff + x) * s + kw - pad][c] for its pixel (r, x) =
// (j / TWD, j % TWD): dx shift, stride and zero padding are applied here, by wiring
// (hfn_pl_route), so the lanes never multiplex.
//
// Timing per channel (a fixed pipeline): NR + 1 reads of NCB sub-words (NR = the row
// buffer's groups), the groups realigned by the funnel (the rows start at any sub-word),
// the row buffer copied to the routing side NR + 2 cycles after the channel's first read,
// KH line-buffer writes after that.  A channel starts every max(NR + 1, KH) cycles.
`default_nettype none
module hfn_pl_fill #(
    parameter integer P = 16,
    parameter integer XW = 4,
    parameter integer NCB = 4,           // sub-words per central read
    parameter integer NSLOT = 8,         // row-buffer sub-words (8 px each)
    parameter integer NCLS = 1,          // routing classes
    parameter integer LBD = 64,
    parameter integer AW = 10,           // central-buffer address width
    parameter [16*NCLS-1:0] C_TWD = 0, C_S = 0, C_PAD = 0, C_WPRI = 0, C_IW = 0,
    parameter [16*NCLS-1:0] C_XOFF = 0, C_KH = 0, C_SR = 0
) (
    input  wire                    clk,
    input  wire                    rst,
    // the tile to fill
    input  wire                    start,
    input  wire [15:0]             f_cif,      // channels to fill (planes x CI)
    input  wire [15:0]             f_ci,       // channels per plane
    input  wire [15:0]             f_plo,      // line-buffer offset of plane 1 (KH * CI)
    input  wire [15:0]             f_qci,      // sub-words per input channel (IH * WPRI)
    input  wire [15:0]             f_ns,       // row-buffer sub-words used (SR * WPRI)
    input  wire [15:0]             f_qrow,     // sub-word of row buffer row 0 (signed)
    input  wire [1:0]              f_kh,       // KH
    input  wire [7:0]              f_cls,      // routing class of the tile
    input  wire                    f_region,
    output wire                    busy,
    output reg                     done,       // the tile's last word is written
    // dependency: channel fc may be read (the engine checks the previous pass)
    output wire [15:0]             fc,
    output wire                    fstep,      // channel fc starts (its reads)
    input  wire                    dep_ok,
    // central buffer (the source tensor): address, NCB sub-words one cycle later
    output wire [AW-1:0]           rd_a,
    output wire                    rd_en,
    input  wire [NCB*8*XW-1:0]     rd_q,
    // line-buffer words (to every stream)
    output reg                     lb_we,
    output reg [$clog2(LBD)-1:0]   lb_addr,
    output wire [3*P*XW-1:0]       lb_data
);
    localparam integer SW = 8 * XW;                 // bits per sub-word
    localparam integer NG = (NSLOT + NCB - 1) / NCB;
    localparam integer NSL = NG * NCB;
    localparam integer LG = $clog2(NCB);
    localparam integer LBAW = $clog2(LBD);
    integer i;

    // ---------------------------------------------------------------- reader
    reg act;                                        // the tile is being filled
    reg [15:0] rc;                                  // channels started
    reg rd_on;                                      // a channel has started
    reg [15:0] rk;                                  // its next read (nr + 1 reads)
    reg [15:0] q0;                                  // its row-0 sub-word (signed)
    reg [15:0] pcnt;                                // cycles since it started - 1
    wire [15:0] nr = (f_ns + NCB - 1) >> LG;        // row-buffer groups
    wire [15:0] per = (nr + 16'd1 > {14'd0, f_kh}) ? nr + 16'd1 : {14'd0, f_kh};
    wire [15:0] a0 = $signed(q0) >>> LG;
    wire rd_start = act && rc != f_cif && dep_ok && (!rd_on || pcnt + 16'd1 >= per);
    assign fc = rc;
    assign fstep = rd_start;
    assign rd_en = rd_on && rk <= nr;
    assign rd_a = a0[AW-1:0] + rk[AW-1:0];
    reg done1;
    always @(posedge clk) begin
        if (rst) begin
            act <= 1'b0; rd_on <= 1'b0; rc <= 16'd0; rk <= 16'd0; pcnt <= 16'd0;
        end else if (start) begin
            act <= 1'b1; rd_on <= 1'b0; rc <= 16'd0; rk <= 16'd0;
        end else begin
            if (rd_start) begin
                rd_on <= 1'b1; rk <= 16'd0; pcnt <= 16'd0; rc <= rc + 16'd1;
                q0 <= (rc == 16'd0) ? f_qrow : q0 + f_qci;
            end else if (rd_on) begin
                pcnt <= pcnt + 16'd1;
                if (rk <= nr) rk <= rk + 16'd1;
            end
            if (done1) begin act <= 1'b0; rd_on <= 1'b0; end
        end
    end

    // ---------------------------------------------------------------- funnel -> row buffer
    reg dv;                                         // rd_q holds read rkd of a channel
    reg [15:0] rkd;
    reg [NCB*SW-1:0] prev;
    reg [LG:0] offd;
    reg [SW-1:0] rbb [0:NSL-1];                     // row buffer, written by groups
    always @(posedge clk) begin
        dv <= rd_en;
        rkd <= rk;
        offd <= {1'b0, q0[LG-1:0]};
        if (dv) prev <= rd_q;
    end
    // the 2*NCB sub-words {rd_q, prev} as a word array: the funnel selects words (a mux
    // per word, no (offd + i) * SW offset product, which synth_xilinx maps to DSP48 when
    // SW is not a power of two)
    wire [SW-1:0] cw [0:2*NCB-1];
    genvar gw;
    generate
        for (gw = 0; gw < NCB; gw = gw + 1) begin : g_cw
            assign cw[gw] = prev[gw*SW +: SW];
            assign cw[NCB + gw] = rd_q[gw*SW +: SW];
        end
    endgenerate
    reg [NCB*SW-1:0] grp;
    always @* begin
        for (i = 0; i < NCB; i = i + 1)
            grp[i*SW +: SW] = cw[offd + i];
    end
    always @(posedge clk) begin
        if (dv && rkd != 16'd0)
            for (i = 0; i < NCB; i = i + 1)
                rbb[(rkd - 16'd1) * NCB + i] <= grp[i*SW +: SW];
    end
    wire _unused_off = &{1'b0, offd[LG]};

    // ---------------------------------------------------------------- copy + writer
    // the copy of channel c happens when its last group is written (cycle after)
    wire last_grp = dv && rkd == nr;
    reg copy;
    always @(posedge clk) copy <= rst ? 1'b0 : last_grp;
    // row validity of this tile: sub-words [lo, hi) of the row buffer are inside the map
    wire signed [16:0] qr = $signed({f_qrow[15], f_qrow});
    wire [15:0] lo_s = qr < 0 ? -f_qrow : 16'd0;
    wire signed [16:0] room = $signed({1'b0, f_qci}) - qr;
    wire [15:0] hi_s = (room < $signed({1'b0, f_ns})) ? room[15:0] : f_ns;
    reg [NSL*SW-1:0] rba;                           // the routing side
    always @(posedge clk) begin
        if (copy)
            for (i = 0; i < NSL; i = i + 1)
                rba[i*SW +: SW] <= (i >= lo_s && i < hi_s) ? rbb[i] : {SW{1'b0}};
    end
    reg wact;
    reg [1:0] wkh;
    reg [15:0] wc;                                  // channel being written
    reg [15:0] wlb;                                 // its line-buffer offset
    wire [15:0] wlb_n = (wc + 16'd1 == f_ci) ? f_plo : wlb + 16'd1;
    wire [LBAW-1:0] rbase = f_region ? LBD / 2 : 0;
    wire [15:0] khoff = wkh == 2'd0 ? 16'd0 : wkh == 2'd1 ? f_ci : {f_ci[14:0], 1'b0};
    wire [3*P*XW-1:0] route;
    hfn_pl_route #(.P(P), .XW(XW), .NSL(NSL), .NCLS(NCLS), .C_TWD(C_TWD), .C_S(C_S),
        .C_PAD(C_PAD), .C_WPRI(C_WPRI), .C_IW(C_IW), .C_XOFF(C_XOFF), .C_KH(C_KH),
        .C_SR(C_SR)) u_route (.rb(rba), .cls(f_cls), .kh(wkh), .lb(route));
    reg [3*P*XW-1:0] lbd_r;
    assign lb_data = lbd_r;
    always @(posedge clk) begin
        lb_we <= 1'b0;
        done1 <= 1'b0;
        done <= done1;
        if (rst || start) begin
            wact <= 1'b0; wc <= 16'd0; wlb <= 16'd0;
        end else begin
            if (wact) begin
                lb_we <= 1'b1;
                lb_addr <= rbase + wlb[LBAW-1:0] + khoff[LBAW-1:0];
                lbd_r <= route;
                if (wkh + 2'd1 == f_kh) begin
                    wact <= 1'b0; wc <= wc + 16'd1; wlb <= wlb_n;
                    if (wc + 16'd1 == f_cif) done1 <= 1'b1;
                end else begin
                    wkh <= wkh + 2'd1;
                end
            end
            if (copy) begin wact <= 1'b1; wkh <= 2'd0; end
        end
    end
    assign busy = act;
endmodule
`default_nettype wire
