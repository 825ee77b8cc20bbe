// Weight generator of source `rpg` (Recurrent Parameter Generators; docs/weight-generation.md
// "source: rpg", docs/weight-sources.md): weight i of a layer (canonical order) is
// ring[(a*i + b) mod N] * sign_i, sign_i from the layer's LFSR stream; nothing per weight
// is stored.  Port contract: hfn_wgen_hfn.v (w valid LATENCY = 1 cycle after issue).
//
// ROMs: the group ROM (one word per output-channel group: P_OUT ring start indices of
// RW bits, P_OUT LFSR start states of 32 bits, the layer's P_IN + 1 lane offsets
// a*i mod N of RW bits, P_OUT bits "the lane has a channel": lanes past the layer's
// channels emit 0) and the ring, banked: bank j holds the entries whose index is
// j mod P_IN (N is a multiple of P_IN, P_IN a power of two).  Output lane o keeps the
// ring index r of its chunk's lane 0 (loaded from the group word on `first`); lane i
// reads index x_i = (r + off_i) mod N.  a is odd, so x_0..x_{P_IN-1} are P_IN different
// banks (x_i mod P_IN = (r + a*i) mod P_IN): each bank is read once per cycle, through
// a P_IN x P_IN crossbar (addresses out, data in).  Each output lane has its own copy of
// the banked ring (P_OUT copies): the P_OUT * P_IN bank ROMs (hfn_rom, registered read,
// files rpg_ring_b<j>.mem) are instantiated by the generated top on ring_addr / ring_q.  The chunk advances r to x_n (n valid lanes) and the
// LFSR by n (hfn_lfsr_leap); lanes i >= n emit 0.
`default_nettype none
module hfn_wgen_rpg #(
    parameter integer P_OUT = 4,
    parameter integer P_IN = 4,
    parameter integer NW = 3,          // width of n (holds 0..P_IN)
    parameter integer CAW = 1,         // chunk address width (unused: no chunk ROM)
    parameter integer GAW = 1,         // group address width (>= clog2(GD))
    parameter integer GD = 2,          // group ROM depth
    parameter integer N = 64,          // ring size (a multiple of P_IN)
    parameter integer RW = 6,          // ring index width (clog2(N))
    parameter integer RB = 8,          // ring entry width = WB
    parameter integer BAW = 4,         // bank address width (clog2(N / P_IN), >= 1)
    parameter GROUP_FILE = ""
) (
    input  wire                       clk,
    input  wire                       issue,
    input  wire                       first,
    input  wire [NW-1:0]              n,
    /* verilator lint_off UNUSEDSIGNAL */   // CAW / GAW fit the deepest generator ROM
    input  wire [CAW-1:0]             chunk,
    input  wire [GAW-1:0]             group,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [P_OUT*P_IN*RB-1:0]   w,
    // the banked ring ROMs (instantiated by the top, one per output lane and bank:
    // bank j holds ring[q*P_IN + j] at address q, registered read)
    output wire [P_OUT*P_IN*BAW-1:0]  ring_addr,
    input  wire [P_OUT*P_IN*RB-1:0]   ring_q
);
    localparam integer LB = (P_IN > 1) ? $clog2(P_IN) : 1;   // bank select width
    localparam integer ND = N / P_IN;                         // bank depth
    localparam integer GWW = (RW + 32) * P_OUT + RW * (P_IN + 1) + P_OUT;
    localparam integer SAW = (GD > 1) ? $clog2(GD) : 1;
    localparam integer SH = (P_IN > 1) ? $clog2(P_IN) : 0;   // log2(P_IN)
    localparam [RW:0] NN = N[RW:0];

    wire [GWW-1:0] g_q;
    hfn_rom #(.W(GWW), .D(GD), .AW(SAW), .FILE(GROUP_FILE)) u_group (
        .clk(clk), .addr(group[SAW-1:0]), .q(g_q));

    genvar o, i, j;
    generate
        for (o = 0; o < P_OUT; o = o + 1) begin : g_lane
            reg  [RW-1:0] r_reg;
            reg  [31:0] lfsr;
            wire [RW-1:0] start = g_q[RW*o +: RW];
            wire on = g_q[GWW - P_OUT + o];          // the lane has a channel in this group
            wire [31:0] st = g_q[RW*P_OUT + 32*o +: 32];
            wire [RW-1:0] r_cur = first ? start : r_reg;
            wire [31:0] cur = first ? st : lfsr;
            wire [P_IN-1:0] bits_c;
            wire [31:0] nxt;
            hfn_lfsr_leap #(.P(P_IN), .NW(NW)) u_leap (.state(cur), .n(n),
                .bits(bits_c), .next(nxt));
            // ring indices of the chunk's lanes 0..P_IN
            wire [RW-1:0] x [0:P_IN];
            for (i = 0; i <= P_IN; i = i + 1) begin : g_idx
                wire [RW:0] s = {1'b0, r_cur} + {1'b0, g_q[(RW + 32)*P_OUT + RW*i +: RW]};
                /* verilator lint_off UNUSEDSIGNAL */   // t < N: the top bit is 0
                wire [RW:0] t = (s >= NN) ? s - NN : s;
                /* verilator lint_on UNUSEDSIGNAL */
                assign x[i] = t[RW-1:0];
            end
            reg [RW-1:0] r_next;
            integer m;
            always @* begin
                r_next = x[P_IN];
                for (m = 1; m < P_IN; m = m + 1)
                    if (n == m[NW-1:0]) r_next = x[m];
            end
            // bank of lane i and its address inside the bank
            wire [LB-1:0] bank_of [0:P_IN-1];
            wire [BAW-1:0] addr_of [0:P_IN-1];
            for (i = 0; i < P_IN; i = i + 1) begin : g_bank
                if (P_IN > 1) begin : g_b
                    assign bank_of[i] = x[i][LB-1:0];
                end else begin : g_b1
                    assign bank_of[i] = 1'b0;
                end
                if (ND > 1) begin : g_a                 // x / P_IN: RW - SH = BAW bits
                    assign addr_of[i] = x[i][RW-1:SH];
                end else begin : g_a1
                    assign addr_of[i] = {BAW{1'b0}};
                end
            end
            // crossbar: bank j takes the address of the lane that reads it
            wire [RB-1:0] bank_q [0:P_IN-1];
            for (j = 0; j < P_IN; j = j + 1) begin : g_rom
                reg [BAW-1:0] a_j;
                integer k;
                always @* begin
                    a_j = {BAW{1'b0}};
                    for (k = 0; k < P_IN; k = k + 1)
                        if (bank_of[k] == j[LB-1:0]) a_j = addr_of[k];
                end
                // bank j of this output lane: one read per cycle
                assign ring_addr[(o*P_IN + j)*BAW +: BAW] = a_j;
                assign bank_q[j] = ring_q[(o*P_IN + j)*RB +: RB];
            end
            reg [LB-1:0] sel [0:P_IN-1];
            reg [P_IN-1:0] sign, valid;
            always @(posedge clk) if (issue) begin
                r_reg <= r_next;
                lfsr <= nxt;
                sign <= bits_c;
            end
            for (i = 0; i < P_IN; i = i + 1) begin : g_out
                always @(posedge clk) if (issue) begin
                    sel[i] <= bank_of[i];
                    valid[i] <= on && ({{(32-NW){1'b0}}, n} > i);
                end
                wire [RB-1:0] v = bank_q[sel[i]];
                wire [RB-1:0] sv = sign[i] ? (~v + 1'b1) : v;
                assign w[(o*P_IN + i)*RB +: RB] = valid[i] ? sv : {RB{1'b0}};
            end
        end
    endgenerate
endmodule
`default_nettype wire
