#!/usr/bin/env python3
"""Write test_vectors/smh.json: SMH factor matrices, layer slices and the integer weights
they make (docs/weight-generation.md, "source: smh").  The Python golden
(hfn_hls.weights.smh) and the C++ generator (hls_templates/hfn_wgen_smh.h) both check
themselves against this file (tests/test_smh.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from hfn_hls.weights import smh


def vectors() -> dict:
    rng = np.random.default_rng(12)
    cases = []
    for n, r, lb, rb, wbits, shapes in [
            (7, 3, 8, 8, 8, [[2, 3, 3, 1], [3, 1, 1, 4], [1, 3, 3, 1]]),
            (15, 5, 8, 8, 8, [[4, 3, 3, 3], [5, 1, 1, 4], [2, 3, 3, 4]]),
            (9, 1, 4, 6, 4, [[3, 3, 3, 2], [2, 1, 1, 5]]),
            (20, 20, 8, 8, 8, [[8, 3, 3, 4], [6, 1, 1, 8]])]:
        limL, limR = (1 << (lb - 1)) - 1, (1 << (rb - 1)) - 1
        L = rng.integers(-limL, limL + 1, (n, r))
        R = rng.integers(-limR, limR + 1, (r, n))
        L[0, 0], R[0, 0] = limL, -limR                    # extremes present
        store = {"kind": "smh", "n": n, "rank": r, "l_bits": lb, "r_bits": rb,
                 "wbits": wbits, "L": smh.encode(L), "R": smh.encode(R)}
        layers, off = [], 0
        for i, shape in enumerate(shapes):
            size = int(np.prod(shape))
            acc = smh.slice_acc(L, R, off, size)
            shift = smh.layer_shift(acc, wbits) + (1 if i == 1 else 0)  # one odd shift
            w = smh.requant(acc, shift, wbits)
            layers.append({"shape": shape, "offset": off, "shift": shift,
                           "acc": [int(a) for a in acc], "weights": [int(v) for v in w]})
            off += size + (3 if i == 0 else 0)              # a gap: slices need not touch
        cases.append({"store": store, "layers": layers})
    rq = []
    for acc, shift, wbits in [(5, 1, 8), (-5, 1, 8), (6, 2, 8), (-6, 2, 8), (-2, 2, 8),
                              (2, 2, 8), (1000, 2, 8), (-1000, 2, 8), (127, 0, 8),
                              (-128, 0, 8), (7, 0, 4), (-8, 0, 4), (3, 1, 2), (-3, 1, 2)]:
        rq.append({"acc": acc, "shift": shift, "wbits": wbits,
                   "w": int(smh.requant(np.array([acc]), shift, wbits)[0])})
    return {"format": "hfn-test-vectors-smh", "version": 1, "cases": cases, "requant": rq}


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else \
        Path(__file__).resolve().parents[1] / "test_vectors" / "smh.json"
    out.write_text(json.dumps(vectors(), indent=1, sort_keys=True) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
