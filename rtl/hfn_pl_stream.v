// One stream of the pixel-lane engine (docs/rtl.md, "pixel engine").
//
// The stream computes its output channels (c = IDX, IDX + S, ...) one at a time over the
// current tile of P output pixels: a unit = (tile, channel[, input plane]).  Three terms
// (kernel columns kw = 0, 1, 2; 1x1 passes use term 0) walk the kept weights of the
// channel's kernel column in canonical order, one per cycle; the weight source's value
// port (hfn_pl_src_hfn) gives each one's sign.  Each term reads its own line-buffer
// copy (the tile's input rows for kernel column kw, pre-shifted by the fill: all P lanes
// read one address), P lanes add the three terms' XOR-ed codes and accumulate (unsigned;
// hfn_pl_lanes).  When a unit ends its sums go to the shadow registers and the next unit
// starts in the same cycle.  The drain then sends RS values per cycle, row by row:
// sign correction (acc - (2^XW - 1) * N_neg; two input planes combined as hi * 2^XW + lo),
// requant R1, residual (read from the central buffer, Rs), add, R2, and sub-words of 8
// output codes into the write queue the engine empties into the central buffer; for the
// output pass (global sum + classifier) the values are summed per class instead.
//
// Unit time: max over the terms of their windows' cycles, at least the drain of the
// previous unit (rows x ceil(valid columns / RS) + 2), the walker (next unit's segment
// states) and the requant rows' reads (one ROM word per op).  See
// rtl_backend/pixel/cycles.py.
`default_nettype none
module hfn_pl_stream #(
    parameter integer IDX = 0,          // stream index
    parameter integer S = 1,            // streams
    parameter integer P = 16,           // pixel lanes (multiple of 8)
    parameter integer XW = 4,           // line-buffer code width (unsigned)
    parameter integer VWL = 12,         // lane accumulator width
    parameter integer VW = 18,          // drain / requant value width (signed)
    parameter integer VWO = 20,         // classifier sums
    parameter integer EC = 5,           // central-buffer element width (signed)
    parameter integer RS = 4,           // drained values per cycle
    parameter integer B = 5,            // requant bisection stages
    parameter [79:0] RQ0 = 0, RQ1 = 0, RQ2 = 0,   // requant unit widths (hfn_pl_requant)
    parameter integer NPL = 1,          // input planes
    parameter integer NS = 0,           // the walker's extra leap length
    parameter integer LBD = 64,         // line-buffer depth (two regions)
    parameter integer NRSLOT = 2,       // residual sub-words per unit
    parameter integer QW = 16,          // central-buffer sub-word index width
    parameter integer CLS_L = 1,        // classes per stream
    parameter integer MD0 = 16, MD1 = 16, MD2 = 16, SD = 16, HD0 = 16, HD1 = 16, HD2 = 16,
    parameter FT0 = "t0.mem", FT1 = "t1.mem", FT2 = "t2.mem", FST = "st.mem",
    parameter FH0 = "h0.mem", FH1 = "h1.mem", FH2 = "h2.mem",
    parameter FX0 = "x0.mem", FX1 = "x1.mem", FX2 = "x2.mem"
) (
    input  wire                 clk,
    input  wire                 rst,
    // ---- pass configuration (the engine's table row; stable while the pass runs)
    input  wire                 pass_start,
    input  wire                 c_k1,       // 1x1 convolution
    input  wire [7:0]           c_nw,       // windows per segment - 1
    input  wire [1:0]           c_nkh,      // KH - 1
    input  wire [15:0]          c_ci,       // CI (segment length)
    input  wire [15:0]          c_tb0, c_tb1, c_tb2,   // schedule ROM bases
    input  wire [15:0]          c_lenq, c_lenq1,       // list lengths (Q / Q+1 channels)
    input  wire [15:0]          c_nuq, c_nuq1,         // units (Q / Q+1 channels)
    input  wire [15:0]          c_q, c_r,              // channels: Q (+1 for IDX < R)
    input  wire [15:0]          c_stb,      // state ROM base
    input  wire [15:0]          c_plo,      // line-buffer offset of plane 1 (KH * CI)
    input  wire                 c_planes,   // two input planes
    input  wire                 c_add, c_r1, c_rs, c_r2, c_out,
    input  wire [8:0]           c_l1, c_ls, c_l2,      // levels
    input  wire [15:0]          c_om1, c_oms, c_om2,   // out_min (two's complement)
    input  wire [8:0]           c_wpc1, c_wpcs, c_wpc2,// ROM words per row (1)
    input  wire                 c_pc1, c_pcs, c_pc2,   // per-channel rows
    input  wire [1:0]           c_tie1, c_ties, c_tie2,// tie modes
    input  wire [15:0]          c_hb1, c_hbs, c_hb2,   // requant row bases (this iteration)
    input  wire [15:0]          c_twdr,     // TWD / RS
    input  wire [15:0]          c_wpt,      // residual sub-words per tile row: ceil(TWD/8)
    input  wire [15:0]          c_wpro,     // sub-words per output row
    input  wire [QW-1:0]        c_qco,      // sub-words per output channel
    // ---- tiles
    input  wire                 tile_go,    // a tile is released (fields below valid)
    input  wire                 t_region,
    input  wire [QW-1:0]        t_tq,       // sub-word offset of the tile's first row
    input  wire [7:0]           t_thu,      // rows of the tile inside the map
    input  wire [7:0]           t_xv,       // valid columns of the tile
    input  wire                 t_last,     // last tile of the pass
    output wire                 tile_busy,  // units of the released tile still running
    output wire                 idle,       // nothing in flight (drains, queue, reads)
    // ---- line-buffer fill (the same words for every stream)
    input  wire                 lb_we,
    input  wire [$clog2(LBD)-1:0] lb_addr,
    input  wire [3*P*XW-1:0]    lb_data,
    // ---- residual reads (engine arbiter): request, grant, in-order response
    output wire                 rq_v,
    output wire [QW-1:0]        rq_q,
    input  wire                 rq_ack,
    input  wire                 rr_v,
    input  wire [8*EC-1:0]      rr_d,
    // ---- write queue (engine arbiter pops)
    output wire                 wq_v,
    output wire [QW-1:0]        wq_q,
    output wire [8*EC-1:0]      wq_d,
    input  wire                 wq_ack,
    output reg  [15:0]          wb_t,       // write-back progress: tile ...
    output reg  [15:0]          wb_l,       // ... and local channel of the next unit
    // ---- classifier sums
    input  wire [7:0]           cls_sel,
    output wire [VWO-1:0]       cls_q
);
    localparam integer NB = P / 8;
    localparam integer LBAW = $clog2(LBD);
    localparam integer MAW = $clog2(MD0 > MD1 ? (MD0 > MD2 ? MD0 : MD2) : (MD1 > MD2 ? MD1 : MD2));
    localparam integer SAW = $clog2(SD);
    localparam integer ND = P / RS;
    localparam [VWL+2:0] MCODE = (1 << XW) - 1;
    integer i;

    // ================================================================ pass / unit control
    wire my_more = (IDX < c_r);                  // this stream has Q + 1 channels
    wire [15:0] nu = my_more ? c_nuq1 : c_nuq;   // units per tile
    wire [15:0] nch = my_more ? c_q + 16'd1 : c_q;
    wire [15:0] len = my_more ? c_lenq1 : c_lenq;
    reg [2:0] ph;                                // 0 idle, 1 state read, 2 walk, 3 load, 4 run
    reg [1:0] wt;
    reg running;
    reg [15:0] ucnt;                             // units started in the current tile
    reg [15:0] unext;                            // unit index the walker prepares
    reg [SAW-1:0] st_addr;
    reg tile_pend, cur_last;
    reg nxt_region, cur_region;
    reg [QW-1:0] nxt_tq;
    reg [7:0] nxt_thu, nxt_xv;
    reg nxt_last;
    reg up;                                      // plane of the running unit
    wire [2:0] t_fin, t_emit;
    wire wready;
    wire all_fin = &t_fin;
    wire drain_ok;
    wire unit_end = running && all_fin;
    wire hold = unit_end && !drain_ok;
    wire last_c = unit_end && !hold;
    wire avail = (ucnt != nu) || tile_pend;
    wire newt = (ucnt == nu);                    // the next unit starts a new tile
    wire [15:0] ucur = newt ? 16'd0 : ucnt;      // index of the next unit
    // a channel's first unit needs the context resources (residual prefetch, threshold
    // loads) of the channel before it to be done
    wire ctx_ok;
    wire go = !pass_start && (ph == 3'd4) && (!running || last_c) && all_fin && wready && avail
              && wt == 2'd0 && nu != 16'd0 && ctx_ok;
    wire tstart = go && newt;                    // the unit starts a new tile
    // the walker prepares the unit after the one starting: in this tile, or unit 0 of the
    // next tile (if the pass has one)
    wire has_next = (ucur + 16'd1 != nu) || !(newt ? nxt_last : cur_last);
    wire w_start = (ph == 3'd2 && wt == 2'd0) || (go && has_next);
    // the unit two after the next one's index, modulo nu (nu = 1: the same unit again)
    wire [15:0] u2a = (ucur + 16'd2 >= nu) ? ucur + 16'd2 - nu : ucur + 16'd2;
    wire [15:0] u2 = (u2a >= nu) ? u2a - nu : u2a;
    reg loading;
    always @(posedge clk) begin
        loading <= 1'b0;
        if (rst) begin
            ph <= 3'd0; running <= 1'b0; wt <= 2'd0; tile_pend <= 1'b0; ucnt <= 16'd0;
        end else if (pass_start) begin
            // a stream without channels in this pass stays idle (ph 0)
            ph <= (nu == 16'd0) ? 3'd0 : 3'd1;
            st_addr <= c_stb[SAW-1:0]; running <= 1'b0; tile_pend <= 1'b0;
            ucnt <= 16'd0; unext <= 16'd0; wt <= 2'd0; cur_last <= 1'b0;
        end else begin
            if (wt != 2'd0) wt <= wt - 1'b1;
            if (tile_go && nu != 16'd0) begin
                tile_pend <= 1'b1; nxt_region <= t_region; nxt_tq <= t_tq;
                nxt_thu <= t_thu; nxt_xv <= t_xv; nxt_last <= t_last;
            end
            case (ph)
                3'd1: begin ph <= 3'd2; ucnt <= nu; end   // st0 valid next cycle
                3'd2: if (wt == 2'd0) begin                // walker started for unit 0
                          ph <= 3'd3;
                          unext <= (nu == 16'd1) ? 16'd0 : 16'd1;
                          st_addr <= c_stb[SAW-1:0] + ((nu == 16'd1) ? 16'd0 : 16'd1);
                      end
                3'd3: if (wready) begin loading <= 1'b1; ph <= 3'd4; wt <= 2'd2; end
                3'd4: begin
                          if (last_c && !go) running <= 1'b0;
                          if (go) begin
                              running <= 1'b1;
                              up <= c_planes ? ucur[0] : 1'b0;
                              ucnt <= ucur + 16'd1;
                              if (tstart) begin
                                  tile_pend <= tile_go;
                                  cur_region <= nxt_region; cur_last <= nxt_last;
                              end
                              if (has_next) begin
                                  unext <= u2;
                                  st_addr <= c_stb[SAW-1:0] + u2[SAW-1:0];
                              end
                          end
                      end
                default: ;
            endcase
        end
    end
    // the unit's local channel and whether it is drained (the last plane)
    wire u_drain = !c_planes || ucur[0];
    wire [15:0] u_l = c_planes ? {1'b0, ucur[15:1]} : ucur;
    assign tile_busy = (nu != 16'd0) && ((ucnt != nu) || running || tile_pend || ph != 3'd4);

    // ================================================================ value source
    wire [2:0] ev_ld, ev_next, ev_lp;
    wire [5:0] ev_seg;
    wire [8:0] t_q;
    wire [2:0] t_sgn;
    hfn_pl_src_hfn #(.SAW(SAW), .SD(SD), .NS(NS), .CIW(16), .FILE(FST)) u_src (
        .clk(clk), .rst(rst), .pass_start(pass_start), .k1(c_k1), .ci(c_ci), .nkh(c_nkh),
        .st_addr(st_addr), .w_start(w_start), .go(go), .wready(wready),
        .ev_ld(ev_ld), .ev_seg(ev_seg), .ev_next(ev_next), .ev_lp(ev_lp), .q(t_q),
        .sgn(t_sgn));

    // ================================================================ terms
    wire [3*11-1:0] t_ci;
    wire [5:0] t_seg;
    wire [15:0] tb [0:2];
    assign tb[0] = c_tb0; assign tb[1] = c_tb1; assign tb[2] = c_tb2;
    genvar k, b;
    generate
        for (k = 0; k < 3; k = k + 1) begin : g_term
            localparam integer MD = k == 0 ? MD0 : k == 1 ? MD1 : MD2;
            reg [7:0] mrom [0:MD-1];
            if (k == 0) begin : g_f0
                initial $readmemh(FT0, mrom);
            end else if (k == 1) begin : g_f1
                initial $readmemh(FT1, mrom);
            end else begin : g_f2
                initial $readmemh(FT2, mrom);
            end
            reg [7:0] mq;
            wire [MAW-1:0] ma;
            wire [MAW-1:0] tbk = tb[k][MAW-1:0];
            wire [MAW-1:0] tek = tb[k][MAW-1:0] + len[MAW-1:0] - 1'b1;
            always @(posedge clk) mq <= mrom[ma];
            hfn_pl_term #(.MAW(MAW), .NWW(8)) u_t (.clk(clk), .rst(rst),
                .act(!c_k1 || k == 0), .nw(c_nw), .nseg(c_nkh), .tbase(tbk), .tend(tek),
                .load(loading), .go(go), .hold(hold), .wready(wready), .m_addr(ma), .m_q(mq),
                .emit(t_emit[k]), .q(t_q[3*k +: 3]), .ci(t_ci[11*k +: 11]),
                .seg(t_seg[2*k +: 2]), .fin(t_fin[k]), .ev_ld(ev_ld[k]),
                .ev_seg(ev_seg[2*k +: 2]), .ev_next(ev_next[k]), .ev_lp(ev_lp[k]));
        end
    endgenerate

    // ================================================================ line buffers
    // copy k, BRAM b: lanes 8b..8b+7, XW bits each; address = region base + plane offset
    // + kh * CI + ci, the same for every BRAM of a copy.  Reads of idle terms give 0.
    wire [3*P*XW-1:0] xq;
    wire [LBAW-1:0] rbase = (cur_region ? LBD / 2 : 0) + ((c_planes && up) ? c_plo[LBAW-1:0] : 0);
    generate
        for (k = 0; k < 3; k = k + 1) begin : g_copy
            wire [1:0] kh = t_seg[2*k +: 2];
            wire [LBAW-1:0] ra = rbase + (kh == 2'd0 ? {LBAW{1'b0}} : kh == 2'd1 ? c_ci[LBAW-1:0]
                                 : {c_ci[LBAW-2:0], 1'b0}) + t_ci[11*k +: 11];
            for (b = 0; b < NB; b = b + 1) begin : g_bram
                reg [8*XW-1:0] mem [0:LBD-1];
                reg [8*XW-1:0] q;
                always @(posedge clk) begin
                    if (lb_we)
                        mem[lb_addr] <= lb_data[(k*P + b*8)*XW +: 8*XW];
                    if (t_emit[k]) q <= mem[ra];
                    else q <= {8*XW{1'b0}};
                end
                assign xq[(k*P + b*8)*XW +: 8*XW] = q;
            end
        end
    endgenerate
    // signs, `last` and the plane aligned with the BRAM read latency
    reg [2:0] s_d;
    reg last_d, pl0_d;
    always @(posedge clk) begin
        s_d <= t_sgn & t_emit;
        last_d <= last_c;
        pl0_d <= c_planes && !up;
    end
    wire [P*VWL-1:0] shadow, hshadow;
    hfn_pl_lanes #(.P(P), .XW(XW), .VWL(VWL), .NPL(NPL)) u_lanes (.clk(clk), .x(xq), .s(s_d),
        .last(last_d), .pl0(pl0_d), .shadow(shadow), .hshadow(hshadow));


    // ================================================================ per-channel context
    // A drained unit (the last plane of a channel) gets a context slot (alternating) when
    // the channel's first unit starts: its sub-word base, tile rows and valid columns,
    // local channel; its residual is prefetched and its thresholds loaded from then on.
    wire first_pl = !c_planes || !ucur[0];
    wire new_ch = go && first_pl;
    reg [QW-1:0] qch;                  // sub-word base of the channel (IDX + S * l) * QCO
    reg [QW-1:0] cur_tq;
    reg [7:0] cur_thu, cur_xv;
    reg cs;                            // context slot of the next channel
    reg [QW-1:0] x_q [0:1];
    reg [7:0] x_thu [0:1], x_xv [0:1];
    reg [15:0] x_l [0:1];
    // constant x variable by shift-add (no multiplier cell)
    function [QW-1:0] mulk(input [QW-1:0] xm, input integer km);
        integer bm;
        begin
            mulk = {QW{1'b0}};
            for (bm = 0; bm < 16; bm = bm + 1)
                if ((km >> bm) & 1) mulk = mulk + (xm << bm);
        end
    endfunction
    wire [QW-1:0] qch_n = (ucur == 16'd0) ? mulk(c_qco, IDX) : qch + mulk(c_qco, S);
    wire [QW-1:0] tq_n = tstart ? nxt_tq : cur_tq;
    wire [7:0] thu_n = tstart ? nxt_thu : cur_thu;
    wire [7:0] xv_n = tstart ? nxt_xv : cur_xv;
    always @(posedge clk) begin
        if (rst || pass_start) begin
            cs <= 1'b0;
        end else if (new_ch) begin
            qch <= qch_n;
            cur_tq <= tq_n; cur_thu <= thu_n; cur_xv <= xv_n;
            x_q[cs] <= tq_n + qch_n; x_thu[cs] <= thu_n; x_xv[cs] <= xv_n; x_l[cs] <= u_l;
            cs <= ~cs;
        end
    end

    // ---------------------------------------------------------------- residual prefetch
    // rows r < thu, sub-words w < ceil(xv / 8) at q = base + r * WPRO + w, into slot
    // r * WPT + w of the context; the engine answers in request order.
    wire [7:0] nw8_n = (xv_n + 8'd7) >> 3;
    reg pf_act, pf_slot;
    reg [7:0] pf_r, pf_w, pf_nw, pf_thu;
    reg [QW-1:0] pf_q, pf_qrow;
    reg [7:0] rr_r, rr_w;
    reg [15:0] rr_i, rr_irow;
    reg rr_slot, rr_act;
    reg [1:0] rres_ok;
    reg [8*EC-1:0] rslot [0:2*NRSLOT-1];
    wire pf_need = c_add && !c_out;
    wire pf_busy = pf_act || rr_act;
    assign rq_v = pf_act;
    assign rq_q = pf_q;
    always @(posedge clk) begin
        if (rst || pass_start) begin
            pf_act <= 1'b0; rr_act <= 1'b0; rres_ok <= 2'b00;
        end else begin
            if (new_ch && pf_need) begin
                pf_act <= 1'b1; pf_slot <= cs; pf_r <= 8'd0; pf_w <= 8'd0; pf_nw <= nw8_n;
                pf_thu <= thu_n; pf_q <= tq_n + qch_n; pf_qrow <= tq_n + qch_n;
                rr_act <= 1'b1; rr_slot <= cs; rr_r <= 8'd0; rr_w <= 8'd0;
                rr_i <= 16'd0; rr_irow <= 16'd0;
                rres_ok[cs] <= 1'b0;
            end else begin
                if (pf_act && rq_ack) begin
                    if (pf_w + 8'd1 == pf_nw) begin
                        pf_w <= 8'd0; pf_r <= pf_r + 8'd1;
                        pf_q <= pf_qrow + c_wpro[QW-1:0];
                        pf_qrow <= pf_qrow + c_wpro[QW-1:0];
                        if (pf_r + 8'd1 == pf_thu) pf_act <= 1'b0;
                    end else begin
                        pf_w <= pf_w + 8'd1; pf_q <= pf_q + 1'b1;
                    end
                end
                if (rr_v) begin
                    rslot[(rr_slot ? NRSLOT : 0) + rr_i] <= rr_d;
                    if (rr_w + 8'd1 == pf_nw) begin
                        rr_w <= 8'd0; rr_r <= rr_r + 8'd1;
                        rr_i <= rr_irow + c_wpt; rr_irow <= rr_irow + c_wpt;
                        if (rr_r + 8'd1 == pf_thu) begin
                            rr_act <= 1'b0; rres_ok[rr_slot] <= 1'b1;
                        end
                    end else begin
                        rr_w <= rr_w + 8'd1; rr_i <= rr_i + 16'd1;
                    end
                end
            end
        end
    end

    // ---------------------------------------------------------------- requant row reads
    // per op: the channel's row at base + l * WPC (per-channel) or base (shared); issued
    // when the unit's row register is free (the previous row was taken)
    wire [2:0] bank_free, loaded;
    wire [2:0] op_en = {c_r2, c_rs && c_add, c_r1};
    reg [2:0] ld_pend;
    reg [15:0] ld_a [0:2];
    reg [15:0] thr_off [0:2];          // l * WPC of the next channel
    wire [15:0] hb [0:2];
    wire [8:0] wpc [0:2];
    wire [2:0] pc = {c_pc2, c_pcs, c_pc1};
    assign hb[0] = c_hb1; assign hb[1] = c_hbs; assign hb[2] = c_hb2;
    assign wpc[0] = c_wpc1; assign wpc[1] = c_wpcs; assign wpc[2] = c_wpc2;
    wire [2:0] ld_go;
    generate
        for (k = 0; k < 3; k = k + 1) begin : g_ld
            assign ld_go[k] = ld_pend[k] && bank_free[k];
            wire [15:0] off_n = (ucur == 16'd0 || !pc[k]) ? 16'd0 : thr_off[k] + {7'd0, wpc[k]};
            always @(posedge clk) begin
                if (rst || pass_start) begin
                    ld_pend[k] <= 1'b0;
                end else begin
                    if (ld_go[k]) ld_pend[k] <= 1'b0;
                    if (new_ch && op_en[k]) begin
                        ld_pend[k] <= 1'b1; ld_a[k] <= hb[k] + off_n; thr_off[k] <= off_n;
                    end
                end
            end
        end
    endgenerate
    wire ld_busy = |ld_pend;
    assign ctx_ok = !first_pl || (!ld_busy && !(pf_need && pf_busy));

    // ================================================================ drain control
    reg pend, dbusy, u_drain_run;
    reg [1:0] cap;                     // shadow capture delay
    reg [7:0] dr, dxc, dncx;           // row, column step, steps per row
    reg [15:0] dm, dmrow;              // shadow index / RS
    reg [QW-1:0] dq_row;               // sub-word of the row
    reg [15:0] dslot_row;              // residual slot of the row
    reg ds;                            // context slot being drained
    reg [15:0] nneg, corr, corrh;
    wire [1:0] nneg_c = {1'b0, s_d[0]} + {1'b0, s_d[1]} + {1'b0, s_d[2]};
    wire [7:0] x0 = dxc * RS;
    wire dlast = dbusy && (dr + 8'd1 == x_thu[ds]) && (dxc + 8'd1 == dncx);
    assign drain_ok = !pend && (!dbusy || dlast);
    // the write queue: a power of two (the pointers wrap), at least 4 units' sub-words
    localparam integer QAW = $clog2((4 * NRSLOT < 8) ? 8 : 4 * NRSLOT);
    localparam integer QD = 1 << QAW;
    reg [QAW:0] qres;                  // queue entries reserved by started drains
    wire [7:0] nw8 = (x_xv[ds] + 8'd7) >> 3;            // sub-words per row (<= 32)
    wire [15:0] thu16 = {8'd0, x_thu[ds]};
    wire [15:0] nsub = (nw8[0] ? thu16 : 16'd0) + (nw8[1] ? thu16 << 1 : 16'd0)
                     + (nw8[2] ? thu16 << 2 : 16'd0) + (nw8[3] ? thu16 << 3 : 16'd0)
                     + (nw8[4] ? thu16 << 4 : 16'd0) + (nw8[5] ? thu16 << 5 : 16'd0);
    wire q_room = c_out || ({{(16-QAW-1){1'b0}}, qres} + nsub <= QD);
    wire bank_ok = (!op_en[0] || loaded[0]) && (!op_en[1] || loaded[1])
                   && (!op_en[2] || loaded[2]);
    wire res_ok = !pf_need || rres_ok[ds];
    wire dstart = pend && cap == 2'd0 && !dbusy && bank_ok && res_ok && q_room;
    wire wq_pop = wq_v && wq_ack;
    always @(posedge clk) begin
        if (go) u_drain_run <= u_drain;
        if (rst || pass_start) begin
            pend <= 1'b0; dbusy <= 1'b0; cap <= 2'd0; nneg <= 16'd0; ds <= 1'b0;
        end else begin
            nneg <= last_d ? 16'd0 : nneg + {14'd0, nneg_c};
            if (last_d) begin
                if (pl0_d) corrh <= nneg + {14'd0, nneg_c};
                else corr <= nneg + {14'd0, nneg_c};
            end
            if (cap != 2'd0) cap <= cap - 1'b1;
            if (last_c && u_drain_run) begin pend <= 1'b1; cap <= 2'd2; end
            if (dstart) begin
                pend <= 1'b0; dbusy <= 1'b1; dr <= 8'd0; dxc <= 8'd0; dm <= 16'd0;
                dmrow <= 16'd0; dq_row <= x_q[ds]; dslot_row <= 16'd0;
                dncx <= (x_xv[ds] + RS - 1) / RS;
            end else if (dbusy) begin
                if (dxc + 8'd1 == dncx) begin
                    dxc <= 8'd0; dr <= dr + 8'd1;
                    dm <= dmrow + c_twdr; dmrow <= dmrow + c_twdr;
                    dq_row <= dq_row + c_wpro[QW-1:0]; dslot_row <= dslot_row + c_wpt;
                    if (dr + 8'd1 == x_thu[ds]) begin dbusy <= 1'b0; ds <= ~ds; end
                end else begin
                    dxc <= dxc + 8'd1; dm <= dm + 16'd1;
                end
            end
        end
    end
    always @(posedge clk) begin
        if (rst || pass_start) qres <= {(QAW+1){1'b0}};
        else qres <= qres + ((dstart && !c_out) ? nsub[QAW:0] : {(QAW+1){1'b0}})
                          - (wq_pop ? {{QAW{1'b0}}, 1'b1} : {(QAW+1){1'b0}});
    end

    // ---------------------------------------------------------------- drain pipeline
    // a: read shadows / residual (drain cycle) -> b: sign correction, planes combined ->
    // R1 | Rs (B + 2) -> sum -> R2 (B + 2) -> assembly.  Metadata rides along.
    reg a_v, a_first, a_end, a_ulast;
    reg [RS-1:0] a_ok;
    reg [2:0] a_px;
    reg [QW-1:0] a_q;
    reg [15:0] a_l;
    reg [RS*VWL-1:0] a_sh, a_hs;
    reg [RS*EC-1:0] a_res;
    wire [8*EC-1:0] rword = rslot[(ds ? NRSLOT : 0) + dslot_row + {13'd0, x0[7:3]}];
    // the drained group dm (RS shadows) and the residual codes at x0[2:0]: word arrays
    // indexed by the counters (no multiplied bit offsets: plain multiplexers)
    wire [RS*VWL-1:0] shg [0:ND-1];
    wire [RS*VWL-1:0] hsg [0:ND-1];
    wire [EC-1:0] rcode [0:7];
    genvar gq;
    generate
        for (gq = 0; gq < ND; gq = gq + 1) begin : g_shg
            assign shg[gq] = shadow[gq*RS*VWL +: RS*VWL];
            assign hsg[gq] = hshadow[gq*RS*VWL +: RS*VWL];
        end
        for (gq = 0; gq < 8; gq = gq + 1) begin : g_rc
            assign rcode[gq] = rword[gq*EC +: EC];
        end
    endgenerate
    wire [RS*VWL-1:0] sh_sel = shg[dm[$clog2(ND > 1 ? ND : 2)-1:0]];
    wire [RS*VWL-1:0] hs_sel = hsg[dm[$clog2(ND > 1 ? ND : 2)-1:0]];
    always @(posedge clk) begin
        a_v <= rst ? 1'b0 : dbusy;
        a_first <= dbusy && dr == 8'd0 && dxc == 8'd0;
        a_end <= (x0[2:0] + RS == 8) || (dxc + 8'd1 == dncx);
        a_ulast <= dlast;
        a_px <= x0[2:0];
        a_q <= dq_row + {{(QW-5){1'b0}}, x0[7:3]};
        a_l <= x_l[ds];
        a_sh <= sh_sel;
        a_hs <= hs_sel;
        for (i = 0; i < RS; i = i + 1) begin
            a_ok[i] <= (x0 + i < x_xv[ds]);
            a_res[i*EC +: EC] <= rcode[(x0[2:0] + i) & 7];
        end
    end
    // b: v = sh - M * N (+ (hs - M * Nh) * 2^XW with two planes)
    // VX: VW, at least the 16 bits of corr / out_min (no zero-width replication when VW < 16:
    // the arithmetic is modulo 2^VW either way)
    localparam integer VX = (VW > 16) ? VW : 16;
    wire [VX-1:0] corr_x = corr, corrh_x = corrh;
    wire [VX-1:0] mcorr_x = (corr_x << XW) - corr_x;
    wire [VX-1:0] mcorrh_x = (corrh_x << XW) - corrh_x;
    wire signed [VW-1:0] mcorr = mcorr_x[VW-1:0];
    wire signed [VW-1:0] mcorrh = mcorrh_x[VW-1:0];
    wire signed [15:0] om1_s = c_om1, oms_s = c_oms, om2_s = c_om2;
    wire signed [VX-1:0] om1_x = om1_s, oms_x = oms_s, om2_x = om2_s;   // sign-extended
    reg b_v, b_first, b_end, b_ulast;
    reg [RS-1:0] b_ok;
    reg [2:0] b_px;
    reg [QW-1:0] b_q;
    reg [15:0] b_l;
    reg [RS*VW-1:0] b_x, b_res;
    always @(posedge clk) begin
        b_v <= rst ? 1'b0 : a_v;
        b_first <= a_v && a_first;
        b_end <= a_end; b_ulast <= a_ulast; b_ok <= a_ok; b_px <= a_px; b_q <= a_q;
        b_l <= a_l;
        for (i = 0; i < RS; i = i + 1) begin : g_b
            b_x[i*VW +: VW] <= ({{(VW-VWL){1'b0}}, a_sh[i*VWL +: VWL]} - mcorr)
                + (c_planes ? (({{(VW-VWL){1'b0}}, a_hs[i*VWL +: VWL]} - mcorrh) << XW)
                            : {VW{1'b0}});
            b_res[i*VW +: VW] <= {{(VW-EC){a_res[i*EC + EC - 1]}}, a_res[i*EC +: EC]};
        end
    end
    // requant R1 (on b_x) and Rs (on b_res), same latency; take one cycle ahead
    wire [RS*VW-1:0] y1, ys, y2;
    wire v1, vs, v2;
    reg take12;
    always @(posedge clk) take12 <= dstart;       // a_first is at a in the next cycle
    localparam integer RLAT = B + 2;               // hfn_pl_requant latency
    reg [RLAT+1:0] tkd;
    always @(posedge clk) tkd <= rst ? {(RLAT+2){1'b0}} : {tkd[RLAT:0], a_v && a_first};
    wire take1 = a_v && a_first;                   // b holds the first value next cycle
    wire take2 = tkd[RLAT];                        // sum2 holds it next cycle
    hfn_pl_requant #(.RS(RS), .VW(VW), .N(B), .RQ(RQ0), .HD(HD0), .FILE(FH0), .XFILE(FX0))
        u_r1 (.clk(clk), .rst(rst), .en(c_r1), .levels(c_l1), .tie(c_tie1),
        .out_min(om1_x[VW-1:0]), .ld_start(ld_go[0]),
        .ld_addr(ld_a[0]), .bank_free(bank_free[0]),
        .loaded(loaded[0]), .take(take1 && c_r1), .v_in(b_v), .x(b_x), .v_out(v1), .y(y1));
    hfn_pl_requant #(.RS(RS), .VW(VW), .N(B), .RQ(RQ1), .HD(HD1), .FILE(FH1), .XFILE(FX1))
        u_rs (.clk(clk), .rst(rst), .en(c_rs && c_add), .levels(c_ls), .tie(c_ties),
        .out_min(oms_x[VW-1:0]), .ld_start(ld_go[1]),
        .ld_addr(ld_a[1]), .bank_free(bank_free[1]),
        .loaded(loaded[1]), .take(take1 && c_rs && c_add), .v_in(b_v), .x(b_res), .v_out(vs),
        .y(ys));
    reg [RS*VW-1:0] sum2;
    reg vsum;
    always @(posedge clk) begin
        vsum <= rst ? 1'b0 : v1;
        for (i = 0; i < RS; i = i + 1)
            sum2[i*VW +: VW] <= y1[i*VW +: VW] + (c_add ? ys[i*VW +: VW] : {VW{1'b0}});
    end
    hfn_pl_requant #(.RS(RS), .VW(VW), .N(B), .RQ(RQ2), .HD(HD2), .FILE(FH2), .XFILE(FX2))
        u_r2 (.clk(clk), .rst(rst), .en(c_r2), .levels(c_l2), .tie(c_tie2),
        .out_min(om2_x[VW-1:0]), .ld_start(ld_go[2]),
        .ld_addr(ld_a[2]), .bank_free(bank_free[2]),
        .loaded(loaded[2]), .take(take2 && c_r2), .v_in(vsum), .x(sum2), .v_out(v2), .y(y2));
    // metadata delayed from b to the R2 output: R1 (B + 2) + sum (1) + R2 (B + 2)
    localparam integer MD_LAT = 2 * RLAT + 1;
    localparam integer MDW = 1 + 1 + RS + 3 + QW;
    reg [MDW-1:0] md [0:MD_LAT-1];
    always @(posedge clk) begin
        md[0] <= {b_end, b_ulast, b_ok, b_px, b_q};
        for (i = 1; i < MD_LAT; i = i + 1) md[i] <= md[i-1];
    end
    wire [MDW-1:0] mo = md[MD_LAT-1];
    wire o_end = mo[MDW-1], o_ulast = mo[MDW-2];
    wire [RS-1:0] o_ok = mo[QW+3 +: RS];
    wire [2:0] o_px = mo[QW +: 3];
    wire [QW-1:0] o_q = mo[QW-1:0];
    wire _unused_take = &{1'b0, take12, tkd[RLAT+1], tkd[RLAT-1:0], vs, b_first, x_l[0],
                          x_l[1]};

    // ---------------------------------------------------------------- classifier sums
    reg [VWO-1:0] cls [0:CLS_L-1];
    reg [VWO-1:0] psum;
    always @* begin
        psum = {VWO{1'b0}};
        for (i = 0; i < RS; i = i + 1)
            if (b_ok[i]) psum = psum + {{(VWO-VW){b_x[i*VW + VW - 1]}}, b_x[i*VW +: VW]};
    end
    always @(posedge clk) begin
        if (pass_start && c_out)          // (the engine waits for the output stream)
            for (i = 0; i < CLS_L; i = i + 1) cls[i] <= {VWO{1'b0}};
        else if (b_v && c_out)
            cls[b_l[$clog2(CLS_L+1)-1:0]] <= cls[b_l[$clog2(CLS_L+1)-1:0]] + psum;
    end
    assign cls_q = cls[cls_sel[$clog2(CLS_L+1)-1:0]];

    // ---------------------------------------------------------------- assembly + queue
    reg [8*EC-1:0] asm_r;
    reg [8*EC-1:0] asm_n;
    wire [EC-1:0] y2c [0:RS-1];
    generate
        for (gq = 0; gq < RS; gq = gq + 1) begin : g_y2c
            assign y2c[gq] = y2[gq*VW +: EC];
        end
    endgenerate
    always @* begin
        asm_n = (o_px == 3'd0) ? {8*EC{1'b0}} : asm_r;
        for (i = 0; i < 8; i = i + 1)
            if ((i[2:0] - o_px) < RS && o_ok[(i[2:0] - o_px) & (RS - 1)])
                asm_n[i*EC +: EC] = y2c[(i[2:0] - o_px) & (RS - 1)];
    end
    wire push = v2 && o_end && !c_out;
    localparam integer QEW = 1 + QW + 8 * EC;
    reg [QEW-1:0] qmem [0:QD-1];
    reg [QAW-1:0] qwp, qrp;
    reg [QAW:0] qcount;
    always @(posedge clk) begin
        if (v2) asm_r <= asm_n;
        if (push) qmem[qwp] <= {o_ulast, o_q, asm_n};
        if (rst || pass_start) begin
            qwp <= {QAW{1'b0}}; qrp <= {QAW{1'b0}}; qcount <= {(QAW+1){1'b0}};
        end else begin
            if (push) qwp <= qwp + 1'b1;
            if (wq_pop) qrp <= qrp + 1'b1;
            qcount <= qcount + (push ? 1'b1 : 1'b0) - (wq_pop ? 1'b1 : 1'b0);
        end
    end
    wire [QEW-1:0] qh = qmem[qrp];
    assign wq_v = qcount != {(QAW+1){1'b0}};
    assign wq_q = qh[8*EC +: QW];
    assign wq_d = qh[8*EC-1:0];
    // write-back progress (for the fill of the next pass): the unit after the last one
    // whose sub-words all left the queue
    always @(posedge clk) begin
        if (rst || pass_start) begin
            wb_t <= 16'd0; wb_l <= 16'd0;
        end else if (wq_pop && qh[QEW-1]) begin
            if (wb_l + 16'd1 == nch) begin wb_l <= 16'd0; wb_t <= wb_t + 16'd1; end
            else wb_l <= wb_l + 16'd1;
        end
    end

    // ---------------------------------------------------------------- idle
    // values in the drain pipeline: b -> the R2 output (MD_LAT) -> the queue push
    reg [MD_LAT+2:0] pipe_v;
    always @(posedge clk) pipe_v <= rst ? 0 : {pipe_v[MD_LAT+1:0], dbusy | a_v | b_v};
    assign idle = !running && (ph == 3'd0 || ph == 3'd4) && (ucnt == nu || nu == 16'd0)
                  && !tile_pend && !pend && !dbusy && pipe_v == 0 && qcount == 0
                  && !pf_busy && !ld_busy;
endmodule
`default_nettype wire
