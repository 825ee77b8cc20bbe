"""The one bound analysis: proven value ranges of every IR tensor and, from them, every
width the hardware uses (docs/arithmetic.md).

- ``infer_ranges``: [lo, hi] of every tensor, from the actual integer weights of each
  layer (its weight source), not from worst cases;
- ``accumulator_range``: every partial sum of a convolution's accumulators, in any order
  (and over several pixels for a pass that accumulates over all pixels);
- ``weight_width``: WB, the signed width of a layer's weights;
- ``threshold_width`` / ``requant_bits``: the width of the thresholds of a requant (clipped
  into the reachable input range) and the bits its compact parameter sets occupy
  (``ir/requant.py``).

The HLS types, the RTL widths (VW, TW, EW, WB) and the report's bit counts all read these.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..weights import get_source
from ..weights.base import weight_width as wb_of
from . import requant as _requant
from .model import Graph, Op, Tensor, range_bits


@dataclass(frozen=True)
class Interval:
    """An integer range [lo, hi]."""

    lo: int
    hi: int

    @classmethod
    def of(cls, t: Tensor) -> "Interval":
        return cls(int(t.lo), int(t.hi))

    def join(self, other: "Interval") -> "Interval":
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    def times(self, n: int) -> "Interval":
        """n-fold sum of values in a range that holds 0."""
        return Interval(min(0, self.lo) * n, max(0, self.hi) * n)

    @property
    def bits(self) -> int:
        """Two's-complement width (unsigned width if lo >= 0)."""
        return range_bits(self.lo, self.hi)

    @property
    def signed_bits(self) -> int:
        """Width of a signed type that holds the range."""
        return range_bits(min(self.lo, -1), self.hi)


def _terms(w: np.ndarray, x: Interval) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of each product w*x, per output channel and weight: (lo, hi), (co, K)."""
    w = np.asarray(w, dtype=np.int64).reshape(w.shape[0], -1)
    a, b = w * x.lo, w * x.hi
    return np.minimum(a, b), np.maximum(a, b)


def conv_output_range(w: np.ndarray, bias: np.ndarray | None, x: Interval) -> Interval:
    """Range of a convolution's results (joined with 0, the empty sum), weights
    [co, kh, kw, ci] on inputs in ``x``."""
    t_lo, t_hi = _terms(w, x)
    lo, hi = t_lo.sum(1), t_hi.sum(1)
    if bias is not None:
        lo, hi = lo + bias, hi + bias
    return Interval(min(0, int(lo.min(initial=0))), max(0, int(hi.max(initial=0))))


def accumulator_range(graph: Graph, layer: str, x: Interval, pixels: int = 1,
                      out: Interval | None = None) -> Interval:
    """Every partial sum of an output channel's accumulator, in any order of its terms:
    within the sums of the negative and of the positive term bounds (plus the bias), over
    ``pixels`` windows for a pass that accumulates over all pixels; joined with the proven
    output range ``out``."""
    lay = graph.layers[layer]
    src = get_source(lay.source)
    t_lo, t_hi = _terms(src.weights(lay, graph), x)
    lo, hi = np.minimum(t_lo, 0).sum(1), np.maximum(t_hi, 0).sum(1)
    bias = src.bias(lay, graph)
    if bias is not None:
        lo, hi = lo + np.minimum(bias, 0), hi + np.maximum(bias, 0)
    acc = Interval(int(lo.min(initial=0)), int(hi.max(initial=0))).times(pixels)
    return acc.join(out) if out is not None else acc


def weight_width(graph: Graph, layer: str) -> int:
    """WB: signed bits of the layer's weight values; 2 only for ternary weights (a -2
    needs 3: WB = 2 is the add / subtract / skip path, ``weights.base.weight_width``)."""
    lay = graph.layers[layer]
    lo, hi = get_source(lay.source).weight_range(lay, graph)
    return wb_of(lo, hi)


def threshold_range(x: Interval) -> Interval:
    """Where a requant's thresholds live once clipped to its input range: a threshold
    below ``lo`` counts like ``lo``, one above ``hi`` like ``hi + 1``."""
    return Interval(x.lo, x.hi + 1)


def threshold_width(x: Interval) -> int:
    """TW: signed width of the clipped thresholds of a requant whose input is in ``x``."""
    return threshold_range(x).signed_bits


def requant_bits(op: Op, x: Interval) -> int:
    """Bits of a requant's parameter sets as hardware stores them: the compact form
    (``ir/requant.py``: per set and row a base, a step and a direction bit, plus
    exception points)."""
    return _requant.requant_bits(op, x.lo, x.hi)


def infer_ranges(graph: Graph) -> Graph:
    """Set ``lo``/``hi`` of every tensor but the input, in place; returns the graph."""
    _ranges(graph, graph.ops)
    return graph


def _ranges(graph: Graph, ops: list[Op]) -> None:
    t = graph.tensors
    for op in ops:
        if op.kind == "fold":
            b_in, b_out = t[op.attrs["body_input"]], t[op.attrs["body_output"]]
            x = t[op.inputs[0]]
            b_in.lo, b_in.hi = x.lo, x.hi
            for _ in range(8):
                _ranges(graph, op.body)
                lo, hi = min(x.lo, b_out.lo), max(x.hi, b_out.hi)
                if (lo, hi) == (b_in.lo, b_in.hi):
                    break
                b_in.lo, b_in.hi = lo, hi
            else:
                raise ValueError(f"{op.name}: value range does not converge")
            t[op.output].lo, t[op.output].hi = b_out.lo, b_out.hi
            continue
        y = t[op.output]
        a = t[op.inputs[0]]
        if op.kind == "conv":
            lay = graph.layers[op.attrs["layer"]]
            src = get_source(lay.source)
            r = conv_output_range(src.weights(lay, graph), src.bias(lay, graph), Interval.of(a))
            y.lo, y.hi = r.lo, r.hi
        elif op.kind == "requant":
            y.lo = int(op.attrs["out_min"])
            y.hi = y.lo + len(op.attrs["sets"][0]["thresholds"][0])
        elif op.kind == "add":
            b = t[op.inputs[1]]
            y.lo, y.hi = a.lo + b.lo, a.hi + b.hi
        elif op.kind == "global_sum":
            n = a.shape[0] * a.shape[1]
            y.lo, y.hi = min(0, a.lo * n), max(0, a.hi * n)
        elif op.kind == "maxpool":
            y.lo, y.hi = a.lo, a.hi
        else:
            raise ValueError(f"{op.name}: unknown op kind {op.kind!r}")
