// hfn_requant.h -- compact requantisation (docs/arithmetic.md, "Compact requantisation").
//   y = OUT_MIN + (neg ? L - c : c),   c = #{ j < L : x >= T_j } (+ an exception's delta)
// A row stores no thresholds: its base B and step S (FRAC fraction bits) regenerate them,
//   T_j = ceil((B + j*S + tie_j) / 2^FRAC),  tie_j = 1 on even j (TIE 1) / odd j (TIE 2),
// ascending on x itself (a decreasing channel is stored with neg = 1, docs/lowering.md).
// The count is found by a fixed-depth bisection (DEPTH = bit length of L probes), each
// probe value computed by shift-and-add from the previous one: no multiplier, no
// threshold ROM.  Exceptions: (iteration, row, x, delta) where the count is delta off the
// compact count (none in the presets' models).  A row with a knee K (hfn::rq_knee) has a
// second base and step for x >= K: two affine segments (a LeakyReLU before the
// quantiser).  The ROMs are indexed by the iteration `it` of a folded stage (ITERS sets;
// 1 outside folds) and by the row (R = C per-channel rows, or R = 1 shared by all
// channels).
#ifndef HFN_REQUANT_H
#define HFN_REQUANT_H

#include "hfn_types.h"

namespace hfn {

// The bisection's datapath, W bits signed: ap_int<W> in synthesis, a native 64-bit
// integer in C simulation (the same values: W <= 64 is checked by the writer).
template <int W>
struct wide {
#ifdef __SYNTHESIS__
    typedef ap_int<W> type;
#else
    typedef long long type;
#endif
};

// RQ: C, ITERS, R, L (levels, may be 0), DEPTH (bit length of L), OUT_MIN, FRAC, TIE,
// NE (exception entries) and NEX (= max(NE, 1), the table's first dimension); e_t (the
// datapath type), out_t; base_rom_t / step_rom_t / dir_rom_t: the C integer types the ROMs
// are declared with (dir: 1 = decreasing, neg above); knee_rom_t for an op with knees.
// The count of one row, given the segment's base b and step s.
template <class RQ, class T>
inline typename RQ::out_t requant_row(T x, int it, int row, typename RQ::e_t b,
                                      typename RQ::e_t s, bool neg,
                                      const int exc[RQ::NEX][4]) {
#pragma HLS INLINE
    typedef typename RQ::e_t e_t;
    // d = V(cnt - 1) - x * 2^FRAC - 1, V(m) = B + m*S: the probe below the count
    e_t d = b - s - (e_t(x) << RQ::FRAC) - 1;
    int cnt = 0;
BISECT:
    for (int k = RQ::DEPTH - 1; k >= 0; k--) {
#pragma HLS UNROLL
        // probe m = cnt + 2^k - 1: odd for k >= 1, even for k = 0 (cnt's low bits are 0);
        // T_m <= x  <=>  V(m) + tie_m <= x * 2^FRAC  <=>  p + tie_m < 0
        const int t = (k == 0) ? (RQ::TIE == 1) : (RQ::TIE == 2);
        const e_t p = d + (s << k);
        if (p + t < 0) {
            d = p;
            cnt += 1 << k;
        }
    }
    if (cnt > RQ::L) cnt = RQ::L;
EXCEPT:
    for (int e = 0; e < RQ::NE; e++) {
#pragma HLS UNROLL
        if (exc[e][0] == it && exc[e][1] == row && exc[e][2] == x) cnt += exc[e][3];
    }
    return typename RQ::out_t(neg ? RQ::OUT_MIN + RQ::L - cnt : RQ::OUT_MIN + cnt);
}

template <class RQ, class T>
inline typename RQ::out_t requant_one(T x, int c, int it,
                                      const typename RQ::base_rom_t base[RQ::ITERS][RQ::R],
                                      const typename RQ::step_rom_t step[RQ::ITERS][RQ::R],
                                      const typename RQ::dir_rom_t dir[RQ::ITERS][RQ::R],
                                      const int exc[RQ::NEX][4]) {
#pragma HLS INLINE
    const int row = (RQ::R == 1) ? 0 : c;
    return requant_row<RQ>(x, it, row, base[it][row], step[it][row], dir[it][row] != 0, exc);
}

// A requant as a function object, f(x, channel): a stage of a pass (R1, Rs, R2).
template <class RQ>
struct rq {
    const typename RQ::base_rom_t (*base)[RQ::R];
    const typename RQ::step_rom_t (*step)[RQ::R];
    const typename RQ::dir_rom_t (*dir)[RQ::R];
    const int (*exc)[4];
    int it;
    template <class T>
    typename RQ::out_t operator()(T x, int c) const {
#pragma HLS INLINE
        return requant_one<RQ>(x, c, it, base, step, dir, exc);
    }
};

// A requant whose rows have a knee (docs/arithmetic.md): inputs x >= KNEE[it][row]
// count with the second segment (BASE2, STEP2); a row without a knee stores KNEE = the
// input's lowest value and its own base and step as the second segment.
template <class RQ>
struct rq_knee {
    const typename RQ::base_rom_t (*base)[RQ::R];
    const typename RQ::step_rom_t (*step)[RQ::R];
    const typename RQ::dir_rom_t (*dir)[RQ::R];
    const int (*exc)[4];
    const typename RQ::knee_rom_t (*knee)[RQ::R];
    const typename RQ::base_rom_t (*base2)[RQ::R];
    const typename RQ::step_rom_t (*step2)[RQ::R];
    int it;
    template <class T>
    typename RQ::out_t operator()(T x, int c) const {
#pragma HLS INLINE
        const int row = (RQ::R == 1) ? 0 : c;
        const bool up = x >= knee[it][row];
        return requant_row<RQ>(x, it, row, up ? base2[it][row] : base[it][row],
                               up ? step2[it][row] : step[it][row], dir[it][row] != 0, exc);
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
