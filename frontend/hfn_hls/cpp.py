"""C++ text helpers shared by the HLS writer and the weight sources' C++ generators:
exact-width hardware integer types, native ROM types, array initialisers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ir.model import range_bits

ROW = 16   # numbers per line in ROM initialisers


@dataclass(frozen=True)
class CType:
    """An exact-width hardware integer: ap_int<W> or ap_uint<W>."""

    bits: int
    signed: bool

    @property
    def cpp(self) -> str:
        return f"ap_{'' if self.signed else 'u'}int<{self.bits}>"


def ctype(lo: int, hi: int, force_signed: bool = False) -> CType:
    """The narrowest type holding [lo, hi] (signed if lo < 0 or asked for)."""
    if lo < 0 or force_signed:
        return CType(range_bits(min(lo, -1), hi), True)
    return CType(range_bits(lo, hi), False)


def native(lo: int, hi: int) -> tuple[str, int]:
    """The narrowest C integer type holding [lo, hi] and its width: ROMs are declared
    with these so that large initialisers compile fast (docs/hls.md)."""
    for bits in (8, 16, 32, 64):
        if lo < 0 and -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return f"int{bits}_t", bits
        if lo >= 0 and hi < (1 << bits):
            return f"uint{bits}_t", bits
    raise ValueError(f"[{lo}, {hi}] does not fit 64 bits")


def nums(values, fmt: str = "{}") -> str:
    """A one-dimensional C initialiser, ROW numbers per line."""
    vals = [fmt.format(int(v)) for v in np.asarray(values).reshape(-1)]
    lines = [", ".join(vals[i:i + ROW]) for i in range(0, len(vals), ROW)]
    return "{\n    " + ",\n    ".join(lines) + "}" if vals else "{}"


def nested(arr: np.ndarray, fmt: str = "{}") -> str:
    """A C aggregate initialiser for a multi-dimensional array."""
    arr = np.asarray(arr)
    if arr.ndim == 1:
        return nums(arr, fmt)
    return "{" + ",\n".join(nested(a, fmt) for a in arr) + "}"
