// hfn_requant.h -- requantisation by thresholds (docs/arithmetic.md).
//   y = OUT_MIN + #{ j : d_c * x >= T_{c,j} }
// Thresholds of a row are ascending, so the count is found by a fixed-depth bisection
// (DEPTH = ceil(log2(L + 1)) comparisons) instead of L comparators.  The ROMs are indexed
// by the iteration `it` of a folded stage (ITERS sets; 1 outside folds) and by the row
// (R = C per-channel rows, or R = 1 shared by all channels).
#ifndef HFN_REQUANT_H
#define HFN_REQUANT_H

#include "hfn_types.h"

namespace hfn {

// RQ: N, C, ITERS, R, L, DEPTH, OUT_MIN; thr_t (threshold width), val_t (width of d*x),
// out_t; thr_rom_t / dir_rom_t: the C integer types the ROMs are declared with.
template <class RQ, class T>
inline typename RQ::out_t requant_one(T x, int c, int it,
                                      const typename RQ::thr_rom_t thr[RQ::ITERS][RQ::R][RQ::L],
                                      const typename RQ::dir_rom_t dir[RQ::ITERS][RQ::R]) {
#pragma HLS INLINE
    const int row = (RQ::R == 1) ? 0 : c;
    typename RQ::val_t v = x;
    if (dir[it][row]) v = -v;
    int idx = 0;
BISECT:
    for (int b = RQ::DEPTH - 1; b >= 0; b--) {
#pragma HLS UNROLL
        int probe = idx + (1 << b) - 1;
        if (probe < RQ::L && v >= typename RQ::thr_t(thr[it][row][probe])) idx += 1 << b;
    }
    return typename RQ::out_t(RQ::OUT_MIN + idx);
}

// A stand-alone requant op over a tensor of N pixels x C channels.
template <class RQ, class TI, class TO>
void requant(const TI in[], TO out[], const typename RQ::thr_rom_t thr[RQ::ITERS][RQ::R][RQ::L],
             const typename RQ::dir_rom_t dir[RQ::ITERS][RQ::R], int it) {
#pragma HLS INLINE off
PIXEL:
    for (int p = 0; p < RQ::N; p++) {
    CHANNEL:
        for (int c = 0; c < RQ::C; c++) {
#pragma HLS PIPELINE II = 1
            out[p * RQ::C + c] = requant_one<RQ>(in[p * RQ::C + c], c, it, thr, dir);
        }
    }
}

}  // namespace hfn

#endif
