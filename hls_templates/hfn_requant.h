// hfn_requant.h -- requantisation by thresholds (docs/arithmetic.md).
//   y = OUT_MIN + (neg ? L - c : c),   c = #{ j : x >= T_j }
// The thresholds of a row are ascending and clipped into [lo, hi + 1] of the input range;
// a decreasing channel (negative BatchNorm gamma) is stored as T_j = 1 - T'_{L-1-j} with
// neg = 1 (docs/lowering.md), so x itself is compared.  The count is found by a
// fixed-depth bisection (DEPTH = bit length of L comparisons) instead of L comparators.
// The ROMs are indexed by the iteration `it` of a folded stage (ITERS sets; 1 outside
// folds) and by the row (R = C per-channel rows, or R = 1 shared by all channels).
#ifndef HFN_REQUANT_H
#define HFN_REQUANT_H

#include "hfn_types.h"

namespace hfn {

// RQ: C, ITERS, R, L (levels, may be 0), LD (= max(L, 1), the ROM's last dimension),
// DEPTH, OUT_MIN; thr_t (threshold width TW), out_t; thr_rom_t / dir_rom_t: the C integer
// types the ROMs are declared with (dir: 1 = decreasing, neg above).
template <class RQ, class T>
inline typename RQ::out_t requant_one(T x, int c, int it,
                                      const typename RQ::thr_rom_t thr[RQ::ITERS][RQ::R][RQ::LD],
                                      const typename RQ::dir_rom_t dir[RQ::ITERS][RQ::R]) {
#pragma HLS INLINE
    const int row = (RQ::R == 1) ? 0 : c;
    int idx = 0;
BISECT:
    for (int b = RQ::DEPTH - 1; b >= 0; b--) {
#pragma HLS UNROLL
        const int probe = idx + (1 << b) - 1;
        if (probe < RQ::L && x >= typename RQ::thr_t(thr[it][row][probe])) idx += 1 << b;
    }
    return typename RQ::out_t(dir[it][row] ? RQ::OUT_MIN + RQ::L - idx : RQ::OUT_MIN + idx);
}

// A requant as a function object, f(x, channel): a stage of a pass (R1, Rs, R2).
template <class RQ>
struct rq {
    const typename RQ::thr_rom_t (*thr)[RQ::R][RQ::LD];
    const typename RQ::dir_rom_t (*dir)[RQ::R];
    int it;
    template <class T>
    typename RQ::out_t operator()(T x, int c) const {
#pragma HLS INLINE
        return requant_one<RQ>(x, c, it, thr, dir);
    }
};

// The absent stage: f(x, channel) = x.
struct ident {
    template <class T>
    T operator()(T x, int) const {
#pragma HLS INLINE
        return x;
    }
};

}  // namespace hfn

#endif
