"""ROM images of the RTL engine's own tables: the layer table and the threshold ROMs.
The weight generators' ROMs come from the weight sources (``hfn_hls.weights``).

Layouts (docs/rtl.md):
- threshold ROMs: per requant unit u, stage s and lane o; see ``ThresholdImages``;
- table: one word of 32*NF bits per program item;
- bias: one word of P_OUT*VW bits per (conv pass with a bias, group g): the biases of
  channels g*P_OUT + o at bits [o*VW +: VW] (two's complement, 0 past the channels).
"""
from __future__ import annotations

from ..lower import Requant

NF0 = 27
FIELDS = ["TYPE", "ITERS", "SRC", "DST", "RES", "FLAGS", "IH", "IW", "OH", "OW", "KH",
          "KW", "S", "PAD", "NC", "NCO", "NLAST", "G", "KCH", "ROWSTRIDE", "STEPOW",
          "STEPOH", "CBASE", "GBASE", "COUT", "AORIGIN", "BBASE"]
# FLAGS bits: 0 add, 1 output, 2 acc_all, 3 release the input buffer, 7:4 weight source
# (w_sel), 8 max-pool pass, 9 bias, 10 the residual is in the source's buffer
F_POOL, F_BIAS, F_RSRC = 1 << 8, 1 << 9, 1 << 10
T_CONV, T_LOOP, T_ENDLOOP, T_END = 0, 1, 2, 3


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def n_fields(stages: int) -> int:
    return NF0 + 3 * (5 + 2 * stages)


def tree_depth(levels: int) -> int:
    """Binary-search depth b for L thresholds: 2**b - 1 >= L, b >= 1."""
    return max(1, int(levels).bit_length())


class ThresholdImages:
    """Threshold ROM contents of one requant unit: mem[s][o] = list of (neg, value)."""

    def __init__(self, stages: int, p_out: int):
        self.b, self.p = stages, p_out
        self.mem = [[[] for _ in range(p_out)] for _ in range(stages)]
        self.placed: dict = {}

    def place(self, r: Requant) -> dict:
        """Append a requant's sets; returns its table fields (s0, bases, strides)."""
        if r.name in self.placed:
            return self.placed[r.name]
        nrows, levels, c, per_channel = r.rows, r.levels, r.channels, r.per_channel
        b = tree_depth(levels)
        s0 = self.b - b
        groups = ceil_div(c, self.p) if per_channel else 1
        bases = [0] * self.b
        strides = [0] * self.b
        for t in range(b):
            s = s0 + t
            bases[s] = len(self.mem[s][0])
            strides[s] = groups << t
        for k in range(r.iterations):
            for gi in range(groups):
                for o in range(self.p):
                    ch = gi * self.p + o if per_channel else 0
                    neg, t = (int(r.neg[k, ch]), [int(v) for v in r.thresholds[k, ch]]) \
                        if ch < nrows else (0, [])
                    pad = t + [r.x.hi + 1] * ((1 << b) - 1 - len(t))
                    for lvl in range(b):
                        for m in range(1 << lvl):
                            v = pad[m * (1 << (b - lvl)) + (1 << (b - 1 - lvl)) - 1]
                            self.mem[s0 + lvl][o].append((neg, v))
        f = {"en": 1, "pc": int(per_channel), "s0": s0, "out_min": r.out_min,
             "levels": levels, "bases": bases, "strides": strides}
        self.placed[r.name] = f
        return f


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
