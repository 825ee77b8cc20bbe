// Weight generator of source `smh` (Structured Multi-Hashing; docs/weight-generation.md,
// "source: smh"; docs/weight-sources.md).  Every weight is a dot product of length RANK
// of a row of L (N x RANK) and a column of R (RANK x N), both 8-bit ROMs shared by all SMH
// layers, requantised by the layer's shift.  Generating a weight costs RANK multiply-adds,
// so the generator makes the weights of one output-channel group (a tile of P_OUT
// channels x K kernel positions = KCH chunk words) ONCE per group into a tile buffer,
// while the engine waits in its per-group state (handshake: `prep` starts a tile,
// `ready` says it is complete), and the engine then reads the tile for every output
// pixel: the engine's loop is group-outer, so each weight is made once per inference.
//
// Tile fill: P_OUT x P_IN multiply-accumulate units of U products each, one per lane of a
// chunk word; a word takes ceil(RANK / U) cycles, a tile KCH * ceil(RANK / U) (+2).  Lane (o, i) of chunk t = kpos*NC + c
// is weight W[g*P_OUT + o][kpos][c*P_IN + i] = entry p = GOFF + o*K + kpos*CI + c*P_IN + i
// of L . R (row p / N, column p % N); 0 for lanes past the layer's channels.
// Group ROM (addressed by `group`): per group, 32-bit fields GOFF, K, CI, NC, KCH, OV
// (valid output lanes), SHIFT.  Weight rule (docs/arithmetic.md, "SMH weights"):
// w = clamp((acc + 2^(SHIFT-1)) >>> SHIFT, -WMAX, WMAX).
// Read side: the word of chunk t is registered one cycle after its issue (LATENCY 1);
// t counts the issued chunks of an output pixel (`first` restarts it), so `chunk` and
// `n` are not needed.
`default_nettype none
module hfn_wgen_smh #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,
    parameter integer NW = 3,
    parameter integer CAW = 1,
    parameter integer GAW = 1,
    parameter integer WB = 8,
    parameter integer N = 8,           // the virtual matrix is N x N
    parameter integer RANK = 2,
    parameter integer WMAX = 127,
    parameter integer U = 1,           // multiply-adds per lane per cycle
    parameter integer GD = 2,          // group ROM depth
    parameter integer TD = 2,          // tile depth: the largest KCH
    parameter FILE_L = "",
    parameter FILE_R = "",
    parameter FILE_G = ""
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
    localparam integer LANES = P_OUT * P_IN;
    localparam integer GRAW = (GD > 1) ? $clog2(GD) : 1;
    localparam integer TAW = (TD > 1) ? $clog2(TD) : 1;
    localparam integer RW = $clog2(RANK + U + 1);

    reg signed [7:0] lrom [0:N*RANK-1];
    reg signed [7:0] rrom [0:RANK*N-1];
    reg [P_OUT*P_IN*WB-1:0] tile [0:TD-1];
    reg [1:0] phase;                   // 0 idle, 1 group fields arrive, 2 fill
    reg [TAW-1:0] t_rd;                // the chunk of the pixel last issued
    integer q0;
    initial begin
        $readmemh(FILE_L, lrom);
        $readmemh(FILE_R, rrom);
        for (q0 = 0; q0 < TD; q0 = q0 + 1) tile[q0] = {P_OUT*P_IN*WB{1'b0}};
        w = {P_OUT*P_IN*WB{1'b0}};
        phase = 2'd0;
        t_rd = {TAW{1'b0}};
    end

    wire [32*7-1:0] gq;
    hfn_rom #(.W(32*7), .D(GD), .AW(GRAW), .FILE(FILE_G)) u_group (
        .clk(clk), .addr(group[GRAW-1:0]), .q(gq));

    // ---------------------------------------------------------------- tile fill
    reg [31:0] goff, kk, ci, nc, kch, ov, shift;
    reg [31:0] t, c, kb0, kc;          // chunk, its channel chunk, kpos*CI, kpos*CI + c*P_IN
    reg [RW-1:0] j;
    reg signed [31:0] acc [0:LANES-1];
    wire [LANES*WB-1:0] word;
    wire [LANES-1:0] unused_hi;
    assign ready = (phase == 2'd0);

    genvar gl;
    generate
        for (gl = 0; gl < LANES; gl = gl + 1) begin : lane
            localparam integer O = gl / P_IN, I = gl % P_IN;
            wire [31:0] p = goff + O * kk + kc + I;
            wire [31:0] row = p / N, col = p % N;
            // U products of this cycle: positions j .. j+U-1 of the dot product
            reg signed [31:0] prod;
            integer u;
            always @(*) begin
                prod = 32'sd0;
                for (u = 0; u < U; u = u + 1)
                    if ({{(32-RW){1'b0}}, j} + u < RANK)
                        /* verilator lint_off WIDTHTRUNC */
                        prod = prod + lrom[row * RANK + {{(32-RW){1'b0}}, j} + u]
                                    * rrom[({{(32-RW){1'b0}}, j} + u) * N + col];
                        /* verilator lint_on WIDTHTRUNC */
            end
            wire signed [31:0] fin = (j == 0 ? 32'sd0 : acc[gl]) + prod;
            wire signed [31:0] rnd = (shift == 0) ? fin
                                   : ((fin + (32'sd1 <<< (shift - 1))) >>> shift);
            wire signed [31:0] cl = (rnd > WMAX) ? WMAX : ((rnd < -WMAX) ? -WMAX : rnd);
            wire valid = (O < ov) && (kc - kb0 + I < ci);
            assign word[gl*WB +: WB] = valid ? cl[WB-1:0] : {WB{1'b0}};
            assign unused_hi[gl] = &{1'b0, cl[31:WB], row[31:0], col[31:0]};
            always @(posedge clk) if (phase == 2'd2) acc[gl] <= fin;
        end
    endgenerate

    always @(posedge clk) begin
        case (phase)
            2'd0: if (prep) phase <= 2'd1;
            2'd1: begin
                goff <= gq[0 +: 32]; kk <= gq[32 +: 32]; ci <= gq[64 +: 32];
                nc <= gq[96 +: 32]; kch <= gq[128 +: 32]; ov <= gq[160 +: 32];
                shift <= gq[192 +: 32];
                t <= 0; c <= 0; kb0 <= 0; kc <= 0; j <= 0;
                phase <= 2'd2;
            end
            2'd2: begin
                if ({{(32-RW){1'b0}}, j} + U >= RANK) begin
                    tile[t[TAW-1:0]] <= word;
                    j <= 0;
                    if (c == nc - 1) begin
                        c <= 0; kb0 <= kb0 + ci; kc <= kb0 + ci;
                    end else begin
                        c <= c + 1; kc <= kc + P_IN;
                    end
                    t <= t + 1;
                    if (t == kch - 1) phase <= 2'd0;
                end else begin
                    j <= j + U[RW-1:0];
                end
            end
            default: phase <= 2'd0;
        endcase
    end

    // ---------------------------------------------------------------- read side
    wire [TAW-1:0] t_next = first ? {TAW{1'b0}} : t_rd + 1'b1;
    always @(posedge clk) begin
        if (issue) begin
            w <= tile[t_next];
            t_rd <= t_next;
        end
    end
    wire _unused_ok = &{1'b0, unused_hi, t[31:TAW]};
endmodule
`default_nettype wire
