// Requantisation of one stream's drain (pixel engine, docs/rtl.md), one op (R1, Rs or
// R2): RS lanes share the thresholds of the drained unit's output channel.
//
// STAND-IN (issue 13.4 replaces it by the compact requantisation unit behind the same
// ports): per unit, the channel's L ascending thresholds T' and the flag neg (the
// Program's Requant form, docs/lowering.md) are loaded from this stream's ROM (NT per
// cycle) into a bank of 2^B - 1 entries (entries >= L hold the largest value), and each
// lane runs a B-stage binary search c = #{j : x >= T'_j}, y = out_min + (neg ? L - c : c).
// Stage t compares with level t of the search tree (2^t entries); those levels are
// copied from the bank as the unit's first value reaches each stage, so the bank may be
// reloaded B cycles after `take` while the unit's values are still in the pipeline.
// With en = 0 the lanes pass x through.  Latency B + 1 from x to y.
`default_nettype none
module hfn_pl_requant #(
    parameter integer RS = 4,          // lanes
    parameter integer VW = 18,         // value width (signed)
    parameter integer TW = 12,         // threshold width (signed)
    parameter integer B = 5,           // search stages (2^B - 1 >= L)
    parameter integer NT = 2,          // thresholds per ROM word
    parameter integer HAW = 8,         // ROM address width
    parameter integer HD = 256,        // ROM depth
    parameter FILE = "thr.mem"
) (
    input  wire              clk,
    input  wire              rst,
    input  wire              en,          // the pass has this op
    input  wire [8:0]        levels,      // L
    input  wire [VW-1:0]     out_min,
    // bank loading
    input  wire              ld_start,    // load the row at ld_addr (bank_free)
    input  wire [HAW-1:0]    ld_addr,
    input  wire [8:0]        ld_words,    // ROM words of a row: ceil(L / NT)
    output wire              bank_free,   // a load may start
    output reg               loaded,      // the bank holds a row not yet taken
    // lanes
    input  wire              take,        // the unit's first value enters next cycle
    input  wire              v_in,
    input  wire [RS*VW-1:0]  x,
    output reg               v_out,
    output reg  [RS*VW-1:0]  y
);
    localparam integer E = (1 << B) - 1;
    localparam integer WW = NT * TW + 1;
    localparam [TW-1:0] TMAX = {1'b0, {(TW-1){1'b1}}};
    // ---------------------------------------------------------------- ROM + loader
    reg [WW-1:0] rom [0:HD-1];
    initial $readmemh(FILE, rom);
    reg [WW-1:0] rq;
    reg [HAW-1:0] ptr;
    reg [8:0] wcnt, wi;
    reg busy, wv;
    reg [B-1:0] tk;                       // take, delayed: stage t copies at tk[t]
    always @(posedge clk) rq <= rom[ptr];
    reg [TW-1:0] bank [0:E-1];
    reg nbank;
    integer e, j;
    always @(posedge clk) begin
        wv <= 1'b0;
        if (rst) begin
            busy <= 1'b0; loaded <= 1'b0;
        end else if (ld_start) begin
            busy <= 1'b1; ptr <= ld_addr; wcnt <= 9'd0; loaded <= 1'b0;
            for (e = 0; e < E; e = e + 1) bank[e] <= TMAX;
        end else begin
            if (busy) begin
                ptr <= ptr + 1'b1; wcnt <= wcnt + 1'b1; wv <= 1'b1; wi <= wcnt;
                if (wcnt + 1'b1 == ld_words) busy <= 1'b0;
            end
            if (wv) begin
                for (j = 0; j < NT; j = j + 1)
                    if (wi * NT + j < E && wi * NT + j < levels)
                        bank[wi * NT + j] <= rq[j*TW +: TW];
                if (wi == 9'd0) nbank <= rq[NT*TW];
                if (!busy) loaded <= 1'b1;
            end
            if (take) loaded <= 1'b0;
        end
    end
    wire [B-1:0] take_v = {{(B-1){1'b0}}, take};
    always @(posedge clk) tk <= rst ? {B{1'b0}} : (tk << 1) | take_v;
    assign bank_free = !busy && !wv && !loaded && !take && (tk == {B{1'b0}});
    // ---------------------------------------------------------------- search lanes
    localparam integer XWID = (VW > TW ? VW : TW) + 1;
    reg [TW-1:0] cp [0:E-1];               // level t at cp[2^t - 1 + k]
    reg cneg;
    reg [B:0] vd;
    integer t, k;
    always @(posedge clk) begin
        for (t = 0; t < B; t = t + 1)
            if (t == 0 ? take : tk[(t > 0 ? t : 1) - 1])
                for (k = 0; k < (1 << t); k = k + 1)
                    cp[(1 << t) - 1 + k] <= bank[k * (1 << (B - t)) + (1 << (B - 1 - t)) - 1];
        if (tk[B-1]) cneg <= nbank;
    end
    // level t must hold the unit's thresholds in the cycle its first value is at stage t:
    // level 0 loads at `take`, level t at take delayed by t (tk[t-1]), neg at tk[B-1].
    genvar r;
    generate
        for (r = 0; r < RS; r = r + 1) begin : g_lane
            reg signed [XWID-1:0] xs [0:B];
            reg [B:0] cs [0:B];
            reg [VW-1:0] xin [0:B];
            always @* begin
                xs[0] = {{(XWID-VW){x[r*VW + VW - 1]}}, x[r*VW +: VW]};
                cs[0] = {(B+1){1'b0}};
                xin[0] = x[r*VW +: VW];
            end
            genvar st;
            for (st = 0; st < B; st = st + 1) begin : g_st
                localparam integer BB = B - 1 - st;
                wire [B:0] kk = cs[st] >> (BB + 1);
                wire [TW-1:0] tv = cp[(1 << st) - 1 + kk];
                wire signed [XWID-1:0] ts = {{(XWID-TW){tv[TW-1]}}, tv};
                reg signed [XWID-1:0] xr;
                reg [B:0] cr;
                reg [VW-1:0] xir;
                always @(posedge clk) begin
                    xr <= xs[st];
                    xir <= xin[st];
                    cr <= (xs[st] >= ts) ? cs[st] + (1 << BB) : cs[st];
                end
                always @* begin
                    xs[st + 1] = xr; cs[st + 1] = cr; xin[st + 1] = xir;
                end
            end
            wire [VW-1:0] c_ext = {{(VW-B-1){1'b0}}, cs[B]};
            wire [VW-1:0] lv = {{(VW-9){1'b0}}, levels};
            always @(posedge clk)
                y[r*VW +: VW] <= !en ? xin[B] : out_min + (cneg ? lv - c_ext : c_ext);
        end
    endgenerate
    always @(posedge clk) begin
        vd <= rst ? {(B+1){1'b0}} : {vd[B-1:0], v_in};
        v_out <= vd[B-1];
    end
endmodule
`default_nettype wire
