// hfn.h -- the HFN HLS library: include this one header (docs/hls.md).
#ifndef HFN_H
#define HFN_H

#include "hfn_types.h"
#include "hfn_lfsr.h"
#include "hfn_mask.h"
#include "hfn_requant.h"
#include "hfn_conv.h"
#include "hfn_eltwise.h"
#include "hfn_axis.h"

#endif
