// hfn.h -- the HFN HLS library: include this one header (docs/hls.md).  The weight
// generators' headers (hfn_wgen_<source>.h) are included by parameters.h, for the
// sources a network uses.
#ifndef HFN_H
#define HFN_H

#include "hfn_types.h"
#include "hfn_lfsr.h"
#include "hfn_requant.h"
#include "hfn_conv.h"
#include "hfn_eltwise.h"
#include "hfn_axis.h"

#endif
