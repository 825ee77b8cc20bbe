"""ROM images of the RTL engine: layer table, mask ROM, LFSR start states, thresholds.

Layouts (docs/rtl.md):
- mask ROM: one word of P_OUT*P_IN bits per (layer, group g, kh, kw, chunk c); bit
  o*P_IN + i is the mask bit of channel g*P_OUT + o at kernel index (kh, kw,
  c*P_IN + i); padding bits are 0.  This is the canonical stream regrouped in the
  order the lanes consume it; for aligned layers it is exactly 1 bit per weight.
- start-state ROM: one word of 32*P_OUT bits per (layer, group): the channels' states.
- threshold ROMs: per requant unit u, stage s and lane o; see ``thresholds``.
- table: one word of 32*NF bits per program item.
"""
from __future__ import annotations

import numpy as np

from .. import lfsr
from ..ir.model import Graph, Op, range_bits

NF0 = 26
FIELDS = ["TYPE", "ITERS", "SRC", "DST", "RES", "FLAGS", "IH", "IW", "OH", "OW", "KH",
          "KW", "S", "PAD", "NC", "NCO", "NLAST", "G", "KCH", "ROWSTRIDE", "STEPOW",
          "STEPOH", "MASKBASE", "STBASE", "COUT", "AORIGIN"]
T_CONV, T_LOOP, T_ENDLOOP, T_END = 0, 1, 2, 3


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def n_fields(stages: int) -> int:
    return NF0 + 3 * (5 + 2 * stages)


def mask_words(graph: Graph, layer: str, p_out: int, p_in: int) -> list[int]:
    """The layer's mask in lane order, as P_OUT*P_IN-bit words."""
    lay = graph.layers[layer]
    co, kh, kw, ci = lay.shape
    g, nc = ceil_div(co, p_out), ceil_div(ci, p_in)
    m = np.zeros((g * p_out, kh, kw, nc * p_in), np.uint8)
    m[:co, :, :, :ci] = lay.mask_array()
    m = m.reshape(g, p_out, kh, kw, nc, p_in).transpose(0, 2, 3, 4, 1, 5)
    rows = m.reshape(-1, p_out * p_in)
    packed = np.packbits(rows, axis=1, bitorder="little")
    return [int.from_bytes(r.tobytes(), "little") for r in packed]


def state_words(graph: Graph, layer: str, p_out: int) -> list[int]:
    lay = graph.layers[layer]
    co = lay.shape[0]
    st = lfsr.channel_start_states(lay.seed, co, lay.fan_in)
    out = []
    for g in range(ceil_div(co, p_out)):
        w = 0
        for o in range(p_out):
            if g * p_out + o < co:
                w |= int(st[g * p_out + o]) << (32 * o)
        out.append(w)
    return out


def tree_depth(levels: int) -> int:
    """Binary-search depth b for L thresholds: 2**b - 1 >= L, b >= 1."""
    return max(1, int(levels).bit_length())


def threshold_rows(graph: Graph, op: Op, set_index: int) -> list[tuple[int, list[int]]]:
    """(neg, ascending thresholds T') per row, clipped into [lo, hi + 1] of the input."""
    x = graph.tensors[op.inputs[0]]
    s = op.attrs["sets"][set_index]
    rows = []
    for d, th in zip(s["direction"], s["thresholds"]):
        if int(d) >= 0:
            t, neg = [int(v) for v in th], 0
        else:
            t, neg = [1 - int(v) for v in reversed(th)], 1
        rows.append((neg, [min(max(v, x.lo), x.hi + 1) for v in t]))
    return rows


def requant_width(graph: Graph, op: Op) -> int:
    x = graph.tensors[op.inputs[0]]
    return range_bits(min(x.lo, -1), x.hi + 1)


class ThresholdImages:
    """Threshold ROM contents of one requant unit: mem[s][o] = list of (neg, value)."""

    def __init__(self, stages: int, p_out: int):
        self.b, self.p = stages, p_out
        self.mem = [[[] for _ in range(p_out)] for _ in range(stages)]
        self.placed: dict = {}

    def place(self, graph: Graph, op: Op) -> dict:
        """Append a requant's sets; returns its table fields (s0, bases, strides)."""
        if op.name in self.placed:
            return self.placed[op.name]
        x = graph.tensors[op.inputs[0]]
        sets = op.attrs["sets"]
        nrows = len(sets[0]["thresholds"])
        levels = len(sets[0]["thresholds"][0])
        c = graph.tensors[op.output].shape[2]
        per_channel = nrows != 1
        if per_channel and nrows != c:
            raise ValueError(f"{op.name}: {nrows} threshold rows for {c} channels")
        b = tree_depth(levels)
        s0 = self.b - b
        groups = ceil_div(c, self.p) if per_channel else 1
        bases = [0] * self.b
        strides = [0] * self.b
        for t in range(b):
            s = s0 + t
            bases[s] = len(self.mem[s][0])
            strides[s] = groups << t
        for k in range(len(sets)):
            rows = threshold_rows(graph, op, k)
            for gi in range(groups):
                for o in range(self.p):
                    ch = gi * self.p + o if per_channel else 0
                    neg, t = rows[ch] if ch < nrows else (0, [])
                    pad = t + [x.hi + 1] * ((1 << b) - 1 - len(t))
                    for lvl in range(b):
                        for m in range(1 << lvl):
                            v = pad[m * (1 << (b - lvl)) + (1 << (b - 1 - lvl)) - 1]
                            self.mem[s0 + lvl][o].append((neg, v))
        f = {"en": 1, "pc": int(per_channel), "s0": s0, "out_min": int(op.attrs["out_min"]),
             "levels": levels, "bases": bases, "strides": strides}
        self.placed[op.name] = f
        return f


def hex_lines(words: list[int], width: int) -> str:
    digits = max(1, ceil_div(width, 4))
    mask = (1 << width) - 1
    return "".join(f"{w & mask:0{digits}x}\n" for w in words)
