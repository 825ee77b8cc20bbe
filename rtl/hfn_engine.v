// The hfn-hls compute engine (docs/rtl.md): one array of P_OUT x P_IN lanes shared by
// every layer, driven by a sequencer that walks the generated layer table and loops
// over fold bodies.  Weights come from the weight generators of the generated top
// (docs/weight-sources.md), through the weight port: the sequencer issues a chunk
// (w_issue, w_first, w_n, w_chunk, w_group, w_sel) and the P_OUT*P_IN weights of WB bits
// arrive on w_q one cycle later.
//
// Pipeline (one chunk of P_IN kernel positions per cycle per output lane):
//   issue -> [fmap read, weights generated] -> lanes (WB = 2: add/sub/skip; else
//   multiply; adder tree) -> accumulate -> residual read -> R1 (conv requant) |
//   Rs (shortcut requant) -> add -> R2 (output requant) -> write back (fmap buffer or
//   class outputs).
// A conv pass may add a per-channel bias (a stored layer's) into its accumulators: the
// first chunk of an output pixel (of all pixels with acc_all) starts from the bias read
// from the bias ROM (b_addr = BBASE + group, P_OUT values of VW bits) instead of 0.
// A pool pass (FLAGS bit 8: max pooling) runs the same loops with one chunk per kernel
// position: the chunk of P_IN channels holding the group's P_OUT channels; each output
// lane keeps the maximum of its channel over the window's valid positions (padding
// never wins) instead of a sum, and the requant units pass it through.
// All ROMs (table, weight generators' ROMs, compact requant rows, bias) are outside, in
// the generated top, which also drives the requant units' constant exception entries.
`default_nettype none
module hfn_engine #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,
    parameter integer RATIO = 1,       // P_IN / P_OUT
    parameter integer NW = 3,          // width of a lane count 0..P_IN
    parameter integer EW = 9,          // fmap element width (signed)
    parameter integer SW = 14,         // lane sum width
    parameter integer VW = 20,         // accumulator / requant value width (signed)
    parameter integer B = 4,           // requant bisection stages (all three units)
    parameter integer TAW = 8,         // requant ROM address width
    parameter integer CW = 20,         // sequencer counter / address width (signed)
    parameter integer GW = 4,          // group index width
    parameter integer NBUF = 2,        // work buffers (id NBUF = input buffer)
    parameter integer BUF_D = 64,      // work buffer depth (words of P_IN elements)
    parameter integer BUF_AW = 6,
    parameter integer IN_D = 64,       // input buffer depth
    parameter integer IN_AW = 6,
    parameter integer IN_C = 1,        // input channels (8-bit codes per beat)
    parameter integer IN_NC = 1,       // words per input pixel
    parameter integer IN_PIX = 64,     // pixels per image
    parameter integer CLASSES = 10,
    parameter integer CLS_PAD = 12,    // classes rounded up to P_OUT
    parameter integer WB = 2,          // weight width (2: ternary)
    parameter integer CAW = 8,         // weight chunk address width
    parameter integer GAW = 4,         // weight group address width
    parameter integer TBL_AW = 4,
    parameter integer BAW = 1,         // bias ROM address width
    parameter integer BIAS = 0,        // 1: the top holds a bias ROM (b_q), 0: b_q unused
    parameter integer NF = 51,         // table fields (32 bits each)
    // requant unit u (0: R1, 1: Rs, 2: R2), docs/rtl.md: input width, fraction bits,
    // datapath, stored A and step widths, output width, exception entries per lane,
    // delta width, tie logic, knees (0: none; the writer passes R<u>_KNEE only if 1)
    parameter integer R0_XW = 16, R0_FU = 0, R0_EW = 24, R0_AW = 16, R0_SW = 8, R0_OW = 8,
    parameter integer R0_NE = 0, R0_DW = 2, R0_TIES = 1, R0_KNEE = 0,
    parameter integer R1_XW = 16, R1_FU = 0, R1_EW = 24, R1_AW = 16, R1_SW = 8, R1_OW = 8,
    parameter integer R1_NE = 0, R1_DW = 2, R1_TIES = 1, R1_KNEE = 0,
    parameter integer R2_XW = 16, R2_FU = 0, R2_EW = 24, R2_AW = 16, R2_SW = 8, R2_OW = 8,
    parameter integer R2_NE = 0, R2_DW = 2, R2_TIES = 1, R2_KNEE = 0,
    // ROM word and exception bus widths per lane
    parameter integer Q0 = R0_AW + R0_SW + 1 + ((R0_KNEE != 0) ? R0_XW + R0_AW + R0_SW : 0),
    parameter integer Q1 = R1_AW + R1_SW + 1 + ((R1_KNEE != 0) ? R1_XW + R1_AW + R1_SW : 0),
    parameter integer Q2 = R2_AW + R2_SW + 1 + ((R2_KNEE != 0) ? R2_XW + R2_AW + R2_SW : 0),
    parameter integer X0 = ((R0_NE > 0) ? R0_NE : 1) * (1 + TAW + R0_XW + R0_DW),
    parameter integer X1 = ((R1_NE > 0) ? R1_NE : 1) * (1 + TAW + R1_XW + R1_DW),
    parameter integer X2 = ((R2_NE > 0) ? R2_NE : 1) * (1 + TAW + R2_XW + R2_DW)
) (
    input  wire                        clk,
    input  wire                        rst_n,
    input  wire [8*IN_C-1:0]           s_data,
    input  wire                        s_valid,
    output wire                        s_ready,
    output wire [31:0]                 m_data,
    output wire                        m_valid,
    input  wire                        m_ready,
    output wire                        m_last,
    output reg  [TBL_AW-1:0]           tbl_addr,
    /* verilator lint_off UNUSEDSIGNAL */  // table fields are 32-bit slots
    input  wire [32*NF-1:0]            tbl_q,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire                        w_issue,   // weight port (docs/weight-sources.md)
    output wire                        w_first,
    output wire [NW-1:0]               w_n,
    output wire [CAW-1:0]              w_chunk,
    output reg  [GAW-1:0]              w_group,
    output wire [3:0]                  w_sel,
    input  wire [P_OUT*P_IN*WB-1:0]    w_q,
    output wire                        w_prep,    // a group begins (generators with a tile)
    input  wire                        w_ready,   // the generator's tile is ready
    output wire [3*TAW-1:0]            rq_addr,   // requant ROMs: one address per unit
    input  wire [P_OUT*(Q0+Q1+Q2)-1:0] rq_q,      // unit 0's lanes, then 1's, then 2's
    input  wire [P_OUT*(X0+X1+X2)-1:0] rq_exc,    // constant exception entries, same order
    output wire [BAW-1:0]              b_addr,    // bias ROM: BBASE + group
    input  wire [P_OUT*VW-1:0]         b_q
);
    // ---------------------------------------------------------------- table fields
    localparam integer F_TYPE = 0, F_ITERS = 1, F_SRC = 2, F_DST = 3, F_RES = 4,
        F_FLAGS = 5, F_IH = 6, F_IW = 7, F_OH = 8, F_OW = 9, F_KH = 10, F_KW = 11,
        F_S = 12, F_PAD = 13, F_NC = 14, F_NCO = 15, F_NLAST = 16, F_G = 17,
        F_KCH = 18, F_ROWSTRIDE = 19, F_STEPOW = 20, F_STEPOH = 21, F_CBASE = 22,
        F_GBASE = 23, F_AORIGIN = 25,   // 24: output channels (informative)
        F_BBASE = 26, NF0 = 27, UF = 8;   // per unit: EN PC TIE OUT_MIN OUT_MAX LEVELS BASE STRIDE
    localparam [1:0] T_LOOP = 2'd1, T_ENDLOOP = 2'd2, T_END = 2'd3;   // 0: conv pass
    localparam integer DRAIN = 10 + 2 * (B + 2);
    localparam [CW-1:0] DRAIN_C = DRAIN[CW-1:0], TWO = 2;
    localparam integer BI = $clog2(NBUF + 1);          // buffer id width

    `define HFN_F(i, w) tbl_q[32*(i) +: (w)]
    wire [1:0] f_type = `HFN_F(F_TYPE, 2);
    wire [10:0] f_flags = `HFN_F(F_FLAGS, 11);  // 7:4 = weight source (w_sel)
    wire f_add = f_flags[0], f_out = f_flags[1], f_accall = f_flags[2], f_rel = f_flags[3];
    wire f_pool = f_flags[8], f_bias = f_flags[9], f_rsrc = f_flags[10];
    wire [CW-1:0] f_ih = `HFN_F(F_IH, CW), f_iw = `HFN_F(F_IW, CW), f_oh = `HFN_F(F_OH, CW),
        f_ow = `HFN_F(F_OW, CW), f_kh = `HFN_F(F_KH, CW), f_kw = `HFN_F(F_KW, CW),
        f_s = `HFN_F(F_S, CW), f_pad = `HFN_F(F_PAD, CW), f_nc = `HFN_F(F_NC, CW),
        f_nco = `HFN_F(F_NCO, CW), f_g = `HFN_F(F_G, CW),
        f_rowstride = `HFN_F(F_ROWSTRIDE, CW), f_stepow = `HFN_F(F_STEPOW, CW),
        f_stepoh = `HFN_F(F_STEPOH, CW), f_aorigin = `HFN_F(F_AORIGIN, CW),
        f_iters = `HFN_F(F_ITERS, CW);
    wire [NW-1:0] f_nlast = `HFN_F(F_NLAST, NW);
    wire [BI-1:0] f_src = `HFN_F(F_SRC, BI), f_dst = `HFN_F(F_DST, BI), f_res = `HFN_F(F_RES, BI);
    wire [CAW-1:0] f_cbase = `HFN_F(F_CBASE, CAW), f_kch = `HFN_F(F_KCH, CAW);
    wire [GAW-1:0] f_gbase = `HFN_F(F_GBASE, GAW);
    wire [BAW-1:0] f_bbase = `HFN_F(F_BBASE, BAW);

    // ---------------------------------------------------------------- sequencer
    localparam [3:0] S_WAIT = 0, S_F0 = 1, S_F1 = 2, S_DEC = 3, S_SETUP = 4,
        S_WOUT = 5, S_WG = 6, S_ISSUE = 7, S_DRAIN = 8;
    reg [3:0] state;
    reg in_full;
    reg out_start;
    wire out_busy;
    reg [CW-1:0] it, loop_pc_n, setup_k, wcnt;
    reg [TBL_AW-1:0] loop_pc;
    reg [CW-1:0] g, oh, ow, kh, kw, c, ih0, iw0;
    reg [CW-1:0] a_row, a_win, a_khrow, a_kw, dpix;
    reg [CAW-1:0] m_gbase, m_cur;
    reg [TAW-1:0] rq_base [0:2];

    wire chunk_first = (kh == 0) && (kw == 0) && (c == 0);
    wire c_last = f_pool || (c == f_nc - 1), kw_last = (kw == f_kw - 1), kh_last = (kh == f_kh - 1);
    wire chunk_last = c_last && kw_last && kh_last;
    wire ow_last = (ow == f_ow - 1), oh_last = (oh == f_oh - 1);
    wire pix_first = (oh == 0) && (ow == 0), pix_last = ow_last && oh_last;
    wire g_last = (g == f_g - 1);
    wire [CW-1:0] ih = ih0 + kh, iw = iw0 + kw;
    wire pos_ok = !ih[CW-1] && (ih < f_ih) && !iw[CW-1] && (iw < f_iw);
    // a pool pass reads, at each kernel position, the word holding group g's channels
    wire [CW-1:0] rd_addr_c = a_kw + (f_pool ? (g >> $clog2(RATIO)) : c);
    // a pass whose residual lies in its source buffer (FLAGS bit 10) reads it through the
    // source's port: the sequencer leaves a hole 3 cycles after each pixel's last chunk,
    // the cycle of that pixel's residual read (vA)
    reg [2:0] hole_sr;
    wire hole = f_rsrc && hole_sr[2];
    wire issue = (state == S_ISSUE) && !hole;
    wire i_first = chunk_first && (!f_accall || pix_first);
    wire i_last = chunk_last && (!f_accall || pix_last);
    wire [NW-1:0] i_n = c_last ? f_nlast : P_IN[NW-1:0];
    assign w_chunk = m_cur;
    assign w_issue = issue;
    assign w_first = chunk_first;
    assign w_n = i_n;
    assign w_sel = f_flags[7:4];
    // a generator that makes a group's weights in advance (smh) starts on w_prep and holds
    // the group's first issue until w_ready; the others are always ready
    assign w_prep = (state == S_WG) && (wcnt == 0);
    integer r, k;

    always @(posedge clk) begin
        out_start <= 1'b0;
        hole_sr <= rst_n ? {hole_sr[1:0], issue && chunk_last} : 3'b000;
        if (!rst_n) begin
            state <= S_WAIT;
            tbl_addr <= {TBL_AW{1'b0}};
        end else begin
            case (state)
                S_WAIT: if (in_full) begin tbl_addr <= {TBL_AW{1'b0}}; state <= S_F0; end
                S_F0: state <= S_F1;
                S_F1: state <= S_DEC;
                S_DEC: begin
                    if (f_type == T_LOOP) begin
                        it <= {CW{1'b0}}; loop_pc <= tbl_addr + 1'b1; loop_pc_n <= f_iters;
                        tbl_addr <= tbl_addr + 1'b1; state <= S_F0;
                    end else if (f_type == T_ENDLOOP) begin
                        if (it + 1 < loop_pc_n) begin
                            it <= it + 1; tbl_addr <= loop_pc;
                        end else begin
                            it <= {CW{1'b0}}; tbl_addr <= tbl_addr + 1'b1;
                        end
                        state <= S_F0;
                    end else if (f_type == T_END) begin
                        state <= S_WAIT;
                    end else begin
                        for (r = 0; r < 3; r = r + 1)
                            rq_base[r] <= `HFN_F(NF0 + r * UF + 6, TAW);
                        setup_k <= {CW{1'b0}};
                        g <= 0; oh <= 0; ow <= 0; kh <= 0; kw <= 0; c <= 0;
                        ih0 <= -f_pad; iw0 <= -f_pad;
                        a_row <= f_aorigin; a_win <= f_aorigin; a_khrow <= f_aorigin;
                        a_kw <= f_aorigin; dpix <= 0;
                        m_gbase <= f_cbase; m_cur <= f_cbase; w_group <= f_gbase;
                        state <= S_SETUP;
                    end
                end
                S_SETUP: begin   // per-iteration requant set: base += it * stride
                    if (setup_k == it) begin
                        state <= S_WOUT;
                    end else begin
                        setup_k <= setup_k + 1;
                        for (r = 0; r < 3; r = r + 1)
                            rq_base[r] <= rq_base[r] + `HFN_F(NF0 + r * UF + 7, TAW);
                    end
                end
                S_WOUT: if (!f_out || !out_busy) begin wcnt <= 0; state <= S_WG; end
                S_WG: begin      // weight generators read per-group ROMs (w_group)
                    if (wcnt != TWO) wcnt <= wcnt + 1;
                    else if (w_ready) state <= S_ISSUE;
                end
                S_ISSUE: begin
                    if (!hole) begin   // a hole: the residual's read in the source buffer
                        m_cur <= m_cur + 1'b1;
                        if (!c_last) begin
                            c <= c + 1;
                        end else begin
                            c <= 0;
                            if (!kw_last) begin
                                kw <= kw + 1; a_kw <= a_kw + f_nc;
                            end else begin
                                kw <= 0;
                                if (!kh_last) begin
                                    kh <= kh + 1; a_khrow <= a_khrow + f_rowstride;
                                    a_kw <= a_khrow + f_rowstride;
                                end else begin
                                    kh <= 0; m_cur <= m_gbase;
                                    if (!ow_last) begin
                                        ow <= ow + 1; iw0 <= iw0 + f_s; dpix <= dpix + f_nco;
                                        a_win <= a_win + f_stepow; a_khrow <= a_win + f_stepow;
                                        a_kw <= a_win + f_stepow;
                                    end else begin
                                        ow <= 0; iw0 <= -f_pad;
                                        if (!oh_last) begin
                                            oh <= oh + 1; ih0 <= ih0 + f_s; dpix <= dpix + f_nco;
                                            a_row <= a_row + f_stepoh; a_win <= a_row + f_stepoh;
                                            a_khrow <= a_row + f_stepoh; a_kw <= a_row + f_stepoh;
                                        end else begin
                                            oh <= 0; ih0 <= -f_pad; dpix <= 0;
                                            a_row <= f_aorigin; a_win <= f_aorigin;
                                            a_khrow <= f_aorigin; a_kw <= f_aorigin;
                                            m_gbase <= m_gbase + f_kch;
                                            m_cur <= m_gbase + f_kch;
                                            w_group <= w_group + 1'b1;
                                            g <= g + 1; wcnt <= 0;
                                            state <= g_last ? S_DRAIN : S_WG;
                                        end
                                    end
                                end
                            end
                        end
                    end
                end
                S_DRAIN: begin
                    wcnt <= wcnt + 1;
                    if (wcnt == DRAIN_C) begin
                        out_start <= f_out;
                        tbl_addr <= tbl_addr + 1'b1;
                        state <= S_F0;
                    end
                end
                default: state <= S_WAIT;
            endcase
        end
    end

    // ---------------------------------------------------------------- stage 1: reads
    reg v1, first1, last1, pos1;
    reg [GW-1:0] g1;
    // the bias of group g1's lanes, valid in stage 2 (the cycle of first2)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [BAW+GW-1:0] b_sum = {{GW{1'b0}}, f_bbase} + {{BAW{1'b0}}, g1};
    /* verilator lint_on UNUSEDSIGNAL */
    assign b_addr = b_sum[BAW-1:0];
    reg [CW-1:0] dst1;
    genvar b;
    always @(posedge clk) begin
        v1 <= rst_n && issue; first1 <= i_first; last1 <= i_last; pos1 <= pos_ok;
        g1 <= g[GW-1:0]; dst1 <= dpix + (g >> $clog2(RATIO));
    end

    // ---------------------------------------------------------------- buffers
    reg [CW-1:0] dstA;                 // stage A (accumulated pixel): residual address
    reg vA;
    reg wr_v;
    /* verilator lint_off UNUSEDSIGNAL */   // CW-bit sequencer addresses, low bits used
    reg [CW-1:0] wr_addr;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [P_IN-1:0] wr_en;
    reg [P_IN*EW-1:0] wr_data;
    reg [BI-1:0] wr_dst;
    wire [P_IN*EW-1:0] rdq [0:NBUF];     // rdq[NBUF]: the input buffer
    generate
        for (b = 0; b < NBUF; b = b + 1) begin : g_buf
            reg [P_IN*EW-1:0] mem [0:BUF_D-1];
            reg [P_IN*EW-1:0] q;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [CW-1:0] ra = (f_src == b && !(f_rsrc && vA)) ? rd_addr_c : dstA;   // residual
            /* verilator lint_on UNUSEDSIGNAL */
            always @(posedge clk) begin
                q <= mem[ra[BUF_AW-1:0]];
                if (wr_v && wr_dst == b)
                    for (r = 0; r < P_IN; r = r + 1)
                        if (wr_en[r]) mem[wr_addr[BUF_AW-1:0]][r*EW +: EW] <= wr_data[r*EW +: EW];
            end
            assign rdq[b] = q;
        end
    endgenerate

    // input buffer and AXI4-Stream loader
    reg [P_IN*EW-1:0] inmem [0:IN_D-1];
    reg [P_IN*EW-1:0] inq;
    reg [IN_AW-1:0] in_waddr;
    reg [CW-1:0] in_pix, in_k;
    reg in_busy;
    reg [8*IN_C-1:0] in_hold;
    localparam integer IN_NC_I = IN_NC - 1, IN_PIX_I = IN_PIX - 1, CLS_I = CLASSES - 1;
    localparam [CW-1:0] IN_NC_1 = IN_NC_I[CW-1:0], IN_PIX_1 = IN_PIX_I[CW-1:0],
        CLS_1 = CLS_I[CW-1:0];
    wire in_done = (in_k == IN_NC_1);
    // a beat is accepted while the previous one's last word is written (back to back)
    assign s_ready = rst_n && !in_full && (!in_busy || (in_done && in_pix != IN_PIX_1));
    reg [P_IN*EW-1:0] in_word;
    always @* begin
        in_word = {P_IN*EW{1'b0}};
        for (r = 0; r < P_IN; r = r + 1)
            if (in_k * P_IN + r < IN_C)
                in_word[r*EW +: EW] = {{(EW-8){1'b0}}, in_hold[8*(in_k*P_IN + r) +: 8]};
    end
    always @(posedge clk) begin
        inq <= inmem[rd_addr_c[IN_AW-1:0]];
        if (!rst_n) begin
            in_full <= 1'b0; in_busy <= 1'b0; in_pix <= 0; in_k <= 0; in_waddr <= 0;
        end else begin
            if (in_busy) begin
                inmem[in_waddr] <= in_word;
                in_waddr <= in_waddr + 1'b1;
                in_k <= in_k + 1;
                if (in_done) begin
                    in_busy <= 1'b0;
                    in_pix <= in_pix + 1;
                    if (in_pix == IN_PIX_1) begin
                        in_full <= 1'b1; in_pix <= 0; in_waddr <= 0;
                    end
                end
            end
            if (s_valid && s_ready) begin
                in_hold <= s_data; in_busy <= 1'b1; in_k <= 0;
            end
            if (state == S_DRAIN && wcnt == DRAIN_C && f_rel) in_full <= 1'b0;
        end
    end

    // ---------------------------------------------------------------- stage 2: lanes
    assign rdq[NBUF] = inq;
    wire [P_IN*EW-1:0] src_q = rdq[f_src];
    wire [P_IN*EW-1:0] x1 = pos1 ? src_q : {P_IN*EW{1'b0}};
    wire [P_OUT*SW-1:0] sum2;
    hfn_lanes #(.P_OUT(P_OUT), .P_IN(P_IN), .EW(EW), .WB(WB), .SW(SW)) u_lanes (
        .clk(clk), .x(x1), .w(w_q), .sum(sum2));
    reg v2, first2, last2, pos2;
    reg [GW-1:0] g2;
    reg [CW-1:0] dst2;
    reg [P_OUT*EW-1:0] px2;              // pool: group g1's P_OUT elements of the word
    always @(posedge clk) begin
        v2 <= rst_n && v1; first2 <= first1; last2 <= last1; g2 <= g1; dst2 <= dst1;
        pos2 <= pos1;
        px2 <= {P_OUT*EW{1'b0}};
        for (k = 0; k < RATIO; k = k + 1)
            if (k == ({{(32-GW){1'b0}}, g1} % RATIO))
                px2 <= src_q[k*P_OUT*EW +: P_OUT*EW];
    end

    // ---------------------------------------------------------------- stage 3: accumulate
    reg [P_OUT*VW-1:0] acc, accA;
    reg [GW-1:0] gA;
    reg [P_OUT*VW-1:0] acc_n;
    reg signed [VW-1:0] pv, pa;
    wire [P_OUT*VW-1:0] bias2 = (f_bias && BIAS != 0) ? b_q : {P_OUT*VW{1'b0}};
    localparam [VW-1:0] VMIN = {1'b1, {(VW-1){1'b0}}};
    always @* begin
        for (r = 0; r < P_OUT; r = r + 1) begin
            pv = pos2 ? {{(VW-EW){px2[r*EW + EW - 1]}}, px2[r*EW +: EW]} : VMIN;
            pa = first2 ? VMIN : acc[r*VW +: VW];
            if (f_pool)                  // max pooling: padded positions never win
                acc_n[r*VW +: VW] = (pv > pa) ? pv : pa;
            else
                acc_n[r*VW +: VW] = (first2 ? bias2[r*VW +: VW] : acc[r*VW +: VW])
                    + {{(VW-SW){sum2[r*SW + SW - 1]}}, sum2[r*SW +: SW]};
        end
    end
    always @(posedge clk) begin
        if (v2) acc <= acc_n;
        vA <= rst_n && v2 && last2;
        accA <= acc_n; gA <= g2; dstA <= dst2;
    end

    // ---------------------------------------------------------------- residual read
    reg vB;
    reg [GW-1:0] gB;
    reg [CW-1:0] dstB;
    reg [P_OUT*VW-1:0] accB;
    always @(posedge clk) begin
        vB <= rst_n && vA; gB <= gA; dstB <= dstA; accB <= accA;
    end
    wire [P_IN*EW-1:0] res_q = rdq[f_res];
    // lanes of group g sit at elements (g % RATIO)*P_OUT + o of a word
    reg [P_OUT*VW-1:0] resB;
    integer kr, rr;        // loop variables of this block only (a shared one infers a latch)
    always @* begin
        resB = {P_OUT*VW{1'b0}};
        for (kr = 0; kr < RATIO; kr = kr + 1)
            if (kr == ({{(32-GW){1'b0}}, gB} % RATIO))
                for (rr = 0; rr < P_OUT; rr = rr + 1)
                    resB[rr*VW +: VW] = {{(VW-EW){res_q[(kr*P_OUT + rr)*EW + EW - 1]}},
                                         res_q[(kr*P_OUT + rr)*EW +: EW]};
    end

    // ---------------------------------------------------------------- requant units
    // compact requantisation (rtl/hfn_requant.v): latency B + 2 each; R1 || Rs, then R2
    localparam integer LRQ = B + 2;
    `define HFN_U(u, k, w) tbl_q[32*(NF0 + (u)*UF + (k)) +: (w)]
    localparam integer QB1 = P_OUT*Q0, QB2 = P_OUT*(Q0+Q1), XB1 = P_OUT*X0, XB2 = P_OUT*(X0+X1);
    wire [P_OUT*VW-1:0] y1, ys, y2;
    reg  [P_OUT*VW-1:0] sum_c;
    wire [GW-1:0] gC;
    hfn_requant #(.P(P_OUT), .N(B), .VW(VW), .XW(R0_XW), .FU(R0_FU), .EW(R0_EW), .AW(R0_AW),
                  .SW(R0_SW), .OW(R0_OW), .RAW(TAW), .GW(GW), .NE(R0_NE), .DW(R0_DW),
                  .TIES(R0_TIES), .KNEE(R0_KNEE)) u_r1 (
        .clk(clk), .in_x(accB), .in_g(gB), .en(`HFN_U(0,0,1)), .pc(`HFN_U(0,1,1)),
        .tie(`HFN_U(0,2,2)), .out_min(`HFN_U(0,3,VW)), .out_max(`HFN_U(0,4,VW)),
        .levels(`HFN_U(0,5,VW)), .base(rq_base[0]), .rom_addr(rq_addr[0 +: TAW]),
        .rom_q(rq_q[0 +: P_OUT*Q0]), .exc(rq_exc[0 +: P_OUT*X0]), .out_y(y1));
    hfn_requant #(.P(P_OUT), .N(B), .VW(VW), .XW(R1_XW), .FU(R1_FU), .EW(R1_EW), .AW(R1_AW),
                  .SW(R1_SW), .OW(R1_OW), .RAW(TAW), .GW(GW), .NE(R1_NE), .DW(R1_DW),
                  .TIES(R1_TIES), .KNEE(R1_KNEE)) u_rs (
        .clk(clk), .in_x(resB), .in_g(gB), .en(`HFN_U(1,0,1)), .pc(`HFN_U(1,1,1)),
        .tie(`HFN_U(1,2,2)), .out_min(`HFN_U(1,3,VW)), .out_max(`HFN_U(1,4,VW)),
        .levels(`HFN_U(1,5,VW)), .base(rq_base[1]), .rom_addr(rq_addr[TAW +: TAW]),
        .rom_q(rq_q[QB1 +: P_OUT*Q1]), .exc(rq_exc[XB1 +: P_OUT*X1]), .out_y(ys));
    always @* begin
        for (r = 0; r < P_OUT; r = r + 1)
            sum_c[r*VW +: VW] = y1[r*VW +: VW] + (f_add ? ys[r*VW +: VW] : {VW{1'b0}});
    end
    hfn_requant #(.P(P_OUT), .N(B), .VW(VW), .XW(R2_XW), .FU(R2_FU), .EW(R2_EW), .AW(R2_AW),
                  .SW(R2_SW), .OW(R2_OW), .RAW(TAW), .GW(GW), .NE(R2_NE), .DW(R2_DW),
                  .TIES(R2_TIES), .KNEE(R2_KNEE)) u_r2 (
        .clk(clk), .in_x(sum_c), .in_g(gC), .en(`HFN_U(2,0,1)), .pc(`HFN_U(2,1,1)),
        .tie(`HFN_U(2,2,2)), .out_min(`HFN_U(2,3,VW)), .out_max(`HFN_U(2,4,VW)),
        .levels(`HFN_U(2,5,VW)), .base(rq_base[2]), .rom_addr(rq_addr[2*TAW +: TAW]),
        .rom_q(rq_q[QB2 +: P_OUT*Q2]), .exc(rq_exc[XB2 +: P_OUT*X2]), .out_y(y2));

    // control delay lines matching the two requant latencies
    reg [2*LRQ-1:0] vd;
    reg [GW-1:0] gd [0:2*LRQ-1];
    reg [CW-1:0] dd [0:2*LRQ-1];
    always @(posedge clk) begin
        vd <= rst_n ? {vd[2*LRQ-2:0], vB} : {2*LRQ{1'b0}};
        gd[0] <= gB; dd[0] <= dstB;
        for (r = 1; r < 2*LRQ; r = r + 1) begin gd[r] <= gd[r-1]; dd[r] <= dd[r-1]; end
    end
    assign gC = gd[LRQ-1];

    // ---------------------------------------------------------------- write back
    wire vW = vd[2*LRQ-1];
    wire [GW-1:0] gW = gd[2*LRQ-1];
    reg [31:0] outbuf [0:CLS_PAD-1];
    always @(posedge clk) begin
        wr_v <= rst_n && vW && !f_out;
        wr_addr <= dd[2*LRQ-1];
        wr_dst <= f_dst;
        for (r = 0; r < P_IN; r = r + 1) begin
            wr_en[r] <= ((r / P_OUT) == ({{(32-GW){1'b0}}, gW} % RATIO));
            wr_data[r*EW +: EW] <= y2[(r % P_OUT)*VW +: EW];
        end
        if (vW && f_out)
            for (r = 0; r < P_OUT; r = r + 1)
                outbuf[gW*P_OUT + r] <= {{(32-VW){y2[r*VW + VW - 1]}}, y2[r*VW +: VW]};
    end

    // ---------------------------------------------------------------- output stream
    reg ob_busy;
    reg [CW-1:0] ob_k;
    assign out_busy = ob_busy || out_start;
    assign m_valid = ob_busy;
    assign m_data = outbuf[ob_k[$clog2(CLS_PAD)-1:0]];
    assign m_last = (ob_k == CLS_1);
    always @(posedge clk) begin
        if (!rst_n) begin
            ob_busy <= 1'b0; ob_k <= 0;
        end else if (out_start) begin
            ob_busy <= 1'b1; ob_k <= 0;
        end else if (ob_busy && m_ready) begin
            ob_k <= ob_k + 1;
            if (ob_k == CLS_1) ob_busy <= 1'b0;
        end
    end
    `undef HFN_F
    `undef HFN_U
endmodule
`default_nettype wire
