// Weight generator of source `smh` (Structured Multi-Hashing; docs/weight-generation.md,
// "source: smh"; docs/weight-sources.md).  Every weight is the dot product of row `row`
// of L (N x RANK) and column `col` of R (RANK x N), 8-bit integers, requantised by the
// layer's shift.  A weight costs RANK multiply-adds, so the generator makes the weights
// of one output-channel group (a tile: P_OUT channels x K kernel positions = KCH chunk
// words) ONCE per group into a tile buffer while the engine waits in its per-group state
// (handshake: `prep` starts a tile, `ready` says it is complete); the engine then reads
// the tile for every output pixel (its loop is group-outer): each weight is made once per
// inference.
//
// Fill: P_OUT x P_IN lanes of U multiply-adds; a chunk word takes JW = ceil(RANK / U)
// cycles, a tile KCH * JW + 3.  Lane (o, i) of chunk t = kpos*NC + c is weight
// W[g*P_OUT + o][kpos][c*P_IN + i] = entry p = p_o + kc + i of L . R, p_o = GOFF + o*K,
// kc = kpos*CI + c*P_IN; 0 for lanes past the layer's channels.  Memories, so that each
// is read at one address per cycle: per output lane o one copy of L split into even and
// odd rows (the P_IN entries of a chunk lie in rows `row` and `row + 1`) and one copy of
// R^T split into P_IN banks by column mod P_IN (N is a multiple of P_IN, so P_IN
// consecutive entries hit P_IN different banks, across a row's end too); words of U
// bytes (positions jw*U .. jw*U + U - 1 of the dot product, 0 past RANK).
// Group ROM (addressed by `group`), 32-bit fields: ROW0, COL0 (of GOFF), KQ, KR (K = KQ*N
// + KR), CI, NC, KCH, OV (valid output lanes), SHIFT.
// Weight rule (docs/arithmetic.md, "SMH weights"):
// w = clamp((acc + 2^(SHIFT-1)) >>> SHIFT, -WMAX, WMAX).
// Read side: the word of chunk t is registered one cycle after its issue (LATENCY 1);
// t counts the issued chunks of an output pixel (`first` restarts it).
`default_nettype none
module hfn_wgen_smh #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,
    parameter integer NW = 3,
    parameter integer CAW = 1,
    parameter integer GAW = 1,
    parameter integer WB = 8,
    parameter integer N = 8,           // the virtual matrix is N x N, N % P_IN == 0
    parameter integer RANK = 2,
    parameter integer U = 1,           // multiply-adds per lane per cycle
    parameter integer WMAX = 127,
    parameter integer GD = 2,          // group ROM depth
    parameter integer TD = 2,          // tile depth: the largest KCH
    parameter MEM = ""                 // folder of smh_le.mem, smh_lo.mem, smh_rt<b>.mem
) (
    input  wire                       clk,
    input  wire                       issue,
    input  wire                       first,
    /* verilator lint_off UNUSEDSIGNAL */   // the tile is read in issue order
    input  wire [NW-1:0]              n,
    input  wire [CAW-1:0]             chunk,
    input  wire [GAW-1:0]             group,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                       prep,     // a group begins: make its tile
    output wire                       ready,    // the tile is complete
    output reg  [P_OUT*P_IN*WB-1:0]   w
);
    localparam integer JW = (RANK + U - 1) / U;          // words per dot product
    localparam integer NE = (N + 2) / 2;                 // even / odd rows (+1 spare)
    localparam integer NB = N / P_IN;                    // R^T rows per bank
    localparam integer GRAW = (GD > 1) ? $clog2(GD) : 1;
    localparam integer TAW = (TD > 1) ? $clog2(TD) : 1;
    localparam integer JAW = (JW > 1) ? $clog2(JW) : 1;
    localparam integer EAW = (NE * JW > 1) ? $clog2(NE * JW) : 1;
    localparam integer BAW = (NB * JW > 1) ? $clog2(NB * JW) : 1;

    reg [P_OUT*P_IN*WB-1:0] tile [0:TD-1];
    reg [1:0] phase;                   // 0 idle, 1 group fields arrive, 2 fill
    reg [TAW-1:0] t_rd;                // the chunk of the pixel last issued
    integer q0;
    initial begin
        for (q0 = 0; q0 < TD; q0 = q0 + 1) tile[q0] = {P_OUT*P_IN*WB{1'b0}};
        w = {P_OUT*P_IN*WB{1'b0}};
        phase = 2'd0;
        t_rd = {TAW{1'b0}};
    end

    wire [32*9-1:0] gq;
    hfn_rom #(.W(32*9), .D(GD), .AW(GRAW), .FILE({MEM, "/smh_group.mem"})) u_group (
        .clk(clk), .addr(group[GRAW-1:0]), .q(gq));
    wire [31:0] g_row0 = gq[0 +: 32], g_col0 = gq[32 +: 32], g_kq = gq[64 +: 32],
        g_kr = gq[96 +: 32];

    // ---------------------------------------------------------------- fill control
    reg [31:0] ci, nc, kch, ov, shift;
    reg [31:0] t, c, kb0, kc;          // chunk, its channel chunk, kpos*CI, kpos*CI + c*P_IN
    reg [JAW-1:0] jw;
    reg run;                           // addresses of (t, jw) issued this cycle
    wire last_jw = ({{(32-JAW){1'b0}}, jw} == JW - 1);
    wire last_t = (t == kch - 1);
    wire [31:0] delta = (c == nc - 1) ? (ci - kc + kb0) : P_IN;   // kc of the next chunk
    // stage d (data from the memories): what was issued one cycle before
    reg v_d, lastjw_d, firstjw_d;
    reg [TAW-1:0] t_d;
    reg [31:0] kcoff_d;                // kc - kb0 of the data's chunk
    assign ready = (phase == 2'd0) && !v_d;

    always @(posedge clk) begin
        v_d <= run; lastjw_d <= last_jw; firstjw_d <= (jw == 0);
        t_d <= t[TAW-1:0]; kcoff_d <= kc - kb0;
        case (phase)
            2'd0: begin run <= 1'b0; if (prep) phase <= 2'd1; end
            2'd1: begin
                ci <= gq[128 +: 32]; nc <= gq[160 +: 32]; kch <= gq[192 +: 32];
                ov <= gq[224 +: 32]; shift <= gq[256 +: 32];
                t <= 0; c <= 0; kb0 <= 0; kc <= 0; jw <= 0;
                run <= 1'b1;
                phase <= 2'd2;
            end
            2'd2: begin
                if (last_jw) begin
                    jw <= 0;
                    if (c == nc - 1) begin
                        c <= 0; kb0 <= kb0 + ci; kc <= kb0 + ci;
                    end else begin
                        c <= c + 1; kc <= kc + P_IN;
                    end
                    t <= t + 1;
                    if (last_t) begin run <= 1'b0; phase <= 2'd0; end
                end else begin
                    jw <= jw + 1'b1;
                end
            end
            default: phase <= 2'd0;
        endcase
    end

    // ---------------------------------------------------------------- per output lane
    wire [P_OUT*P_IN*WB-1:0] word;
    wire [32*P_OUT-1:0] irow, icol;    // row / column of p_o at the group's start
    genvar go, gi;
    generate
        for (go = 0; go < P_OUT; go = go + 1) begin : out_lane
            // row / column of entry p_o + kc (lane i = 0 of the chunk being addressed)
            reg [31:0] rowb, colb;
            wire [31:0] init_row = irow[go*32 +: 32], init_col = icol[go*32 +: 32];
            if (go == 0) begin : first_lane
                assign irow[31:0] = g_row0;
                assign icol[31:0] = g_col0;
            end else begin : next_lane       // p_o = p_(o-1) + K
                wire [31:0] pc = icol[(go-1)*32 +: 32] + g_kr;
                assign icol[go*32 +: 32] = (pc >= N) ? pc - N : pc;
                assign irow[go*32 +: 32] = irow[(go-1)*32 +: 32] + g_kq + ((pc >= N) ? 1 : 0);
            end
            wire [31:0] nxt_c = colb + delta;
            always @(posedge clk) begin
                if (phase == 2'd1) begin
                    rowb <= init_row; colb <= init_col;
                end else if (phase == 2'd2 && last_jw) begin
                    colb <= (nxt_c >= N) ? nxt_c - N : nxt_c;
                    rowb <= rowb + ((nxt_c >= N) ? 1 : 0);
                end
            end
            // L: even and odd rows (the chunk's rows are rowb and rowb + 1)
            reg [8*U-1:0] le [0:NE*JW-1];
            reg [8*U-1:0] lo [0:NE*JW-1];
            reg [8*U-1:0] le_q, lo_q;
            initial begin
                $readmemh({MEM, "/smh_le.mem"}, le);
                $readmemh({MEM, "/smh_lo.mem"}, lo);
            end
            wire [31:0] re = rowb + {31'd0, rowb[0]}, ro = rowb + {31'd0, ~rowb[0]};
            /* verilator lint_off WIDTHTRUNC */
            wire [EAW-1:0] ea = (re >> 1) * JW + jw, oa = (ro >> 1) * JW + jw;
            /* verilator lint_on WIDTHTRUNC */
            /* verilator lint_off WIDTHTRUNC */
            always @(posedge clk) begin
                le_q <= le[ea];
                lo_q <= lo[oa];
            end
            /* verilator lint_on WIDTHTRUNC */
            reg [31:0] rowb_d, colb_d;
            always @(posedge clk) begin rowb_d <= rowb; colb_d <= colb; end
            // R^T banks: bank b holds the columns b, b + P_IN, ...
            wire [8*U*P_IN-1:0] rt_q;
            for (gi = 0; gi < P_IN; gi = gi + 1) begin : bank
                reg [8*U-1:0] rt [0:NB*JW-1];
                reg [8*U-1:0] q;
                if (gi < 10) begin : f1
                    initial $readmemh({MEM, "/smh_rt", 8'd48 + gi, ".mem"}, rt);
                end else begin : f2
                    initial $readmemh({MEM, "/smh_rt", 8'd48 + gi / 10, 8'd48 + gi % 10,
                                       ".mem"}, rt);
                end
                // the lane reading bank b: i = (b - colb) mod P_IN
                // (P_IN is a power of two: % and / are bit selections)
                wire [31:0] ib = (gi + P_IN - colb % P_IN) % P_IN;
                wire [31:0] cb0 = colb + ib;
                wire [31:0] cb = (cb0 >= N) ? cb0 - N : cb0;
                /* verilator lint_off WIDTHTRUNC */
                wire [BAW-1:0] ba = (cb / P_IN) * JW + jw;
                /* verilator lint_on WIDTHTRUNC */
                /* verilator lint_off WIDTHTRUNC */
                always @(posedge clk) q <= rt[ba];
                /* verilator lint_on WIDTHTRUNC */
                assign rt_q[gi*8*U +: 8*U] = q;
            end
            // lane i: data one cycle after its addresses
            for (gi = 0; gi < P_IN; gi = gi + 1) begin : lane
                wire [31:0] c0 = colb_d + gi;
                wire wrap = (c0 >= N);
                wire [31:0] r = rowb_d + (wrap ? 1 : 0);
                wire [31:0] cc = wrap ? c0 - N : c0;
                wire [8*U-1:0] lw = r[0] ? lo_q : le_q;
                wire [8*U-1:0] rw = rt_q[(cc % P_IN)*8*U +: 8*U];
                reg signed [31:0] prod;
                integer u;
                always @(*) begin
                    prod = 32'sd0;
                    for (u = 0; u < U; u = u + 1)
                        prod = prod + $signed(lw[8*u +: 8]) * $signed(rw[8*u +: 8]);
                end
                reg signed [31:0] acc;
                wire signed [31:0] fin = (firstjw_d ? 32'sd0 : acc) + prod;
                always @(posedge clk) if (v_d) acc <= fin;
                wire signed [31:0] rnd = (shift == 0) ? fin
                                       : ((fin + (32'sd1 <<< (shift - 1))) >>> shift);
                wire signed [31:0] cl = (rnd > WMAX) ? WMAX : ((rnd < -WMAX) ? -WMAX : rnd);
                wire valid = (go < ov) && (kcoff_d + gi < ci);
                assign word[(go*P_IN + gi)*WB +: WB] = valid ? cl[WB-1:0] : {WB{1'b0}};
                wire _unused_l = &{1'b0, cl[31:WB], r[31:1], cc};
            end
        end
    endgenerate

    always @(posedge clk) if (v_d && lastjw_d) tile[t_d] <= word;

    // ---------------------------------------------------------------- read side
    wire [TAW-1:0] t_next = first ? {TAW{1'b0}} : t_rd + 1'b1;
    always @(posedge clk) begin
        if (issue) begin
            w <= tile[t_next];
            t_rd <= t_next;
        end
    end
    wire _unused_ok = &{1'b0, t[31:TAW], gq[32*9-1:32*9-1]};
endmodule
`default_nettype wire
