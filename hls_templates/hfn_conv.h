// hfn_conv.h -- the convolution pass (docs/hls.md, docs/lowering.md).
// For every output pixel the engine gathers the K = KH*KW*CI input window, then for each
// group of P_OUT output channels asks the weight generator GEN for P_IN weights per lane
// and cycle (KC = ceil(K / P_IN) pipelined cycles) and multiplies-accumulates them (a
// ternary weight, WB = 2, is add / subtract / skip).  The store functor decides what an
// output channel's accumulator becomes: kept, requantised (R1), or requantised, added to
// a residual read pointwise (through Rs) and requantised again (R2).  With ACC_ALL the
// pass is the classifier fused with the global sum before it: a 1x1 convolution that
// accumulates over every pixel of its input (exact: the sum is linear).
//
// Weight generator contract (every source's header, docs/weight-sources.md):
//   GEN::config_t  CONFIG_T with CO, K, KC, P_IN, WB and w_t (hfn::weight<WB>::type)
//   GEN::lane_t    the state of one output lane
//   gen.start(lane, co)      lane begins output channel co
//   gen.next(lane, kc, w)    w[0..P_IN-1] = weights k = kc*P_IN + i of that channel,
//                            called for kc = 0, 1, ..., KC-1 in order (past K: ignored)
#ifndef HFN_CONV_H
#define HFN_CONV_H

#include "hfn_requant.h"

