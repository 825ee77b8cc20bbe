// hfn_axis.h -- the AXI4-Stream edges of the top (docs/interfaces.md).
// In: one beat per pixel, C 8-bit codes (channel 0 in bits 7:0), TLAST on the last pixel.
// Out: one beat per output code (two's complement int32), TLAST on the last.
#ifndef HFN_AXIS_H
#define HFN_AXIS_H

#include "hfn_types.h"

namespace hfn {

template <int PIXELS, int C, class TO>
void read_image(hls::stream<ap_axiu<8 * C, 0, 0, 0> > &s_axis, TO out[]) {
#pragma HLS INLINE off
READ:
    for (int p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_axiu<8 * C, 0, 0, 0> beat = s_axis.read();
    UNPACK:
        for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
            out[p * C + c] = ap_uint<8>(beat.data.range(8 * c + 7, 8 * c));
        }
    }
}

template <int N, class TI>
void write_codes(const TI in[], hls::stream<out_beat_t> &m_axis) {
#pragma HLS INLINE off
WRITE:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II = 1
        out_beat_t beat;
        beat.data = ap_uint<32>(ap_int<32>(in[i]));
        beat.keep = -1;
        beat.strb = -1;
        beat.last = (i == N - 1);
        m_axis.write(beat);
    }
}

}  // namespace hfn

#endif
