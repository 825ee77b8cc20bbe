// hfn_wgen_hfn.h -- the weight generator of source `hfn` (docs/weight-sources.md,
// docs/weight-generation.md): w = sign(LFSR) * mask, regenerated for every output pixel;
// no weight is stored.  A lane loads its channel's LFSR start state from the state ROM
// (lfsr.channel_start_states), then each next() leaps the LFSR by P_IN and reads one
// P_IN-bit mask word: bit i of MASK[co][kc] = mask bit of weight k = kc*P_IN + i.
//
// CONFIG_T (the contract every generator's config follows): CO, K, KC, P_IN, WB,
// w_t = hfn::weight<WB>::type;
// for hfn also mask_rom_t, the C integer type of the mask ROM's words.
#ifndef HFN_WGEN_HFN_H
#define HFN_WGEN_HFN_H

#include "hfn_lfsr.h"

namespace hfn {

template <class CONFIG_T>
struct wgen_hfn {
    typedef CONFIG_T config_t;
    struct lane_t {
        lfsr_t state;
        int co;
    };
    const typename CONFIG_T::mask_rom_t (*mask)[CONFIG_T::KC];   // MASK[CO][KC]
    const lfsr_rom_t *states;                                   // STATE[CO]

    void start(lane_t &lane, int co) const {
#pragma HLS INLINE
        lane.co = co;
        lane.state = lfsr_t(states[co]);
    }

    void next(lane_t &lane, int kc, typename CONFIG_T::w_t w[CONFIG_T::P_IN]) const {
#pragma HLS INLINE
        const typename CONFIG_T::mask_rom_t keep = mask[lane.co][kc];
    LEAP:
        for (int i = 0; i < CONFIG_T::P_IN; i++) {
#pragma HLS UNROLL
            const int neg = int(lfsr_step(lane.state));          // sign bit 1: -1
            const int on = int((keep >> i) & 1);                 // mask bit 0: 0
            w[i] = -(on & neg) | on;                             // +1, -1 or 0
        }
    }
};

}  // namespace hfn

#endif
