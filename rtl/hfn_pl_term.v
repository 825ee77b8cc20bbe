// One term of a pixel-engine stream (docs/rtl.md): kernel column kw of the stream's
// current unit (output channel x tile).  It walks the kernel rows (segments of CI
// canonical positions) of its column in windows of 8 schedule bits and emits at most one
// kept weight per cycle: the lowest set bit q of the window, input channel ci = 8*j + q
// of kernel row seg.  A window with no kept weight costs one cycle.  The schedule ROM
// holds the term's windows in the order it consumes them (unit after unit, the unit list
// again for every tile), so its address is a counter; the next window is always
// prefetched (m_addr looks one ahead).  The value of an emitted weight comes from the
// weight source's value port (hfn: hfn_pl_src_hfn.v), driven by this term's events:
// ev_ld (a segment starts: load the state of segment ev_seg of the current or, with
// ev_next, the next unit), ev_lp (the window advances by 8 positions) and q.
`default_nettype none
module hfn_pl_term #(
    parameter integer MAW = 10,        // schedule ROM address width
    parameter integer NWW = 4          // window counter width
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            act,        // term active in this pass (1x1: term 0 only)
    input  wire [NWW-1:0]  nw,         // windows per segment - 1
    input  wire [1:0]      nseg,       // segments per unit - 1 (KH - 1)
    input  wire [MAW-1:0]  tbase,      // first window of the pass
    input  wire [MAW-1:0]  tend,       // last window of the stream's unit list
    input  wire            load,       // pass start: fetch the first window (2 cycles)
    input  wire            go,         // the stream starts the next unit
    input  wire            hold,       // stream stall: no emission, no step
    input  wire            wready,     // the value source has the next unit's states
    output wire [MAW-1:0]  m_addr,
    input  wire [7:0]      m_q,
    output wire            emit,       // a kept weight this cycle ...
    output wire [2:0]      q,          // ... at position q of the window
    output wire [NWW+2:0]  ci,         // ... input channel
    output wire [1:0]      seg,        // ... kernel row
    output wire            fin,        // the unit is done after this cycle (or idle)
    output wire            ev_ld,      // value port: load segment state ...
    output wire [1:0]      ev_seg,     // ... of this segment
    output wire            ev_next,    // ... of the next unit (else the current)
    output wire            ev_lp       // value port: leap 8 positions
);
    reg run, ld1, need;
    reg [7:0] win;
    reg [NWW-1:0] wcnt;
    reg [1:0] sg;
    reg [MAW-1:0] mptr;

    // lowest set bit of the window
    reg [2:0] qq;
    integer i;
    always @* begin
        qq = 3'd0;
        for (i = 7; i >= 0; i = i - 1)
            if (win[i]) qq = i[2:0];
    end
    wire has = |win;
    // the window without its lowest set bit: bit i stays iff a lower bit is set
    wire [7:0] rest;
    genvar gi;
    generate
        for (gi = 0; gi < 8; gi = gi + 1) begin : g_rest
            if (gi == 0) begin : g0
                assign rest[0] = 1'b0;
            end else begin : gn
                assign rest[gi] = win[gi] && (|win[gi-1:0]);
            end
        end
    endgenerate
    wire adv = !has || (rest == 8'd0);          // this window is done after this cycle
    wire seg_end = (wcnt == nw);
    wire ch_end = seg_end && (sg == nseg);
    wire live = run && !hold;
    // finishing the unit needs the next unit's segment-0 state (else wait, window empty)
    wire step = live && adv && !(ch_end && !wready);
    wire wake = need && wready;       // the unit ended while the source was busy
    wire [MAW-1:0] mnext = (mptr == tend) ? tbase : mptr + 1'b1;

    assign emit = live && act && has;
    assign q = qq;
    assign ci = {wcnt, qq};
    assign seg = sg;
    assign fin = !act || !run || (adv && ch_end);
    assign ev_ld = ld1 || ((step || wake) && seg_end);
    assign ev_seg = (ld1 || ch_end) ? 2'd0 : sg + 2'd1;
    assign ev_next = ld1 || ch_end;
    assign ev_lp = (step || wake) && !seg_end && !ld1;
    assign m_addr = load ? tbase : (ld1 || step || wake) ? mnext : mptr;

    always @(posedge clk) begin
        ld1 <= load;
        if (rst) begin
            run <= 1'b0;
            win <= 8'd0;
            need <= 1'b0;
            wcnt <= {NWW{1'b0}};
            sg <= 2'd0;
            mptr <= {MAW{1'b0}};
        end else if (load) begin
            run <= 1'b0;
            need <= 1'b0;
            mptr <= tbase;
        end else if (ld1) begin           // the first window of the pass arrives
            win <= m_q; wcnt <= {NWW{1'b0}}; sg <= 2'd0; mptr <= mnext;
        end else begin
            if (step || wake) begin
                need <= 1'b0;
                win <= m_q;
                mptr <= mnext;
                if (!seg_end) begin
                    wcnt <= wcnt + 1'b1;
                end else begin
                    wcnt <= {NWW{1'b0}}; sg <= ch_end ? 2'd0 : sg + 2'd1;
                end
            end else if (live) begin
                win <= adv ? 8'd0 : rest;     // (adv here: unit done, source not ready)
                if (adv) need <= 1'b1;
            end
            if (go) run <= 1'b1;
            else if (live && adv && ch_end) run <= 1'b0;
        end
    end
endmodule
`default_nettype wire
