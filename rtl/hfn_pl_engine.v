// The pixel-lane engine (docs/rtl.md, "pixel engine"): S streams (hfn_pl_stream), the
// line-buffer fill (hfn_pl_fill), the central feature-map buffers, the AXI4-Stream input
// loader and output, and two walkers over the layer table: the fill walker prepares the
// line buffers of the next tile (and, across a pass boundary, the first tile of the next
// pass) while the compute walker runs the streams on the current tile.
//
// Table (rtl_backend/pixel/schedule.py FIELDS, 16 bits per field): T_CONV passes, T_LOOP
// / T_ENDLOOP around a fold body (the same ROM words every iteration; the iteration
// selects the requant parameter set), T_END.  Central buffers: NCB columns of sub-words (8 codes
// of one row and channel); sub-word q = (c * H + y) * ceil(W / 8) + x / 8 is at column
// q % NCB, address q / NCB.  Port A of every column reads for the fill; port B writes
// (the streams' write queues, round robin per column) or reads residuals.
`default_nettype none
module hfn_pl_engine #(
    parameter integer P = 16, S = 1, RS = 4, NCB = 4, XW = 4, EC = 5, VWL = 12,
    parameter integer VW = 18, VWO = 20, B = 5, NS = 0, NPL = 1,
    parameter [79:0] RQ0 = 0, RQ1 = 0, RQ2 = 0,   // requant unit widths (hfn_pl_requant)
    parameter integer NBUF = 2, CB_D = 64, IN_D = 64, LBD = 64, NSLOT = 8, NRSLOT = 2,
    parameter integer NCLS = 1, QMAX = 1,
    parameter integer IN_C = 1, IN_H = 8, IN_W = 8, IN_WPR = 1, CLASSES = 10, CLS_L = 10,
    parameter integer TD = 8, MD0 = 16, MD1 = 16, MD2 = 16, SD = 16, HD0 = 16, HD1 = 16,
    parameter integer HD2 = 16,
    parameter [16*NCLS-1:0] C_TWD = 0, C_S = 0, C_PAD = 0, C_WPRI = 0, C_IW = 0,
    parameter [16*NCLS-1:0] C_XOFF = 0, C_KH = 0, C_SR = 0,
    parameter PRE = "./"                  // directory of the ROM images (with a slash)
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire [8*IN_C-1:0]    s_data,
    input  wire                 s_valid,
    output wire                 s_ready,
    input  wire                 s_last,
    output wire [31:0]          m_data,
    output wire                 m_valid,
    input  wire                 m_ready,
    output wire                 m_last
);
    // ---------------------------------------------------------------- table fields
    localparam integer NF = 61;
    localparam integer F_TYPE = 0, F_ITERS = 1, F_FLAGS = 2, F_SRC = 3, F_DST = 4, F_RES = 5,
        F_IH = 6, F_CIF = 7, F_CI = 8, F_S = 9, F_PAD = 10, F_WPRI = 11, F_SR = 12,
        F_QCI = 13, F_TH = 14, F_NTR = 15, F_NSEG = 16, F_CLS0 = 17, F_DEPT = 18, F_KH = 19,
        F_NWIN = 20, F_WPU = 21, F_TB0 = 22, F_TB1 = 23, F_TB2 = 24, F_Q = 25, F_R = 26,
        F_STB = 27, F_PLO = 28, F_NUQ = 29, F_NUQ1 = 30, F_LENQ = 31, F_LENQ1 = 32,
        F_OH = 33, F_TWDR = 34, F_LASTW = 35, F_WPRO = 36, F_QCO = 37, F_TWD = 38,
        F_QR0 = 39, F_QRT = 40, F_TQR = 41,
        F_L1 = 42, F_OM1 = 43, F_PC1 = 44, F_WPC1 = 45, F_TB_1 = 46, F_TS1 = 47,
        F_LS = 48, F_OMS = 49, F_PCS = 50, F_WPCS = 51, F_TB_S = 52, F_TSS = 53,
        F_L2 = 54, F_OM2 = 55, F_PC2 = 56, F_WPC2 = 57, F_TB_2 = 58, F_TS2 = 59,
        F_FNS = 60;
    localparam integer FL_ADD = 0, FL_OUT = 1, FL_R1 = 2, FL_RS = 3, FL_R2 = 4,
        FL_PLANES = 5, FL_K1 = 6, FL_REL = 7;
    localparam [15:0] T_CONV = 16'd0, T_LOOP = 16'd1, T_ENDLOOP = 16'd2, T_END = 16'd3;
    localparam integer TAW = $clog2(TD + 1);
    localparam integer QW = 16;
    localparam integer CAW = $clog2(CB_D > IN_D ? CB_D : IN_D);
    localparam integer LBAW = $clog2(LBD);
    localparam integer NBI = NBUF + 1;          // buffers incl. the input (id NBUF)
    localparam [15:0] NONE = 16'd15;
    integer i;
    wire rst = !rst_n;

    reg [16*NF-1:0] tbl [0:TD-1];          // a small ROM, read asynchronously (logic)
    initial $readmemh({PRE, "table.mem"}, tbl);

    // ================================================================ compute walker
    reg [TAW-1:0] c_pc, c_lpc;
    reg [15:0] c_it, c_ln;
    wire [16*NF-1:0] cr = tbl[c_pc];
    `define CF(f) cr[16*(f) +: 16]
    reg [16*NF-1:0] prow;                      // the running pass's row (streams, arbiters)
    `define PF(f) prow[16*(f) +: 16]
    wire [15:0] c_flags = `PF(F_FLAGS);
    localparam [3:0] C_DEC = 0, C_SET = 1, C_OUTW = 2, C_PS = 3, C_TILE = 4, C_TW = 5,
        C_END = 6;
    reg [3:0] cst;
    reg [15:0] c_k;                            // iterations added to the requant row bases
    reg [15:0] hb1, hbs, hb2;
    reg [15:0] ctr, cseg, c_oy, c_tqrow, c_tqseg;
    reg [15:0] ctile;                          // tiles released (global)
    reg [15:0] cpass;                          // passes started (global)
    reg c_done;                                // the current pass is complete
    reg c_infl;                                // a released tile is still running
    reg [1:0] c_w;
    wire [S-1:0] s_tbusy, s_idle;
    wire all_tfree = (s_tbusy == {S{1'b0}});
    wire all_idle = (s_idle == {S{1'b0}}) ? 1'b0 : (&s_idle);
    reg pass_start, tile_go;
    wire [15:0] fdone;                         // tiles filled (global), from the fill side
    reg out_start;
    wire out_busy;
    wire c_last = (ctr + 16'd1 == `CF(F_NTR)) && (cseg + 16'd1 == `CF(F_NSEG));
    wire [15:0] c_rows = `CF(F_OH) - c_oy;
    wire [7:0] t_thu = (c_rows < `CF(F_TH)) ? c_rows[7:0] : `CF(F_TH)[7:0];
    wire [7:0] t_xv = (cseg + 16'd1 == `CF(F_NSEG)) ? `CF(F_LASTW)[7:0] : P[7:0];
    always @(posedge clk) begin
        pass_start <= 1'b0; tile_go <= 1'b0; out_start <= 1'b0;
        if (rst) begin
            cst <= C_DEC; c_pc <= {TAW{1'b0}}; c_it <= 16'd0; ctile <= 16'd0;
            cpass <= 16'd0; c_done <= 1'b1; c_infl <= 1'b0; c_w <= 2'd0;
        end else begin
            if (c_w != 2'd0) c_w <= c_w - 1'b1;
            if (c_infl && c_w == 2'd0 && all_tfree) c_infl <= 1'b0;
            case (cst)
                C_DEC: begin
                    if (`CF(F_TYPE) == T_LOOP) begin
                        c_it <= 16'd0; c_lpc <= c_pc + 1'b1; c_ln <= `CF(F_ITERS);
                        c_pc <= c_pc + 1'b1;
                    end else if (`CF(F_TYPE) == T_ENDLOOP) begin
                        if (c_it + 16'd1 < c_ln) begin c_it <= c_it + 16'd1; c_pc <= c_lpc; end
                        else begin c_it <= 16'd0; c_pc <= c_pc + 1'b1; end
                    end else if (`CF(F_TYPE) == T_END) begin
                        c_pc <= {TAW{1'b0}};
                    end else begin
                        hb1 <= `CF(F_TB_1); hbs <= `CF(F_TB_S); hb2 <= `CF(F_TB_2);
                        c_k <= 16'd0; cst <= C_SET;
                    end
                end
                C_SET: begin                  // requant parameter set of this iteration
                    if (c_k == c_it) cst <= C_OUTW;
                    else begin
                        c_k <= c_k + 16'd1;
                        hb1 <= hb1 + `CF(F_TS1); hbs <= hbs + `CF(F_TSS); hb2 <= hb2 + `CF(F_TS2);
                    end
                end
                C_OUTW: if (!`CF(F_FLAGS)[FL_OUT] || !out_busy) begin
                    prow <= cr; pass_start <= 1'b1; cpass <= cpass + 16'd1; c_done <= 1'b0;
                    ctr <= 16'd0; cseg <= 16'd0; c_oy <= 16'd0; c_tqrow <= 16'd0;
                    c_tqseg <= 16'd0; c_w <= 2'd3; cst <= C_TILE;
                end
                C_TILE: if (c_w == 2'd0 && !c_infl && all_tfree && fdone != ctile) begin
                    tile_go <= 1'b1; ctile <= ctile + 16'd1; c_infl <= 1'b1; c_w <= 2'd2;
                    if (c_last) begin
                        cst <= C_END;
                    end else if (cseg + 16'd1 == `CF(F_NSEG)) begin
                        cseg <= 16'd0; ctr <= ctr + 16'd1; c_oy <= c_oy + `CF(F_TH);
                        c_tqrow <= c_tqrow + `CF(F_TQR); c_tqseg <= c_tqrow + `CF(F_TQR);
                    end else begin
                        cseg <= cseg + 16'd1; c_tqseg <= c_tqseg + P / 8;
                    end
                end
                C_END: if (c_w == 2'd0 && !c_infl && all_idle) begin
                    c_done <= 1'b1;
                    if (c_flags[FL_OUT]) out_start <= 1'b1;
                    c_pc <= c_pc + 1'b1; cst <= C_DEC;
                end
                default: cst <= C_DEC;
            endcase
        end
    end
    // tile fields, registered with tile_go
    reg tg_region, tg_last;
    reg [QW-1:0] tg_tq;
    reg [7:0] tg_thu, tg_xv;
    always @(posedge clk) begin
        tg_region <= ctile[0]; tg_last <= c_last; tg_tq <= c_tqseg; tg_thu <= t_thu;
        tg_xv <= t_xv;
    end
    wire [15:0] ctile_done = ctile - {15'd0, c_infl};

    // ================================================================ fill walker
    reg [TAW-1:0] f_pc, f_lpc;
    reg [15:0] f_it, f_ln;
    wire [16*NF-1:0] fr = tbl[f_pc];
    `define FF(f) fr[16*(f) +: 16]
    wire [15:0] f_flags = `FF(F_FLAGS);
    localparam [2:0] F_DECS = 0, F_WAIT = 1, F_RUN = 2;
    reg [2:0] fst;
    reg [15:0] ftile, fpass, ftr, fseg, fqrow;
    reg [15:0] fdone_r;
    assign fdone = fdone_r;
    reg in_full;
    reg f_start;
    wire fl_busy, fl_done;
    wire [15:0] f_src = `FF(F_SRC);
    wire [15:0] c_dst = `PF(F_DST);
    // the previous pass (the compute's) writes the source: wait for what the tile needs
    wire f_prev = (cpass + 16'd1 == fpass);            // compute runs the previous pass
    wire f_dep = f_prev && !c_done && (f_src == c_dst);
    wire f_ready = (cpass + 16'd1 >= fpass) && (ftile <= ctile_done + 16'd1)
                   && (f_src != NBUF || in_full) && !(f_dep && (ftr != 16'd0 || fseg != 16'd0));
    wire f_lastt = (ftr + 16'd1 == `FF(F_NTR)) && (fseg + 16'd1 == `FF(F_NSEG));
    always @(posedge clk) begin
        f_start <= 1'b0;
        if (rst) begin
            fst <= F_DECS; f_pc <= {TAW{1'b0}}; f_it <= 16'd0; ftile <= 16'd0;
            fpass <= 16'd0; fdone_r <= 16'd0;
        end else begin
            case (fst)
                F_DECS: begin
                    if (`FF(F_TYPE) == T_LOOP) begin
                        f_it <= 16'd0; f_lpc <= f_pc + 1'b1; f_ln <= `FF(F_ITERS);
                        f_pc <= f_pc + 1'b1;
                    end else if (`FF(F_TYPE) == T_ENDLOOP) begin
                        if (f_it + 16'd1 < f_ln) begin f_it <= f_it + 16'd1; f_pc <= f_lpc; end
                        else begin f_it <= 16'd0; f_pc <= f_pc + 1'b1; end
                    end else if (`FF(F_TYPE) == T_END) begin
                        f_pc <= {TAW{1'b0}};
                    end else begin
                        fpass <= fpass + 16'd1; ftr <= 16'd0; fseg <= 16'd0;
                        fqrow <= `FF(F_QR0); fst <= F_WAIT;
                    end
                end
                F_WAIT: if (f_ready) begin f_start <= 1'b1; fst <= F_RUN; end
                F_RUN: if (fl_done) begin
                    ftile <= ftile + 16'd1; fdone_r <= fdone_r + 16'd1;
                    if (f_lastt) begin
                        f_pc <= f_pc + 1'b1; fst <= F_DECS;
                    end else begin
                        fst <= F_WAIT;
                        if (fseg + 16'd1 == `FF(F_NSEG)) begin
                            fseg <= 16'd0; ftr <= ftr + 16'd1; fqrow <= fqrow + `FF(F_QRT);
                        end else begin
                            fseg <= fseg + 16'd1;
                        end
                    end
                end
                default: fst <= F_DECS;
            endcase
        end
    end
    wire f_release = (fst == F_RUN) && fl_done && f_lastt && f_flags[FL_REL];

    // per-channel dependency of the first tile: stream (c mod S) has written back local
    // channel c / S of the previous pass's tile DEPT
    wire [15:0] fc;
    wire fstep;
    reg [15:0] fd_div, fd_mod;
    wire [16*S-1:0] wbt, wbl;
    wire [15:0] w_t = wbt[16*fd_mod +: 16], w_l = wbl[16*fd_mod +: 16];
    wire wb_ok = (w_t > `FF(F_DEPT)) || (w_t == `FF(F_DEPT) && w_l > fd_div);
    wire dep_ok = !f_dep || wb_ok;
    always @(posedge clk) begin
        if (f_start) begin fd_div <= 16'd0; fd_mod <= 16'd0; end
        else if (fstep) begin
            if (fd_mod + 16'd1 == S) begin fd_mod <= 16'd0; fd_div <= fd_div + 16'd1; end
            else fd_mod <= fd_mod + 16'd1;
        end
    end
    wire _unused_fc = &{1'b0, fc, fl_busy};

    // ================================================================ central buffers
    localparam integer LG = $clog2(NCB);
    wire [CAW-1:0] f_ra;
    wire f_ren;
    wire [NCB*8*XW-1:0] f_rq;
    wire [15:0] c_res = `PF(F_RES);
    // port B per column: a write of the compute pass's destination buffer (the streams'
    // queue heads, round robin) and/or a residual read of its residual buffer
    reg [NCB-1:0] w_ok, r_ok;
    reg [CAW-1:0] wa [0:NCB-1];
    reg [CAW-1:0] ra [0:NCB-1];
    reg [8*EC-1:0] wd [0:NCB-1];
    reg [7:0] rsel [0:NCB-1];
    wire [NCB*8*EC-1:0] fa_q [0:NBI-1];          // port A (fill) data per buffer
    wire [NCB*8*EC-1:0] pbq [0:NBUF-1];          // port B data per work buffer
    // loader writes into the input buffer
    reg ld_we;
    reg [CAW-1:0] ld_a;
    reg [LG:0] ld_col;
    reg [8*XW-1:0] ld_d;
    genvar b, cc, i0;
    generate
        for (b = 0; b < NBUF; b = b + 1) begin : g_buf
            for (cc = 0; cc < NCB; cc = cc + 1) begin : g_col
                reg [8*EC-1:0] mem [0:CB_D-1];
                reg [8*EC-1:0] qa, qb;
                wire wr = w_ok[cc] && c_dst == b;
                wire [CAW-1:0] ab = wr ? wa[cc] : ra[cc];
                always @(posedge clk) begin
                    qa <= mem[f_ra];
                    if (wr) mem[ab] <= wd[cc];
                    qb <= mem[ab];
                end
                assign fa_q[b][cc*8*EC +: 8*EC] = qa;
                assign pbq[b][cc*8*EC +: 8*EC] = qb;
            end
        end
        for (cc = 0; cc < NCB; cc = cc + 1) begin : g_incol
            reg [8*XW-1:0] mem [0:IN_D-1];
            reg [8*XW-1:0] qa;
            always @(posedge clk) begin
                qa <= mem[f_ra];
                if (ld_we && ld_col == cc) mem[ld_a] <= ld_d;
            end
            for (i0 = 0; i0 < 8; i0 = i0 + 1) begin : g_px
                assign fa_q[NBUF][cc*8*EC + i0*EC +: EC] = {{(EC-XW){1'b0}}, qa[i0*XW +: XW]};
            end
        end
        // fill data: the source buffer's columns, the low XW bits of each code
        for (i0 = 0; i0 < NCB * 8; i0 = i0 + 1) begin : g_fx
            assign f_rq[i0*XW +: XW] = fa_q[f_src][i0*EC +: XW];
        end
    endgenerate
    wire _unused_ren = &{1'b0, f_ren};

    // ---------------------------------------------------------------- port B arbiters
    wire [S-1:0] wq_v, rq_v;
    wire [QW*S-1:0] wq_q, rq_q;
    wire [8*EC*S-1:0] wq_d;
    wire [8*EC-1:0] wq_dw [0:S-1];             // the streams' queue heads as an array
    genvar gs;
    generate
        for (gs = 0; gs < S; gs = gs + 1) begin : g_wqd
            assign wq_dw[gs] = wq_d[8*EC*gs +: 8*EC];
        end
    endgenerate
    reg [S-1:0] wq_ack, rq_ack;
    reg [7:0] rr_ptr;
    integer j, cidx, si;
    always @* begin
        wq_ack = {S{1'b0}}; rq_ack = {S{1'b0}}; w_ok = {NCB{1'b0}}; r_ok = {NCB{1'b0}};
        for (cidx = 0; cidx < NCB; cidx = cidx + 1) begin
            wa[cidx] = {CAW{1'b0}}; ra[cidx] = {CAW{1'b0}}; wd[cidx] = {8*EC{1'b0}};
            rsel[cidx] = 8'd0;
            for (j = 0; j < S; j = j + 1) begin
                si = (rr_ptr + j >= S) ? rr_ptr + j - S : rr_ptr + j;
                if (!w_ok[cidx] && wq_v[si] && wq_q[QW*si +: LG] == cidx[LG-1:0]) begin
                    w_ok[cidx] = 1'b1; wq_ack[si] = 1'b1;
                    wa[cidx] = wq_q[QW*si + LG +: CAW]; wd[cidx] = wq_dw[si];
                end
            end
            for (j = 0; j < S; j = j + 1) begin
                si = (rr_ptr + j >= S) ? rr_ptr + j - S : rr_ptr + j;
                if (!r_ok[cidx] && !(w_ok[cidx] && c_dst == c_res) && rq_v[si]
                    && rq_q[QW*si +: LG] == cidx[LG-1:0]) begin
                    r_ok[cidx] = 1'b1; rq_ack[si] = 1'b1;
                    ra[cidx] = rq_q[QW*si + LG +: CAW]; rsel[cidx] = si[7:0];
                end
            end
        end
    end
    // residual responses: one cycle after the grant, to the granted stream
    reg [NCB-1:0] r_ok1;
    reg [7:0] rsel1 [0:NCB-1];
    reg [S-1:0] rr_v;
    reg [8*EC*S-1:0] rr_d;
    wire [NCB*8*EC-1:0] resq = pbq[c_res];
    integer j2, cidx2;
    always @(posedge clk) begin
        rr_ptr <= (rst || rr_ptr + 8'd1 >= S) ? 8'd0 : rr_ptr + 8'd1;
        r_ok1 <= rst ? {NCB{1'b0}} : r_ok;
        for (cidx = 0; cidx < NCB; cidx = cidx + 1) rsel1[cidx] <= rsel[cidx];
    end
    always @* begin
        rr_v = {S{1'b0}}; rr_d = {8*EC*S{1'b0}};
        for (j2 = 0; j2 < S; j2 = j2 + 1)
            for (cidx2 = 0; cidx2 < NCB; cidx2 = cidx2 + 1)
                if (r_ok1[cidx2] && rsel1[cidx2] == j2) begin
                    rr_v[j2] = 1'b1;
                    rr_d[8*EC*j2 +: 8*EC] = resq[cidx2*8*EC +: 8*EC];
                end
    end

    // ================================================================ fill
    hfn_pl_fill #(.P(P), .XW(XW), .NCB(NCB), .NSLOT(NSLOT), .NCLS(NCLS), .LBD(LBD),
        .AW(CAW), .C_TWD(C_TWD), .C_S(C_S), .C_PAD(C_PAD), .C_WPRI(C_WPRI), .C_IW(C_IW),
        .C_XOFF(C_XOFF), .C_KH(C_KH), .C_SR(C_SR)) u_fill (.clk(clk), .rst(rst),
        .start(f_start), .f_cif(`FF(F_CIF)), .f_ci(`FF(F_CI)), .f_plo(`FF(F_PLO)),
        .f_qci(`FF(F_QCI)), .f_ns(`FF(F_FNS)), .f_qrow(fqrow),
        .f_kh(`FF(F_KH)[1:0]), .f_cls(`FF(F_CLS0)[7:0] + fseg[7:0]), .f_region(ftile[0]),
        .busy(fl_busy), .done(fl_done), .fc(fc), .fstep(fstep), .dep_ok(dep_ok),
        .rd_a(f_ra), .rd_en(f_ren), .rd_q(f_rq), .lb_we(lb_we), .lb_addr(lb_addr),
        .lb_data(lb_data));
    wire lb_we;
    wire [LBAW-1:0] lb_addr;
    wire [3*P*XW-1:0] lb_data;

    // ================================================================ input loader
    // beats of IN_C 8-bit codes; plane p of a code (p = 0 the high one) is input channel
    // p * IN_C + c of the stem; 8 pixels of a row are written as one sub-word per channel
    localparam integer NCH_IN = NPL * IN_C;
    localparam integer QIN = IN_H * IN_WPR;
    reg [8*XW-1:0] stg [0:NCH_IN-1];
    reg [15:0] lx, ly, lw;                     // pixel column / row, sub-word of the row
    reg flush;
    reg [15:0] fl_c, fl_q;
    reg [15:0] fl_q0;
    reg last_px;
    assign s_ready = rst_n && !in_full && !flush;
    integer pch;
    always @(posedge clk) begin
        ld_we <= 1'b0;
        if (rst) begin
            in_full <= 1'b0; flush <= 1'b0; lx <= 16'd0; ly <= 16'd0; lw <= 16'd0;
            for (pch = 0; pch < NCH_IN; pch = pch + 1) stg[pch] <= {8*XW{1'b0}};
        end else begin
            if (s_valid && s_ready) begin
                for (pch = 0; pch < NCH_IN; pch = pch + 1)
                    stg[pch][(lx % 8) * XW +: XW] <=
                        s_data[8*(pch % IN_C) +: 8] >> (XW * (NPL - 1 - pch / IN_C));
                if (lx % 8 == 7 || lx + 16'd1 == IN_W) begin
                    flush <= 1'b1; fl_c <= 16'd0; fl_q0 <= ly * IN_WPR + lw;
                    fl_q <= ly * IN_WPR + lw; last_px <= (lx + 16'd1 == IN_W)
                                                          && (ly + 16'd1 == IN_H);
                end
                if (lx + 16'd1 == IN_W) begin
                    lx <= 16'd0; lw <= 16'd0; ly <= (ly + 16'd1 == IN_H) ? 16'd0 : ly + 16'd1;
                end else begin
                    lx <= lx + 16'd1; if (lx % 8 == 7) lw <= lw + 16'd1;
                end
            end
            if (flush) begin
                ld_we <= 1'b1; ld_col <= fl_q[LG:0] & (NCB - 1); ld_a <= fl_q[LG +: CAW];
                ld_d <= stg[fl_c];
                stg[fl_c] <= {8*XW{1'b0}};
                fl_q <= fl_q + QIN;
                if (fl_c + 16'd1 == NCH_IN) begin
                    flush <= 1'b0;
                    if (last_px) in_full <= 1'b1;
                end
                fl_c <= fl_c + 16'd1;
            end
            if (f_release) in_full <= 1'b0;
        end
    end
    wire _unused_in = &{1'b0, s_last, fl_q0};

    // ================================================================ streams
    wire [S-1:0] s_go = {S{tile_go}};
    wire [VWO*S-1:0] cls_q;
    wire [VWO-1:0] cls_w [0:S-1];
    generate
        for (gs = 0; gs < S; gs = gs + 1) begin : g_clsw
            assign cls_w[gs] = cls_q[VWO*gs +: VWO];
        end
    endgenerate
    reg [7:0] cls_sel;
    genvar si_g;
    generate
        for (si_g = 0; si_g < S; si_g = si_g + 1) begin : g_s
            localparam [7:0] D1 = 8'd48 + si_g / 10, D0 = 8'd48 + si_g % 10;
            hfn_pl_stream #(.IDX(si_g), .S(S), .P(P), .XW(XW), .VWL(VWL), .VW(VW), .VWO(VWO),
                .EC(EC), .RS(RS), .B(B), .RQ0(RQ0), .RQ1(RQ1), .RQ2(RQ2), .NPL(NPL), .NS(NS), .LBD(LBD),
                .NRSLOT(NRSLOT), .QW(QW), .CLS_L(CLS_L), .MD0(MD0), .MD1(MD1), .MD2(MD2),
                .SD(SD), .HD0(HD0), .HD1(HD1), .HD2(HD2),
                .FT0({PRE, "s", D1, D0, "_term0.mem"}), .FT1({PRE, "s", D1, D0, "_term1.mem"}),
                .FT2({PRE, "s", D1, D0, "_term2.mem"}), .FST({PRE, "s", D1, D0, "_state.mem"}),
                .FH0({PRE, "s", D1, D0, "_rq0.mem"}), .FH1({PRE, "s", D1, D0, "_rq1.mem"}),
                .FH2({PRE, "s", D1, D0, "_rq2.mem"}), .FX0({PRE, "s", D1, D0, "_exc0.mem"}),
                .FX1({PRE, "s", D1, D0, "_exc1.mem"}), .FX2({PRE, "s", D1, D0, "_exc2.mem"}))
                u_s (
                .clk(clk), .rst(rst), .pass_start(pass_start),
                .c_k1(c_flags[FL_K1]), .c_nw(`PF(F_NWIN)[7:0] - 8'd1),
                .c_nkh(`PF(F_KH)[1:0] - 2'd1), .c_ci(`PF(F_CI)),
                .c_tb0(`PF(F_TB0)), .c_tb1(`PF(F_TB1)), .c_tb2(`PF(F_TB2)),
                .c_lenq(`PF(F_LENQ)), .c_lenq1(`PF(F_LENQ1)), .c_nuq(`PF(F_NUQ)),
                .c_nuq1(`PF(F_NUQ1)), .c_q(`PF(F_Q)), .c_r(`PF(F_R)), .c_stb(`PF(F_STB)),
                .c_plo(`PF(F_PLO)), .c_planes(c_flags[FL_PLANES]), .c_add(c_flags[FL_ADD]),
                .c_r1(c_flags[FL_R1]), .c_rs(c_flags[FL_RS]), .c_r2(c_flags[FL_R2]),
                .c_out(c_flags[FL_OUT]),
                .c_l1(`PF(F_L1)[8:0]), .c_ls(`PF(F_LS)[8:0]), .c_l2(`PF(F_L2)[8:0]),
                .c_om1(`PF(F_OM1)), .c_oms(`PF(F_OMS)), .c_om2(`PF(F_OM2)),
                .c_wpc1(`PF(F_WPC1)[8:0]), .c_wpcs(`PF(F_WPCS)[8:0]), .c_wpc2(`PF(F_WPC2)[8:0]),
                .c_pc1(`PF(F_PC1)[0]), .c_pcs(`PF(F_PCS)[0]), .c_pc2(`PF(F_PC2)[0]),
                .c_tie1(`PF(F_PC1)[2:1]), .c_ties(`PF(F_PCS)[2:1]), .c_tie2(`PF(F_PC2)[2:1]),
                .c_hb1(hb1), .c_hbs(hbs), .c_hb2(hb2),
                .c_twdr(`PF(F_TWDR)), .c_wpt((`PF(F_TWD) + 16'd7) >> 3), .c_wpro(`PF(F_WPRO)),
                .c_qco(`PF(F_QCO)),
                .tile_go(s_go[si_g]), .t_region(tg_region), .t_tq(tg_tq), .t_thu(tg_thu),
                .t_xv(tg_xv), .t_last(tg_last), .tile_busy(s_tbusy[si_g]), .idle(s_idle[si_g]),
                .lb_we(lb_we), .lb_addr(lb_addr), .lb_data(lb_data),
                .rq_v(rq_v[si_g]), .rq_q(rq_q[QW*si_g +: QW]), .rq_ack(rq_ack[si_g]),
                .rr_v(rr_v[si_g]), .rr_d(rr_d[8*EC*si_g +: 8*EC]),
                .wq_v(wq_v[si_g]), .wq_q(wq_q[QW*si_g +: QW]), .wq_d(wq_d[8*EC*si_g +: 8*EC]),
                .wq_ack(wq_ack[si_g]), .wb_t(wbt[16*si_g +: 16]), .wb_l(wbl[16*si_g +: 16]),
                .cls_sel(cls_sel), .cls_q(cls_q[VWO*si_g +: VWO]));
        end
    endgenerate

    // ================================================================ output stream
    reg ob_busy;
    reg [15:0] ob_k, ob_m;
    assign out_busy = ob_busy || out_start;
    assign m_valid = ob_busy;
    wire [VWO-1:0] ov = cls_w[ob_m];
    assign m_data = {{(32-VWO){ov[VWO-1]}}, ov};
    assign m_last = (ob_k + 16'd1 == CLASSES);
    always @(posedge clk) begin
        if (rst) begin
            ob_busy <= 1'b0; ob_k <= 16'd0; ob_m <= 16'd0; cls_sel <= 8'd0;
        end else if (out_start) begin
            ob_busy <= 1'b1; ob_k <= 16'd0; ob_m <= 16'd0; cls_sel <= 8'd0;
        end else if (ob_busy && m_ready) begin
            ob_k <= ob_k + 16'd1;
            if (ob_m + 16'd1 == S) begin ob_m <= 16'd0; cls_sel <= cls_sel + 8'd1; end
            else ob_m <= ob_m + 16'd1;
            if (ob_k + 16'd1 == CLASSES) ob_busy <= 1'b0;
        end
    end
    `undef CF
    `undef PF
    `undef FF
endmodule
`default_nettype wire
