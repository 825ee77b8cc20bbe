// hfn_mask.h -- the supermask ROM reader (docs/weight-generation.md, docs/hls.md).
// A layer's mask ROM holds, per output channel co, KC = ceil(K / P_IN) words of P_IN bits
// in canonical order: bit i of word kc is the mask bit of weight k = kc*P_IN + i of that
// channel (weight index co*K + k of the layer's stream).  Bits past K are 0.
#ifndef HFN_MASK_H
#define HFN_MASK_H

#include "hfn_types.h"

namespace hfn {

// Word kc of output channel co: P_IN mask bits for the P_IN lanes of one cycle.
// The ROM holds each word in the narrowest C integer type (mask_rom_t) so that large ROM
// initialisers compile quickly (an ap_uint initialiser of 100k words takes g++ minutes);
// mask_word returns it as exactly P_IN bits.  The engine (hfn_conv.h) reads the native
// word and tests bit pi directly, which is the same ROM access.
template <class CFG>
inline typename CFG::mask_word_t mask_word(const typename CFG::mask_rom_t rom[CFG::CO][CFG::KC],
                                           int co, int kc) {
#pragma HLS INLINE
    return typename CFG::mask_word_t(rom[co][kc]);
}

}  // namespace hfn

#endif
