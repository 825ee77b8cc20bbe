"""Value-range analysis: the proven [lo, hi] of every IR tensor.

Hardware widths (accumulators, adders, threshold comparators) are taken from these
ranges, so they are derived from the actual ternary weights, not from worst cases.
"""
from __future__ import annotations

import numpy as np

from .model import Graph, Op


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
            w = graph.layers[op.attrs["layer"]].ternary().reshape(y.shape[2], -1)
            pos = (w > 0).sum(1).astype(np.int64)
            neg = (w < 0).sum(1).astype(np.int64)
            his = pos * a.hi - neg * a.lo
            los = pos * a.lo - neg * a.hi
            y.lo, y.hi = min(0, int(los.min())), max(0, int(his.max()))
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
