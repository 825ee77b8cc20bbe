"""Parallelism of the compute engine: P_out output-channel lanes × P_in kernel lanes.

``--lanes N`` (total MAC lanes, a power of two) or ``--lanes PxQ`` (P_out x P_in).  P_in
lanes take consecutive weights of one output channel's stream along the flattened kernel
``K = kh*kw*ci`` (leap-forward LFSR); P_out lanes take consecutive output channels, each
from its own start state (docs/weight-generation.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import HfnError

DEFAULT = "16"


@dataclass(frozen=True)
class Lanes:
    p_out: int
    p_in: int

    @property
    def total(self) -> int:
        return self.p_out * self.p_in

    def __str__(self) -> str:
        return f"{self.p_out}x{self.p_in}"


def parse_lanes(text: str) -> Lanes:
    """'64' -> 8x8, '256' -> 16x16, '128' -> 8x16, '4x8' -> 4x8."""
    try:
        if "x" in text:
            a, b = (int(v) for v in text.lower().split("x"))
        else:
            n = int(text)
            if n < 1 or n & (n - 1):
                raise ValueError
            e = n.bit_length() - 1
            a, b = 1 << (e // 2), 1 << (e - e // 2)
        if a < 1 or b < 1:
            raise ValueError
    except ValueError:
        raise HfnError(f"--lanes {text}", "not a lane count",
                       "give a power of two (e.g. 64) or P_OUTxP_IN (e.g. 8x8)") from None
    return Lanes(a, b)
