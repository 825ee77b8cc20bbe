// hfn_eltwise.h -- the passes without a convolution (docs/lowering.md): element-wise
// maps (a requant no conv pass took), residual additions, global sums, max pooling and
// buffer copies.  F is a stage function object f(x, channel) (hfn::rq or hfn::ident).
#ifndef HFN_ELTWISE_H
#define HFN_ELTWISE_H

#include "hfn_requant.h"

namespace hfn {

// out = f(in), N pixels x C channels.
template <int N, int C, class TI, class TO, class F>
void map(const TI in[], TO out[], F f) {
#pragma HLS INLINE off
PIXEL:
    for (int p = 0; p < N; p++) {
    CHANNEL:
        for (int c = 0; c < C; c++) {
#pragma HLS PIPELINE II = 1
            out[p * C + c] = f(in[p * C + c], c);
        }
    }
}

// Residual addition in the shared integer domain, then f: out = f(a + b).
template <int N, int C, class SUM, class TA, class TB, class TO, class F>
void add(const TA a[], const TB b[], TO out[], F f) {
#pragma HLS INLINE off
PIXEL:
    for (int p = 0; p < N; p++) {
    CHANNEL:
        for (int c = 0; c < C; c++) {
#pragma HLS PIPELINE II = 1
            const int i = p * C + c;
            out[i] = f(SUM(SUM(a[i]) + SUM(b[i])), c);
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

// Buffer copy, where a fold cannot run in place (docs/lowering.md).
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