namespace hfn {

// CFG: IH, IW, CI, OH, OW, CO, KH, KW, S, PAD, K, P_OUT, P_IN, KC, ACC_ALL; acc_t.

// One product of the lanes: x * w; for WB = 2 (ternary) add, subtract or skip.
template <int WB>
struct mac_term {
    static int term(int x, int w) { return x * w; }
};
template <>
struct mac_term<2> {
    static int term(int x, int w) {
#pragma HLS INLINE
        const int nz = -(w & 1), neg = -((w >> 1) & 1);   // w in {-1, 0, +1}
        const int v = x & nz;
        return (v ^ neg) - neg;
    }
};

// The input window of output pixel (oh, ow) in canonical order k = (kh*KW + kw)*CI + ci;
// zero padding.
template <class CFG, class TI>
void gather_window(const TI in[], TI win[CFG::K], int oh, int ow) {
#pragma HLS INLINE
    int k = 0;
WIN_KH:
    for (int kh = 0; kh < CFG::KH; kh++) {
    WIN_KW:
        for (int kw = 0; kw < CFG::KW; kw++) {
            const int ih = oh * CFG::S + kh - CFG::PAD;
            const int iw = ow * CFG::S + kw - CFG::PAD;
            const bool inside = ih >= 0 && ih < CFG::IH && iw >= 0 && iw < CFG::IW;
            const int base = (ih * CFG::IW + iw) * CFG::CI;
        WIN_CI:
            for (int ci = 0; ci < CFG::CI; ci++) {
#pragma HLS PIPELINE II = 1
                win[k++] = inside ? in[base + ci] : TI(0);
            }
        }
    }
}

// Accumulators of output channels cg .. cg+P_OUT-1 for one window.
template <class CFG, class GEN, class TI>
void mac_group(const TI win[CFG::K], const GEN &gen, int cg,
               typename CFG::acc_t acc[CFG::P_OUT]) {
#pragma HLS INLINE
    typedef typename GEN::config_t W;
    static_assert(W::P_IN == CFG::P_IN && W::K == CFG::K && W::CO == CFG::CO,
                  "the weight generator does not fit the convolution");
    typename GEN::lane_t lane[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable = lane complete
LOAD:
    for (int po = 0; po < CFG::P_OUT; po++) {
#pragma HLS UNROLL
        if (cg + po < CFG::CO) gen.start(lane[po], cg + po);
        acc[po] = 0;
    }
CHUNK:
    for (int kc = 0; kc < CFG::KC; kc++) {
#pragma HLS PIPELINE II = 1
    LANE_OUT:
        for (int po = 0; po < CFG::P_OUT; po++) {
#pragma HLS UNROLL
            if (cg + po < CFG::CO) {
                // the P_IN products are summed in a native int (|sum| <= P_IN * max|x| *
                // max|w| < 2^31, checked by the writer) and added once into acc_t
                typename W::w_t w[CFG::P_IN];
#pragma HLS ARRAY_PARTITION variable = w complete
                gen.next(lane[po], kc, w);
                int sum = 0;
            LANE_IN:
                for (int pi = 0; pi < CFG::P_IN; pi++) {
#pragma HLS UNROLL
                    const int k = kc * CFG::P_IN + pi;
                    if (k < CFG::K) sum += mac_term<W::WB>::term(int(win[k]), int(w[pi]));
                }
                acc[po] += sum;
            }
        }
    }
}

// The conv pass: output pixel -> window -> group of P_OUT channels -> store(index in
// out[], channel, accumulator); with ACC_ALL the accumulators of every pixel are summed
// and stored once at index co.
template <class CFG, class GEN, class TI, class STORE>
void conv_pass(const TI in[], const GEN &gen, const STORE &store) {
#pragma HLS INLINE off
    TI win[CFG::K];
#pragma HLS ARRAY_PARTITION variable = win cyclic factor = CFG::P_IN
    typename CFG::acc_t acc[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable = acc complete
    typename CFG::acc_t total[CFG::ACC_ALL ? CFG::CO : 1];
    if (CFG::ACC_ALL) {
    CLEAR:
        for (int co = 0; co < CFG::CO; co++) total[co] = 0;
    }
OUT_ROW:
    for (int oh = 0; oh < CFG::OH; oh++) {
    OUT_COL:
        for (int ow = 0; ow < CFG::OW; ow++) {
            gather_window<CFG>(in, win, oh, ow);
            const int base = (oh * CFG::OW + ow) * CFG::CO;
        GROUP:
            for (int cg = 0; cg < CFG::CO; cg += CFG::P_OUT) {
                mac_group<CFG>(win, gen, cg, acc);
            STORE:
                for (int po = 0; po < CFG::P_OUT; po++) {
#pragma HLS UNROLL
                    const int co = cg + po;
                    if (co >= CFG::CO) continue;
                    if (CFG::ACC_ALL)
                        total[CFG::ACC_ALL ? co : 0] += acc[po];
                    else
                        store(base + co, co, acc[po]);
                }
            }
        }
    }
    if (CFG::ACC_ALL) {
    STORE_ALL:
        for (int co = 0; co < CFG::CO; co++) store(co, co, total[co]);
    }
}

// out[i] = f(acc): the accumulator kept (f = ident) or requantised (f = R1).
template <class F, class TO>
struct map_store {
    F f;
    TO *out;
    template <class A>
    void operator()(int i, int c, const A &acc) const {
#pragma HLS INLINE
        out[i] = f(acc, c);
    }
};

template <class TO, class F>
map_store<F, TO> store_to(TO out[], F f) {
    map_store<F, TO> s = {f, out};
    return s;
}

// out[i] = r2(r1(acc) + rs(res[i])) in the residual domain SUM (absent stages: ident).
// res may be out itself (a pass writes over its pointwise residual).
template <class SUM, class F1, class FS, class F2, class TR, class TO>
struct residual_store {
    F1 r1;
    FS rs;
    F2 r2;
    const TR *res;
    TO *out;
    template <class A>
    void operator()(int i, int c, const A &acc) const {
#pragma HLS INLINE
        out[i] = r2(SUM(SUM(r1(acc, c)) + SUM(rs(res[i], c))), c);
    }
};

template <class SUM, class TR, class TO, class F1, class FS, class F2>
residual_store<SUM, F1, FS, F2, TR, TO> store_residual(TO out[], const TR res[], F1 r1, FS rs,
                                                       F2 r2) {
    residual_store<SUM, F1, FS, F2, TR, TO> s = {r1, rs, r2, res, out};
    return s;
}

// store(i, c, acc + bias[c]): a layer's per-channel bias (its weight source's), added to
// the accumulator before the store: once per output pixel, once per channel for ACC_ALL
// (the total).  acc_t holds the sum (ir/ranges.py::accumulator_range includes the bias).
template <class S, class B>
struct bias_store {
    S s;
    const B *bias;
    template <class A>
    void operator()(int i, int c, const A &acc) const {
#pragma HLS INLINE
        s(i, c, A(acc + bias[c]));
    }
};

template <class S, class B>
bias_store<S, B> with_bias(S s, const B bias[]) {
    bias_store<S, B> r = {s, bias};
    return r;
}

}  // namespace hfn

#endif
