// The value port of weight source hfn for one pixel-engine stream (docs/rtl.md,
// docs/weight-sources.md): the sign of every kept weight a term emits.
// - state ROM: one 32-bit LFSR start state per unit of the stream's unit lists
//   (lfsr.channel_start_states: the state at output channel co = advance(seed, co*K));
// - walker: from the next unit's start state it leaps along the channel's canonical
//   stream (16, 8, 4, 2, 1 or NS positions per cycle) and writes the state at every
//   segment start m*CI (m = kh*KW + kw) into its bank of the state file;
// - per term an LFSR register: loaded with a segment's state (ev_ld), leapt by 8 per
//   window (ev_lp); the sign of the kept weight at window position q is bit q of the
//   window's 8 bits.  Signs are combinational (latency 0 after the term's emission).
`default_nettype none
module hfn_pl_src_hfn #(
    parameter integer SAW = 8,          // state ROM address width
    parameter integer SD = 256,         // state ROM depth
    parameter integer NS = 0,           // an extra leap length (the stem's CI), 0: none
    parameter integer CIW = 10,         // width of CI
    parameter FILE = "state.mem"
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            pass_start,  // bank reset
    input  wire            k1,          // 1x1 pass: one segment per unit
    input  wire [CIW-1:0]  ci,          // segment length
    input  wire [1:0]      nkh,         // KH - 1
    input  wire [SAW-1:0]  st_addr,     // the next unit's state (read one cycle ahead)
    input  wire            w_start,     // walk the unit whose state st_addr named
    input  wire            go,          // a unit starts (the state banks swap)
    output reg             wready,      // the walked unit's states are complete
    input  wire [2:0]      ev_ld,       // per term: load segment state ...
    input  wire [5:0]      ev_seg,      // ... of kernel row ev_seg ...
    input  wire [2:0]      ev_next,     // ... of the next unit (else the current one)
    input  wire [2:0]      ev_lp,       // per term: leap 8
    input  wire [8:0]      q,           // per term: emitted window position
    output wire [2:0]      sgn          // per term: the weight is negative
);
    // ---------------------------------------------------------------- state ROM
    reg [31:0] rom [0:SD-1];
    initial $readmemh(FILE, rom);
    reg [31:0] st0;
    always @(posedge clk) st0 <= rom[st_addr];

    // ---------------------------------------------------------------- walker
    reg [31:0] s;
    reg [CIW-1:0] d;           // positions left in the current segment
    reg [3:0] m, mlast;        // segment being walked, last segment index
    reg busy, we;
    reg [3:0] widx;
    reg [31:0] wdata;
    wire [15:0] bits16;
    wire [32*17-1:0] ch16;
    hfn_pl_leap #(.P(16)) u_leap16 (.state(s), .bits(bits16), .chain(ch16));
    wire [CIW-1:0] ns_c = NS;
    reg [4:0] stp;
    always @* begin
        if (NS != 0 && d == ns_c) stp = NS[4:0];
        else if (d >= 16) stp = 5'd16;
        else if (d >= 8) stp = 5'd8;
        else if (d >= 4) stp = 5'd4;
        else if (d >= 2) stp = 5'd2;
        else stp = 5'd1;
    end
    wire [31:0] nxt = ch16[32*stp +: 32];
    wire seg_done = (d == {{(CIW-5){1'b0}}, stp});
    always @(posedge clk) begin
        we <= 1'b0;
        if (rst) begin
            busy <= 1'b0; wready <= 1'b0;
        end else if (w_start) begin
            s <= st0; d <= ci; m <= 4'd0; busy <= 1'b1; wready <= 1'b0;
            mlast <= k1 ? 4'd0 : {2'b0, nkh} * 4'd3 + 4'd2;
            we <= 1'b1; widx <= 4'd0; wdata <= st0;
        end else if (busy && mlast == 4'd0) begin   // 1x1: one segment, written above
            busy <= 1'b0; wready <= 1'b1;
        end else if (busy) begin
            s <= nxt;
            d <= seg_done ? ci : d - {{(CIW-5){1'b0}}, stp};
            if (seg_done) begin
                we <= 1'b1; widx <= m + 1'b1; wdata <= nxt; m <= m + 1'b1;
                if (m + 1'b1 == mlast) begin
                    busy <= 1'b0; wready <= 1'b1;
                end
            end
        end
    end
    // ---------------------------------------------------------------- state file
    reg nb;                               // bank of the next unit
    reg [31:0] sfile [0:31];              // {bank, segment index}
    always @(posedge clk) begin
        if (rst || pass_start) nb <= 1'b0;
        else if (go) nb <= ~nb;
        if (we) sfile[{nb, widx}] <= wdata;
    end
    // ---------------------------------------------------------------- term LFSRs
    genvar k;
    generate
        for (k = 0; k < 3; k = k + 1) begin : g_t
            reg [31:0] lfsr;
            wire [7:0] b8;
            wire [32*9-1:0] c8;
            hfn_pl_leap #(.P(8)) u_l8 (.state(lfsr), .bits(b8), .chain(c8));
            wire [1:0] sg = ev_seg[2*k +: 2];
            wire [3:0] idx = k1 ? 4'd0 : {sg, 1'b0} + {2'b0, sg} + k;
            wire [31:0] sq = sfile[{ev_next[k] ? nb : ~nb, idx}];
            always @(posedge clk) begin
                if (ev_ld[k]) lfsr <= sq;
                else if (ev_lp[k]) lfsr <= c8[32*8 +: 32];
            end
            assign sgn[k] = b8[q[3*k +: 3]];
        end
    endgenerate
    wire _unused = &{1'b0, bits16};
endmodule
`default_nettype wire
