// hfn_wgen_stored.h -- the weight generator of source `stored` (docs/weight-sources.md):
// the weights are kept in a ROM W[CO][KC][P_IN] (native int8_t words, values of WB bits):
// W[co][kc][i] = weight k = kc*P_IN + i of output channel co in canonical order
// [kh][kw][ci] (docs/weight-generation.md), 0 past K.  next() reads one row of P_IN.
//
// CONFIG_T (the contract every generator's config follows): CO, K, KC, P_IN, WB,
// w_t = hfn::weight<WB>::type; for stored also rom_t, the C type of the ROM's words.
#ifndef HFN_WGEN_STORED_H
#define HFN_WGEN_STORED_H

#include "hfn_types.h"

namespace hfn {

template <class CONFIG_T>
struct wgen_stored {
    typedef CONFIG_T config_t;
    struct lane_t {
        int co;
    };
    const typename CONFIG_T::rom_t (*rom)[CONFIG_T::KC][CONFIG_T::P_IN];   // W[CO][KC][P_IN]

    void start(lane_t &lane, int co) const {
#pragma HLS INLINE
        lane.co = co;
    }

    void next(lane_t &lane, int kc, typename CONFIG_T::w_t w[CONFIG_T::P_IN]) const {
#pragma HLS INLINE
    READ:
        for (int i = 0; i < CONFIG_T::P_IN; i++) {
#pragma HLS UNROLL
            w[i] = rom[lane.co][kc][i];
        }
    }
};

}  // namespace hfn

#endif
