"""ROM images of the RTL engine's own tables: the layer table and the requant ROMs.
The weight generators' ROMs come from the weight sources (``hfn_hls.weights``).

Layouts (docs/rtl.md):
- requant ROMs: per requant unit u and lane o one word per (requant, set, group); see
  ``RequantImages``;
- table: one word of 32*NF bits per program item;
- bias: one word of P_OUT*VW bits per (conv pass with a bias, group g): the biases of
  channels g*P_OUT + o at bits [o*VW +: VW] (two's complement, 0 past the channels).
"""
from __future__ import annotations

import numpy as np

from ..ir.requant import TIE_NONE, unit_words
from ..lower import Requant
from ..ints import ceil_div

NF0 = 27
FIELDS = ["TYPE", "ITERS", "SRC", "DST", "RES", "FLAGS", "IH", "IW", "OH", "OW", "KH",
          "KW", "S", "PAD", "NC", "NCO", "NLAST", "G", "KCH", "ROWSTRIDE", "STEPOW",
          "STEPOH", "CBASE", "GBASE", "COUT", "AORIGIN", "BBASE"]
# FLAGS bits: 0 add, 1 output, 2 acc_all, 3 release the input buffer, 7:4 weight source
# (w_sel), 8 max-pool pass, 9 bias, 10 the residual is in the source's buffer
F_POOL, F_BIAS, F_RSRC = 1 << 8, 1 << 9, 1 << 10
# per requant unit (R1, Rs, R2), after the NF0 fields: enable, per-channel rows, tie mode,
# out_min, out_max (= out_min + L), L, ROM address of set 0's group 0, per-set stride
UNIT_FIELDS = ["EN", "PC", "TIE", "OUT_MIN", "OUT_MAX", "LEVELS", "BASE", "STRIDE"]
UF = len(UNIT_FIELDS)
NF = NF0 + 3 * UF
T_CONV, T_LOOP, T_ENDLOOP, T_END = 0, 1, 2, 3


def tree_depth(levels: int) -> int:
    """Bisection depth b for L thresholds: 2**b - 1 >= L, b >= 1."""
    return max(1, int(levels).bit_length())


class RequantImages:
    """ROM contents of one requant unit of P lanes: lane o holds, for every placed
    requant, set and group g, the compact row of channel g·P + o (of row 0 for a row
    shared by all channels), at address ``base + set · groups + g`` — the same address in
    every lane.  Exception points are listed per lane with that address as their key."""

    def __init__(self, p_out: int):
        self.p = p_out
        # (neg, base, step, frac, tie, K, base2, step2): K, base2, step2 as
        # ``Compact.knee_arrays`` gives them (a row without a knee: its lowest input, its
        # own base and step)
        self.cells: list[list] = [[] for _ in range(p_out)]
        self.exc: list[list] = [[] for _ in range(p_out)]     # (address, x, delta)
        self.placed: dict = {}
        self.requants: list[Requant] = []

    def place(self, r: Requant) -> dict:
        """Append a requant's sets; returns its table fields."""
        if r.name in self.placed:
            return self.placed[r.name]
        groups = ceil_div(r.channels, self.p) if r.per_channel else 1
        base = len(self.cells[0])
        exc: dict = {}
        for k, row, x, d in r.exceptions:
            exc.setdefault((k, row), []).append((x, d))
        kx, b2, s2 = r.knee_arrays()
        for k in range(r.iterations):
            for gi in range(groups):
                addr = base + k * groups + gi
                for o in range(self.p):
                    ch = gi * self.p + o if r.per_channel else 0
                    if ch >= r.rows:                     # a lane without a channel
                        self.cells[o].append(None)
                        continue
                    self.cells[o].append((int(r.neg[k, ch]), int(r.base[k, ch]),
                                          int(r.step[k, ch]), r.frac, r.tie, int(kx[k, ch]),
                                          int(b2[k, ch]), int(s2[k, ch])))
                    self.exc[o] += [(addr, x, d) for x, d in exc.get((k, ch), [])]
        f = {"EN": 1, "PC": int(r.per_channel), "TIE": r.tie, "OUT_MIN": r.out_min,
             "OUT_MAX": r.out_min + r.levels, "LEVELS": r.levels, "BASE": base,
             "STRIDE": groups}
        self.placed[r.name] = f
        self.requants.append(r)
        return f

    @property
    def frac(self) -> int:
        return max([r.frac for r in self.requants] + [0])

    @property
    def ties(self) -> bool:
        return any(r.tie != TIE_NONE for r in self.requants)

    @property
    def knees(self) -> bool:
        return any(r.has_knees for r in self.requants)

    def words(self, stages: int, frac_unit: int) -> list[list[tuple]]:
        """Per lane ``(neg, A, S, K, A2, S2)`` of every cell as a unit of ``stages``
        stages and ``frac_unit`` fraction bits stores it (``ir.requant.unit_words``, for
        both segments; the knee fields are stored only by a unit with knees); zeros where
        a lane has no channel."""
        out = []
        for cells in self.cells:
            lane = []
            for c in cells:
                if c is None:
                    lane.append((0, 0, 0, 0, 0, 0))
                    continue
                neg, b, s, frac, tie, kx, b2, s2 = c
                a, su = unit_words(np.int64(b), np.int64(s), frac, tie, stages, frac_unit)
                a2, su2 = unit_words(np.int64(b2), np.int64(s2), frac, tie, stages, frac_unit)
                lane.append((neg, int(a), int(su), kx, int(a2), int(su2)))
            out.append(lane)
        return out

    @staticmethod
    def pack(word: tuple, aw: int, sw: int, xw: int, knee: int) -> int:
        """The ROM word ``{[K, S2, A2,] neg, S, A}`` of a ``words`` entry (rtl/hfn_requant.v)."""
        neg, a, s, kx, a2, s2 = word
        w = (neg << (aw + sw)) | ((s & ((1 << sw) - 1)) << aw) | (a & ((1 << aw) - 1))
        if knee:
            hi = ((kx & ((1 << xw) - 1)) << (aw + sw)) | ((s2 & ((1 << sw) - 1)) << aw) | \
                (a2 & ((1 << aw) - 1))
            w |= hi << (aw + sw + 1)
        return w


def row_words(cells: list[tuple], aw: int, sw: int, xw: int = 0, knee: int = 0) -> list[int]:
    """ROM words ``{[K, S2, A2,] neg, S, A}`` (A: ``aw`` bits two's complement, S: ``sw``
    bits, K: ``xw`` bits, only in a unit with knees) of one lane's cells
    (``RequantImages.words``); the one packer of both engines."""
    return [RequantImages.pack(c, aw, sw, xw, knee) for c in cells]


def hex_lines(words: list[int], width: int) -> str:
    digits = max(1, ceil_div(width, 4))
    mask = (1 << width) - 1
    return "".join(f"{w & mask:0{digits}x}\n" for w in words)


def bias_words(bias, p_out: int, vw: int) -> list[int]:
    """A pass's bias ROM words: one per output-channel group (see the module docstring)."""
    words = []
    for g in range(ceil_div(len(bias), p_out)):
        w = 0
        for o in range(p_out):
            c = g * p_out + o
            if c < len(bias):
                w |= (int(bias[c]) & ((1 << vw) - 1)) << (vw * o)
        words.append(w)
    return words
