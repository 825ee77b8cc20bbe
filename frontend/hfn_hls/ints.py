"""Integer helpers every weight source and ROM writer shares: one rounding-up division and
one way to keep signed 8-bit integers in JSON (two's-complement bytes as lower-case hex),
used by the stored weights, the RPG ring and the SMH factors."""
from __future__ import annotations

import numpy as np


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def encode(values) -> str:
    """Integers in [-128, 127] -> hex, one two's-complement byte each, row-major."""
    return np.asarray(values, dtype=np.int64).astype(np.int8).reshape(-1).tobytes().hex()


def decode(hexstr: str, shape=None) -> np.ndarray:
    """Inverse of ``encode``: int64, flat or in ``shape`` (ValueError if the count differs)."""
    raw = np.frombuffer(bytes.fromhex(hexstr), dtype=np.int8).astype(np.int64)
    if shape is None:
        return raw
    n = int(np.prod(shape))
    if raw.size != n:
        raise ValueError(f"{raw.size} entries, the shape {list(shape)} has {n}")
    return raw.reshape(tuple(shape))
