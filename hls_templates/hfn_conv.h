// hfn_conv.h -- the ternary convolution engine with generated weights (docs/hls.md).
// For every output pixel the engine gathers the K = KH*KW*CI input window, then for each
// group of P_OUT output channels: every lane loads its channel's LFSR start state from
// the state ROM, and in KC = ceil(K / P_IN) pipelined cycles leaps its LFSR by P_IN,
// reads one P_IN-bit mask word, and adds, subtracts or skips P_IN inputs.  No weight is
// ever stored: the signs are regenerated for every output pixel.  The classifier is the
// same engine with KH = KW = 1.
#ifndef HFN_CONV_H
#define HFN_CONV_H

#include "hfn_lfsr.h"
#include "hfn_mask.h"
#include "hfn_requant.h"

namespace hfn {

// CFG: IH, IW, CI, OH, OW, CO, KH, KW, S, PAD, K, P_OUT, P_IN, KC; acc_t, mask_word_t
// (ap_uint<P_IN>), mask_rom_t (the C integer type the mask ROM is declared with).

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
template <class CFG, class TI>
void mac_group(const TI win[CFG::K], const typename CFG::mask_rom_t masks[CFG::CO][CFG::KC],
               const lfsr_rom_t states[CFG::CO], int cg, typename CFG::acc_t acc[CFG::P_OUT]) {
#pragma HLS INLINE
    lfsr_t st[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable = st complete
LOAD:
    for (int po = 0; po < CFG::P_OUT; po++) {
#pragma HLS UNROLL
        const int co = cg + po;
        st[po] = co < CFG::CO ? lfsr_t(states[co]) : lfsr_t(1);
        acc[po] = 0;
    }
CHUNK:
    for (int kc = 0; kc < CFG::KC; kc++) {
#pragma HLS PIPELINE II = 1
    LANE_OUT:
        for (int po = 0; po < CFG::P_OUT; po++) {
#pragma HLS UNROLL
            const int co = cg + po;
            if (co < CFG::CO) {
                // leap-forward: the lane's LFSR step unrolled P_IN times (lfsr_leap<P_IN>);
                // the P_IN ternary products are summed in a native int (|sum| <= P_IN *
                // max|x|, far below 2^31) and added once into the exact-width accumulator.
                lfsr_t state = st[po];
                const typename CFG::mask_rom_t keep = masks[co][kc];
                int sum = 0;
            LANE_IN:
                for (int pi = 0; pi < CFG::P_IN; pi++) {
#pragma HLS UNROLL
                    const int k = kc * CFG::P_IN + pi;
                    const int neg = -int(lfsr_step(state));      // sign bit 1: subtract
                    if (k < CFG::K) {
                        const int x = int(win[k]) & -int((keep >> pi) & 1);  // mask 0: skip
                        sum += (x ^ neg) - neg;                   // +x or -x
                    }
                }
                acc[po] += sum;
                st[po] = state;
            }
        }
    }
}

// The loop nest of every convolution: output pixel -> window -> group of P_OUT channels.
// STORE decides what an output channel's accumulator becomes (kept, or requantised):
// store(index in out[], output channel, accumulator).
template <class CFG, class TI, class STORE>
void conv_pixels(const TI in[], const typename CFG::mask_rom_t masks[CFG::CO][CFG::KC],
                 const lfsr_rom_t states[CFG::CO], STORE &store) {
#pragma HLS INLINE
    TI win[CFG::K];
#pragma HLS ARRAY_PARTITION variable = win cyclic factor = CFG::P_IN
    typename CFG::acc_t acc[CFG::P_OUT];
#pragma HLS ARRAY_PARTITION variable = acc complete
OUT_ROW:
    for (int oh = 0; oh < CFG::OH; oh++) {
    OUT_COL:
        for (int ow = 0; ow < CFG::OW; ow++) {
            gather_window<CFG>(in, win, oh, ow);
            const int base = (oh * CFG::OW + ow) * CFG::CO;
        GROUP:
            for (int cg = 0; cg < CFG::CO; cg += CFG::P_OUT) {
                mac_group<CFG>(win, masks, states, cg, acc);
            STORE:
                for (int po = 0; po < CFG::P_OUT; po++) {
#pragma HLS UNROLL
                    const int co = cg + po;
                    if (co < CFG::CO) store(base + co, co, acc[po]);
                }
            }
        }
    }
}

template <class TO>
struct store_acc {
    TO *out;
    template <class A>
    void operator()(int i, int, const A &acc) { out[i] = acc; }
};

template <class RQ, class TO>
struct store_requant {
    TO *out;
    const typename RQ::thr_rom_t (*thr)[RQ::R][RQ::L];
    const typename RQ::dir_rom_t (*dir)[RQ::R];
    int it;
    template <class A>
    void operator()(int i, int co, const A &acc) {
        out[i] = requant_one<RQ>(acc, co, it, thr, dir);
    }
};

// conv -> accumulator tensor (used when the accumulators are themselves needed, e.g.
// the classifier whose accumulators are the network's output codes).
template <class CFG, class TI, class TO>
void conv(const TI in[], TO out[], const typename CFG::mask_rom_t masks[CFG::CO][CFG::KC],
          const lfsr_rom_t states[CFG::CO]) {
#pragma HLS INLINE off
    store_acc<TO> store = {out};
    conv_pixels<CFG>(in, masks, states, store);
}

// conv fused with the requant that consumes its accumulators: the accumulator tensor
// never exists in memory, only P_OUT accumulator registers.
template <class CFG, class RQ, class TI, class TO>
void conv_rq(const TI in[], TO out[], const typename CFG::mask_rom_t masks[CFG::CO][CFG::KC],
             const lfsr_rom_t states[CFG::CO], const typename RQ::thr_rom_t thr[RQ::ITERS][RQ::R][RQ::L],
             const typename RQ::dir_rom_t dir[RQ::ITERS][RQ::R], int it) {
#pragma HLS INLINE off
    store_requant<RQ, TO> store = {out, thr, dir, it};
    conv_pixels<CFG>(in, masks, states, store);
}

}  // namespace hfn

#endif
