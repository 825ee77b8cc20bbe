#!/usr/bin/env python3
"""Write test_vectors/lfsr.json (the LFSR, seed and mask-packing vectors) and
test_vectors/rpg.json (the RPG ring map and signs) that the Python, C++ and Verilog
implementations all check themselves against (docs/weight-generation.md)."""
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


def rpg_vectors() -> dict:
    """Source rpg (docs/weight-generation.md, "source: rpg"): map derivation, a small
    ring and three layers (indices, sign bits, weights, channel starts, lane offsets)."""
    from hfn_hls.weights import rpg

    model_seed, n, bits = 2021, 128, 6
    derive = []
    for idx, size in [(0, 64), (1, 128), (2, 4608), (5, 16896), (7, 1 << 20)]:
        a, b = rpg.derive_map(model_seed, idx, size)
        derive.append({"model_seed": model_seed, "index": idx, "n": size, "a": a, "b": b,
                       "seed": rpg.sign_seed(model_seed, idx)})
    ring = [((i * 37 + 11) % 63) - 31 for i in range(n)]
    layers = []
    for idx, shape in [(0, [3, 3, 3, 5]), (1, [4, 1, 1, 7]), (2, [2, 3, 3, 16])]:
        a, b = rpg.derive_map(model_seed, idx, n)
        seed = rpg.sign_seed(model_seed, idx)
        co, k = shape[0], int(np.prod(shape[1:]))
        w = rpg.make_weights(np.array(ring), a, b, seed, shape)
        sign = lfsr.sign_bits(seed, co, k).reshape(-1)
        layers.append({"index": idx, "shape_ohwi": shape, "a": a, "b": b, "seed": seed,
                       "indices": [int(v) for v in rpg.ring_indices(a, b, n, shape)],
                       "sign_bits": "".join(map(str, sign)),
                       "weights": [int(v) for v in w.reshape(-1)],
                       "starts": [int(v) for v in rpg.start_indices(a, b, n, co, k)],
                       "states": [int(v) for v in lfsr.channel_start_states(seed, co, k)],
                       "offsets": {str(p): rpg.offsets(a, n, p) for p in (1, 4, 8, 16)}})
    return {"align": rpg.ALIGN, "map_salt": rpg.MAP_SALT, "derive": derive,
            "ring": {"n": n, "bits": bits, "narrow": True, "values": ring},
            "model_seed": model_seed, "layers": layers}


def main() -> int:
    here = Path(__file__).resolve().parent.parent / "test_vectors"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "lfsr.json"
    out.write_text(json.dumps(vectors(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
    out = out.parent / "rpg.json"
    out.write_text(json.dumps(rpg_vectors(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
