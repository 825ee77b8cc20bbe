"""Configuration of the pixel-lane engine (docs/rtl.md, "pixel engine").

``S`` streams; a stream computes one output channel at a time over a tile of ``P``
output pixels with three terms (the kernel columns), so it has ``3·P`` MAC slots and the
engine ``3·P·S`` ("lanes").  ``RS`` values per cycle leave a stream's drain (requant
lanes per stream); ``NCB`` sub-words of 8 pixels are read from or written to a central
buffer per access.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import HfnError

P_CHOICES = (8, 16, 32, 64)
RS_CHOICES = (1, 2, 4, 8)


@dataclass(frozen=True)
class PixelConfig:
    p: int                 # pixel lanes per term (multiple of 8)
    s: int                 # streams
    rs: int = 4            # drained values per cycle per stream (divides 8)
    ncb: int = 4           # central-buffer sub-words (8 px) per access

    @property
    def lanes(self) -> int:
        """MAC slots: 3 terms x P pixels x S streams."""
        return 3 * self.p * self.s

    @property
    def total(self) -> int:          # the name Lanes uses (dense ideal = MACs / total)
        return self.lanes

    def __str__(self) -> str:
        return f"P{self.p}S{self.s}R{self.rs}"

    def to_dict(self) -> dict:
        return {"engine": "pixel", "p": self.p, "s": self.s, "rs": self.rs, "ncb": self.ncb,
                "lanes": self.lanes}

    def check(self) -> None:
        if self.p not in P_CHOICES or self.rs not in RS_CHOICES or self.rs > self.p \
                or self.s < 1 or self.ncb not in (1, 2, 4, 8):
            raise HfnError(f"pixel engine {self}", "P must be one of 8, 16, 32, 64, R one "
                           "of 1, 2, 4, 8 (at most P), S at least 1",
                           "give e.g. P64S4R4 or --lanes N")


_PIX = re.compile(r"^p(\d+)s(\d+)(?:r(\d+))?$", re.I)


def parse_pixel(text: str) -> PixelConfig | None:
    """'P64S4' or 'P64S4R4' -> PixelConfig; None if ``text`` is not of that form."""
    m = _PIX.match(text.strip())
    if not m:
        return None
    c = PixelConfig(int(m.group(1)), int(m.group(2)), int(m.group(3) or 4))
    c.check()
    return c
