// hfn_lfsr.h -- the weight-sign LFSR (docs/weight-generation.md).
// 32-bit Galois LFSR shifting right, feedback 0x80200003; a step emits bit 0 of the state
// (0 -> +1, 1 -> -1) and then updates the state.  lfsr_leap<P> is the step unrolled P
// times: a pure XOR network that emits the next P bits (bit j = step j) in one cycle.
#ifndef HFN_LFSR_H
#define HFN_LFSR_H

#include "hfn_types.h"

namespace hfn {

static const unsigned LFSR_FEEDBACK = 0x80200003u;

// One step: returns the emitted bit (0 or 1), advances the state.
inline lfsr_t lfsr_step(lfsr_t &state) {
#pragma HLS INLINE
    const lfsr_t bit = state & 1u;
    state = (state >> 1) ^ (LFSR_FEEDBACK & (0u - bit));
    return bit;
}

// Leap-forward by P: the P bits a P-lane generator emits in one cycle.
template <int P>
inline ap_uint<P> lfsr_leap(lfsr_t &state) {
#pragma HLS INLINE
    ap_uint<P> bits = 0;
LEAP:
    for (int j = 0; j < P; j++) {
#pragma HLS UNROLL
        bits[j] = ap_uint<1>(lfsr_step(state));
    }
    return bits;
}

}  // namespace hfn

#endif
