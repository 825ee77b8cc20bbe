// hfn_eltwise.h -- residual add, pooling and buffer copies (docs/arithmetic.md).
#ifndef HFN_ELTWISE_H
#define HFN_ELTWISE_H

#include "hfn_requant.h"

namespace hfn {

// Residual addition in the shared integer domain: out = a + b (N elements).
template <int N, class SUM, class TA, class TB, class TO>
void add(const TA a[], const TB b[], TO out[]) {
#pragma HLS INLINE off
ADD:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II = 1
        out[i] = SUM(a[i]) + SUM(b[i]);
    }
}

// Residual addition fused with the requant that consumes the sum.
template <class RQ, class SUM, class TA, class TB, class TO>
void add_rq(const TA a[], const TB b[], TO out[],
            const typename RQ::thr_rom_t thr[RQ::ITERS][RQ::R][RQ::L],
            const typename RQ::dir_rom_t dir[RQ::ITERS][RQ::R], int it) {
#pragma HLS INLINE off
PIXEL:
    for (int p = 0; p < RQ::N; p++) {
    CHANNEL:
        for (int c = 0; c < RQ::C; c++) {
#pragma HLS PIPELINE II = 1
            const int i = p * RQ::C + c;
            const SUM s = SUM(a[i]) + SUM(b[i]);
            out[i] = requant_one<RQ>(s, c, it, thr, dir);
        }
    }
}

// Sum over H*W of each channel: average pooling without the division.
template <int HW, int C, class SUM, class TI, class TO>
void global_sum(const TI in[], TO out[]) {
#pragma HLS INLINE off
    SUM acc[C];
INIT:
    for (int c = 0; c < C; c++) acc[c] = 0;
PIXEL:
    for (int p = 0; p < HW; p++) {
    CHANNEL:
        for (int c = 0; c < C; c++) {
#pragma HLS PIPELINE II = 1
            acc[c] += SUM(in[p * C + c]);
        }
    }
STORE:
    for (int c = 0; c < C; c++) out[c] = acc[c];
}

// Max pooling; padded positions never win.  P: IH, IW, C, OH, OW, K, S, PAD.
template <class P, class TI, class TO>
void maxpool(const TI in[], TO out[]) {
#pragma HLS INLINE off
OUT_ROW:
    for (int oh = 0; oh < P::OH; oh++) {
    OUT_COL:
        for (int ow = 0; ow < P::OW; ow++) {
        CHANNEL:
            for (int c = 0; c < P::C; c++) {
                TI best = 0;
                bool any = false;
            WIN:
                for (int kh = 0; kh < P::K; kh++) {
                    for (int kw = 0; kw < P::K; kw++) {
#pragma HLS PIPELINE II = 1
                        const int ih = oh * P::S + kh - P::PAD;
                        const int iw = ow * P::S + kw - P::PAD;
                        if (ih >= 0 && ih < P::IH && iw >= 0 && iw < P::IW) {
                            const TI v = in[(ih * P::IW + iw) * P::C + c];
                            if (!any || v > best) best = v;
                            any = true;
                        }
                    }
                }
                out[(oh * P::OW + ow) * P::C + c] = best;
            }
        }
    }
}

// Buffer copy: a fold's input into its loop buffer, and each iteration's output back.
template <int N, class TI, class TO>
void copy(const TI in[], TO out[]) {
#pragma HLS INLINE off
COPY:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II = 1
        out[i] = in[i];
    }
}

}  // namespace hfn

#endif
