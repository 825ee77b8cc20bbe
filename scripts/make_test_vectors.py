#!/usr/bin/env python3
"""Write test_vectors/lfsr.json: the LFSR, seed and mask-packing vectors that the Python,
C++ and Verilog implementations all check themselves against (docs/weight-generation.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from hfn_hls import lfsr
from hfn_hls import mask as maskpack


def vectors() -> dict:
    model_seed = 2021
    seeds = [lfsr.derive_seed(model_seed, i) for i in range(8)]
    streams = []
    for s in [1, 0xACE1, 0xDEADBEEF, seeds[0], seeds[1]]:
        steps = {str(n): lfsr.advance(s, n) for n in [1, 2, 31, 32, 33, 100, 1000, 65536, 10**9]}
        streams.append({"seed": s, "bits": "".join(map(str, lfsr.bits(s, 256))),
                        "state_after": steps})
    leap = []
    for p in [1, 2, 4, 8, 16, 64]:
        b, nxt = lfsr.leap(seeds[2], p)
        leap.append({"seed": seeds[2], "p": p, "bits": "".join(map(str, b)), "next": nxt})
    co, k = 6, 3 * 3 * 5
    chan = [int(v) for v in lfsr.channel_start_states(seeds[3], co, k)]
    rng = np.random.default_rng(7)
    m = (rng.random((3, 3, 3, 2)) < 0.3).astype(np.uint8)
    return {
        "polynomial": "x^32 + x^22 + x^2 + x + 1",
        "feedback_mask": lfsr.FEEDBACK,
        "sign_of_bit": {"0": 1, "1": -1},
        "seeds": {"model_seed": model_seed, "layer_seeds": seeds},
        "streams": streams,
        "leap": leap,
        "channel_states": {"seed": seeds[3], "out_channels": co, "per_channel": k,
                           "states": chan},
        "mask_packing": {"shape_ohwi": list(m.shape), "bits": "".join(map(str, m.reshape(-1))),
                         "hex": maskpack.pack(m), "words8": maskpack.words(m, 8),
                         "words32": maskpack.words(m, 32)},
    }


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(__file__).resolve().parent.parent / "test_vectors" / "lfsr.json"
    out.write_text(json.dumps(vectors(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
