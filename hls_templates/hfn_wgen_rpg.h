// hfn_wgen_rpg.h -- the weight generator of source `rpg` (Recurrent Parameter Generators,
// docs/weight-generation.md "source: rpg", docs/weight-sources.md): weight i of a layer
// (canonical order [co][kh][kw][ci]) is RING[(a*i + b) mod N] * sign_i, sign_i from the
// layer's LFSR stream (hfn_lfsr.h).  Nothing per weight is stored: a lane loads its
// channel's LFSR state STATE[co] and ring index START[co] = (a*co*K + b) mod N; lane i of
// a chunk reads RING[(r + OFF[i]) mod N] (OFF[i] = a*i mod N), and the chunk advances r
// by OFF[P_IN].  N is a multiple of 64 and a is odd, so the P_IN indices of a chunk fall
// in P_IN different banks (index mod P_IN) for any power-of-two P_IN <= 64.
//
// CONFIG_T (the contract every generator's config follows): CO, K, KC, P_IN, WB,
// w_t = hfn::weight<WB>::type; for rpg also N (ring size) and ring_t (the ring's C type).
#ifndef HFN_WGEN_RPG_H
#define HFN_WGEN_RPG_H

#include "hfn_lfsr.h"

namespace hfn {

template <class CONFIG_T>
struct wgen_rpg {
    typedef CONFIG_T config_t;
    struct lane_t {
        lfsr_t state;
        int r;                                   // ring index of the chunk's lane 0
    };
    const typename CONFIG_T::ring_t *ring;       // RING[N], shared by every rpg layer
    const lfsr_rom_t *states;                    // STATE[CO]
    const int *starts;                           // START[CO]
    const int *off;                              // OFF[P_IN + 1]

    void start(lane_t &lane, int co) const {
#pragma HLS INLINE
        lane.state = lfsr_t(states[co]);
        lane.r = starts[co];
    }

    void next(lane_t &lane, int kc, typename CONFIG_T::w_t w[CONFIG_T::P_IN]) const {
#pragma HLS INLINE
    LANES:
        for (int i = 0; i < CONFIG_T::P_IN; i++) {
#pragma HLS UNROLL
            int x = lane.r + off[i];
            if (x >= CONFIG_T::N) x -= CONFIG_T::N;
            const int v = ring[x];
            const int neg = int(lfsr_step(lane.state));          // sign bit 1: -1
            w[i] = neg ? -v : v;
        }
        int r = lane.r + off[CONFIG_T::P_IN];
        if (r >= CONFIG_T::N) r -= CONFIG_T::N;
        lane.r = r;
    }
};

}  // namespace hfn

#endif
