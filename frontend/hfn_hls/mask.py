"""Supermask packing: 1 bit per unique weight, in the order the engine consumes it.

Bit i of a layer's mask stream belongs to weight i in canonical order [co][kh][kw][ci]
(the LFSR order).  Bits are packed LSB-first into bytes; the hex form is those bytes in
ascending address order.  See docs/weight-generation.md.
"""
from __future__ import annotations

import numpy as np


def pack(mask_ohwi: np.ndarray) -> str:
    """Pack a {0,1} mask in [co][kh][kw][ci] layout to a hex string."""
    flat = np.asarray(mask_ohwi, dtype=np.uint8).reshape(-1)
    if flat.size and flat.max() > 1:
        raise ValueError("mask must hold only 0 and 1")
    return np.packbits(flat, bitorder="little").tobytes().hex()


def unpack(hexstr: str, shape_ohwi: tuple[int, ...]) -> np.ndarray:
    """Inverse of ``pack``: the {0,1} mask (uint8) in [co][kh][kw][ci] layout."""
    n = int(np.prod(shape_ohwi))
    raw = np.frombuffer(bytes.fromhex(hexstr), dtype=np.uint8)
    if raw.size != (n + 7) // 8:
        raise ValueError(f"mask has {raw.size} bytes, expected {(n + 7) // 8}")
    return np.unpackbits(raw, bitorder="little")[:n].reshape(shape_ohwi)


def words(mask_ohwi: np.ndarray, width: int) -> list[int]:
    """The mask stream as ``width``-bit ROM words (bit i of word j = weight j*width+i)."""
    flat = np.asarray(mask_ohwi, dtype=np.uint8).reshape(-1)
    pad = (-flat.size) % width
    flat = np.concatenate([flat, np.zeros(pad, np.uint8)]).reshape(-1, width)
    out = []
    for row in flat:
        v = 0
        for i, b in enumerate(row):
            v |= int(b) << i
        out.append(v)
    return out
