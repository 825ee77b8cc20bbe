"""Cycles per layer of the RTL engine, from its loop order (docs/rtl.md).

The engine issues one input-channel chunk of ``P_IN`` channels for ``P_OUT`` output
channels per cycle, in the order output-channel group -> output pixel -> kernel row ->
kernel column -> chunk; a fold's body runs once per iteration; the classifier, fused
with the global sum, accumulates over every pixel of the pooled tensor.  So a conv call
costs ``ceil(CO/P_OUT) * OH*OW * KH*KW * ceil(CI/P_IN)`` issue cycles, beside the ideal
``MACs / (P_OUT*P_IN)``.  Simulation measures the whole inference; these are the
per-layer shares of it (pipeline fill and requantisation latency are not included).
"""
from __future__ import annotations

from math import ceil

from ..ir.model import Graph


def layer_cycles(graph: Graph, p_out: int, p_in: int) -> list[dict]:
    """``[{name, calls, cycles, ideal_cycles, macs}]`` per generated layer, forward order."""
    rows: dict[str, dict] = {}
    producer = {op.output: op for op in graph.walk()}

    def visit(op, times: int) -> None:
        if op.kind == "fold":
            for b in op.body:
                visit(b, times * op.attrs["iterations"])
            return
        if op.kind != "conv":
            return
        layer = graph.layers[op.attrs["layer"]]
        co, kh, kw, ci = layer.shape
        x = graph.tensors[op.inputs[0]]
        y = graph.tensors[op.output]
        pixels = y.shape[0] * y.shape[1]
        src = producer.get(op.inputs[0])
        if src is not None and src.kind == "global_sum":   # classifier fused with the pool
            pooled = graph.tensors[src.inputs[0]]
            pixels = pooled.shape[0] * pooled.shape[1]
        macs = pixels * co * kh * kw * ci
        cyc = ceil(co / p_out) * pixels * kh * kw * ceil(ci / p_in)
        r = rows.setdefault(layer.name, {"name": layer.name, "calls": 0, "cycles": 0,
                                         "ideal_cycles": 0.0, "macs": 0})
        r["calls"] += times
        r["cycles"] += cyc * times
        r["macs"] += macs * times
        r["ideal_cycles"] += macs * times / (p_out * p_in)

    for op in graph.ops:
        visit(op, 1)
    return list(rows.values())
