// hfn_types.h -- common types of the HFN HLS library (docs/hls.md).
// Arbitrary-precision types come from the vendor (Vitis HLS) or, for g++ C simulation,
// from the ap_types headers that the hls4ml package ships; this repository copies none.
#ifndef HFN_TYPES_H
#define HFN_TYPES_H

#include "ap_int.h"
#include "hls_stream.h"
#include <stdint.h>

// ap_axiu: Vitis HLS defines it in ap_axi_sdata.h.  hls4ml's ap_types do not ship that
// header, so for g++ C simulation we declare the same fields (data/keep/strb/last; the
// user/id/dest fields of width 0 do not exist on the ports either).
#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define HFN_HAVE_VENDOR_AXIS 1
#endif
#endif

#ifndef HFN_HAVE_VENDOR_AXIS
template <int D, int U, int TI, int TD>
struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};
#endif

namespace hfn {

// The LFSR state and the output word of the m_axis stream.
// The LFSR state is exactly 32 bits, so the native uint32_t is its exact-width type (and
// keeps C simulation fast); the start-state ROMs hold the same type.
typedef uint32_t lfsr_t;
typedef uint32_t lfsr_rom_t;
typedef ap_axiu<32, 0, 0, 0> out_beat_t;

// A weight of WB bits (the generators' w_t): ap_int<WB> in synthesis, where the width
// matters; a native int in C simulation, where it runs several times faster.  The values
// are the same (a source's weights always fit WB bits).
template <int WB>
struct weight {
#ifdef __SYNTHESIS__
    typedef ap_int<WB> type;
#else
    typedef int type;
#endif
};

// Ceiling of log2(n + 1): how many bisection steps count n sorted thresholds.
template <int N>
struct bisect_depth {
    static const int value = 1 + bisect_depth<N / 2>::value;
};
template <>
struct bisect_depth<0> {
    static const int value = 0;
};

}  // namespace hfn

#endif
