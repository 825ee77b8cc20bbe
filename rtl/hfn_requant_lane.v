// One lane of the compact requantisation unit (docs/arithmetic.md "Compact
// requantisation", docs/rtl.md); hfn_requant.v instantiates P of them.  See hfn_requant.v
// for the algorithm.
`default_nettype none
module hfn_requant_lane #(
    parameter integer N = 4,          // bisection stages (>= 2): up to 2^N - 1 thresholds
    parameter integer XW = 16,        // input width (signed)
    parameter integer FU = 0,         // fraction bits: x is compared as x * 2^FU
    parameter integer EW = 24,        // datapath width (signed)
    parameter integer AW = 16,        // stored A width (signed)
    parameter integer SW = 8,         // stored step width (unsigned)
    parameter integer OW = 10,        // output width (signed)
    parameter integer KW = 8,         // exception key width (the row's ROM address)
    parameter integer NE = 0,         // exception entries (0: none)
    parameter integer DW = 2,         // exception delta width (signed)
    parameter integer TIES = 1,       // 0: no op of this unit has a tie mode (tie = 0)
    parameter integer KNEE = 0,       // 1: rows have a knee {K, S2, A2} above {neg, S, A}
    parameter integer NEX = (NE > 0) ? NE : 1,
    parameter integer EXW = 1 + KW + XW + DW,
    parameter integer QW = AW + SW + 1 + ((KNEE != 0) ? XW + AW + SW : 0)   // word width
) (
    input  wire                 clk,
    input  wire [XW-1:0]        x,        // cycle 0
    input  wire [KW-1:0]        key,      // cycle 0
    input  wire [QW-1:0]        word,     // cycle 1: {[K, S2, A2,] neg, S, A}
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [1:0]           tie,      // per op: 0 none, 1 +1 on even j, 2 +1 on odd j
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [N-1:0]         levels,   // per op: L
    input  wire [OW-1:0]        out_min,  // per op
    input  wire [OW-1:0]        out_max,  // per op: out_min + L
    /* verilator lint_off UNUSEDSIGNAL */ // constant entries; unused when NE = 0
    input  wire [NEX*EXW-1:0]   exc,      // {valid, key, x, delta} per entry
    /* verilator lint_on UNUSEDSIGNAL */
    output reg  [OW-1:0]        y         // cycle N + 2
);
    // ---- exception points: at most one entry matches (key, x); its delta travels along
    reg [DW-1:0] dl [0:N];
    reg [DW-1:0] hit;
    integer i;
    always @* begin
        hit = {DW{1'b0}};
        for (i = 0; i < NE; i = i + 1)
            if (exc[i*EXW + EXW - 1] && exc[i*EXW + DW + XW +: KW] == key &&
                    exc[i*EXW + DW +: XW] == x)
                hit = hit | exc[i*EXW +: DW];
    end

    // ---- cycle 1: E = A - x * 2^FU, (A, S) of the row's segment: (A2, S2) where x >= K
    reg  signed [XW-1:0] x1;
    wire signed [AW-1:0] a_w;
    wire [SW-1:0]        s_w;
    generate
        if (KNEE != 0) begin : g_knee
            wire signed [XW-1:0] kx = word[2*(AW+SW)+1 +: XW];
            wire up = x1 >= kx;
            assign a_w = up ? word[AW+SW+1 +: AW] : word[AW-1:0];
            assign s_w = up ? word[2*AW+SW+1 +: SW] : word[AW +: SW];
        end else begin : g_noknee
            assign a_w = word[AW-1:0];
            assign s_w = word[AW +: SW];
        end
    endgenerate
    wire signed [EW-1:0] xs = {{(EW-XW){x1[XW-1]}}, x1} <<< FU;
    reg  signed [EW-1:0] e  [0:N-1];
    reg  [SW-1:0]        s  [0:N-1];
    reg                  ng [0:N-1];
    reg  [N-1:0]         cb [0:N-1];  // decided count bits (bits above the stage's)
    always @(posedge clk) begin
        x1 <= x;
        dl[0] <= hit;
        for (i = 1; i <= N; i = i + 1) dl[i] <= dl[i-1];
        e[N-1] <= {{(EW-AW){a_w[AW-1]}}, a_w} - xs;
        s[N-1] <= s_w;
        ng[N-1] <= word[AW+SW];
        cb[N-1] <= {N{1'b0}};
    end

    // ---- stages N-1 .. 1: bit k = sign of E; E +/- S * 2^(k-1) (non-restoring)
    genvar k;
    generate
        for (k = N - 1; k >= 1; k = k - 1) begin : g_stage
            // the low k-1 bits of S * 2^(k-1) are 0: only bits k-1 and up change;
            // one adder: E + (acc ? S : ~S + 1), S aligned at bit k-1
            localparam integer HW = EW - (k - 1);
            wire acc = e[k][EW-1];
            wire [HW-1:0] d = {{(HW-SW){1'b0}}, s[k]};
            wire [HW-1:0] eh = e[k][EW-1:k-1];
            wire [HW-1:0] sh = eh + (d ^ {HW{!acc}}) + {{(HW-1){1'b0}}, !acc};
            wire [EW-1:0] en;
            if (k > 1) begin : g_low
                assign en = {sh, e[k][k-2:0]};
            end else begin : g_nolow
                assign en = sh;
            end
            always @(posedge clk) begin
                e[k-1] <= en;
                s[k-1] <= s[k];
                ng[k-1] <= ng[k];
                cb[k-1] <= cb[k] | ({{(N-1){1'b0}}, acc} << k);
            end
        end
    endgenerate

    // ---- stage 0 (an even probe: kappa) and the output
    wire [EW-1:0] e0 = e[0];
    wire acc0;
    generate
        if (TIES != 0) begin : g_tie
            wire all0 = (e0 == {EW{1'b0}}), all1 = (e0 == {EW{1'b1}});
            assign acc0 = (tie == 2'd1) ? (e0[EW-1] && !all1)    // E + 1 < 0
                        : (tie == 2'd2) ? (e0[EW-1] || all0)     // E - 1 < 0
                        : e0[EW-1];
        end else begin : g_notie
            assign acc0 = e0[EW-1];
        end
    endgenerate
    wire [N-1:0] cv = cb[0] | {{(N-1){1'b0}}, acc0};
    wire [N-1:0] cm = (cv > levels) ? levels : cv;
    wire [OW-1:0] c;
    generate
        if (NE > 0) begin : g_exc
            assign c = {{(OW-N){1'b0}}, cm} + {{(OW-DW){dl[N][DW-1]}}, dl[N]};
        end else begin : g_noexc
            assign c = {{(OW-N){1'b0}}, cm};
        end
    endgenerate
    // y = out_min + c, or out_max - c = out_max + ~c + 1 for a decreasing row: one adder
    always @(posedge clk)
        y <= (ng[0] ? out_max : out_min) + (c ^ {OW{ng[0]}}) + {{(OW-1){1'b0}}, ng[0]};
endmodule

`default_nettype wire
