// hfn_wgen_smh.h -- the weight generator of source `smh` (Structured Multi-Hashing,
// docs/weight-generation.md, "source: smh"; docs/weight-sources.md).
//
// The layer's weights are the entries OFFSET .. OFFSET + CO*K - 1 of the virtual N x N
// integer matrix L . R (L: N x RANK, R: RANK x N, narrow signed int8 ROMs shared by all
// SMH layers), in canonical order [co][kh][kw][ci]: entry p = (row p / N, column p % N).
// A weight costs RANK multiply-adds, so it is made ONCE per pass (= per inference) by
// smh_fill() into a transient weight buffer BUF[(co*KC + kc)*P_IN + i] (working memory,
// shared by the SMH layers of a network: the largest layer's size), then read like the
// stored source's ROM for every output pixel.
//
// The weight rule (docs/arithmetic.md, "SMH weights"): acc = sum_j L[row][j]*R[j][col]
// exactly (|acc| < 2^31: RANK <= 1024, 8-bit factors), w = clamp((acc + 2^(SHIFT-1))
// >> SHIFT, -WMAX, WMAX) (arithmetic shift: floor, so round half up), w = clamp(acc) for
// SHIFT = 0.
//
// CONFIG_T: CO, K, KC, P_IN, WB, w_t (the generator contract) and N, RANK, OFFSET, SHIFT,
// WMAX; rom_t the buffer's word type.
#ifndef HFN_WGEN_SMH_H
#define HFN_WGEN_SMH_H

#include "hfn_types.h"

namespace hfn {

template <class CONFIG_T>
int smh_weight(const int8_t L[][CONFIG_T::RANK], const int8_t R[][CONFIG_T::N], long p) {
#pragma HLS INLINE
    const int row = int(p / CONFIG_T::N), col = int(p % CONFIG_T::N);
    int acc = 0;
DOT:
    for (int j = 0; j < CONFIG_T::RANK; j++) {
#pragma HLS PIPELINE II = 1
        acc += int(L[row][j]) * int(R[j][col]);
    }
    int w = CONFIG_T::SHIFT == 0 ? acc
                                 : ((acc + (1 << (CONFIG_T::SHIFT > 0 ? CONFIG_T::SHIFT - 1 : 0)))
                                    >> CONFIG_T::SHIFT);
    if (w > CONFIG_T::WMAX) w = CONFIG_T::WMAX;
    if (w < -CONFIG_T::WMAX) w = -CONFIG_T::WMAX;
    return w;
}

// Fill the transient buffer with the layer's CO*KC*P_IN weights (0 past K); returns it.
template <class CONFIG_T>
int8_t *smh_fill(const int8_t L[][CONFIG_T::RANK], const int8_t R[][CONFIG_T::N],
                 int8_t buf[]) {
#pragma HLS INLINE off
FILL_CO:
    for (int co = 0; co < CONFIG_T::CO; co++) {
    FILL_K:
        for (int k = 0; k < CONFIG_T::KC * CONFIG_T::P_IN; k++) {
            const long p = long(CONFIG_T::OFFSET) + long(co) * CONFIG_T::K + k;
            buf[co * CONFIG_T::KC * CONFIG_T::P_IN + k] =
                k < CONFIG_T::K ? int8_t(smh_weight<CONFIG_T>(L, R, p)) : int8_t(0);
        }
    }
    return buf;
}

template <class CONFIG_T>
struct wgen_smh {
    typedef CONFIG_T config_t;
    struct lane_t {
        int co;
    };
    const int8_t *buf;   // BUF[(co*KC + kc)*P_IN + i], filled by smh_fill for this pass

    void start(lane_t &lane, int co) const {
#pragma HLS INLINE
        lane.co = co;
    }

    void next(lane_t &lane, int kc, typename CONFIG_T::w_t w[CONFIG_T::P_IN]) const {
#pragma HLS INLINE
    READ:
        for (int i = 0; i < CONFIG_T::P_IN; i++) {
#pragma HLS UNROLL
            w[i] = buf[(lane.co * CONFIG_T::KC + kc) * CONFIG_T::P_IN + i];
        }
    }
};

}  // namespace hfn

#endif
