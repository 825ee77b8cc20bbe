"""A ResNet-20-shaped IR graph without torch, for tests and benchmarks of the RTL
engine before (or without) a trained model: CIFAR input 32x32x3, stem of 16 channels,
stage 1 one block folded 3 times, stages 2 and 3 a projection block (stride 2, 32 and
64 channels) followed by a block folded twice, global sum and a 1x1 classifier.
Masks and thresholds are random (calibrated on random images like ``random_graph``).
"""
from __future__ import annotations

import numpy as np

from ..ir.model import Graph, Op
from ..ir.random_graph import _Builder, _calibrate
from ..ir.ranges import infer_ranges


def resnet_like(seed: int = 0, widths=(16, 32, 64), image: int = 32, in_ch: int = 3,
                classes: int = 10, act_bits: int = 4, res_bits: int = 8,
                folds=(3, 2, 2), k: float = 0.5) -> Graph:
    rng = np.random.default_rng(seed)
    b = _Builder(rng, int(rng.integers(1, 2**31)), k)
    act = (1 << act_bits) - 1
    res_lv, res_min = (1 << res_bits) - 1, -(1 << (res_bits - 1))
    x = b.tensor("input", (image, image, in_ch))
    ops: list[Op] = []
    w = widths[0]
    op, acc = b.conv("stem", x, b.layer("stem", w, 3, in_ch), w, 3, 1)
    ops.append(op)
    op, x = b.requant("stem_act", acc, act, 0)
    ops.append(op)
    for s, co in enumerate(widths):
        if s > 0:
            p = f"s{s}_proj"
            op1, a1 = b.conv(p + "_conv1", x, b.layer(p + "_conv1", co, 3, w), co, 3, 2)
            rq1, h1 = b.requant(p + "_act1", a1, act, 0)
            op2, a2 = b.conv(p + "_conv2", h1, b.layer(p + "_conv2", co, 3, co), co, 3, 1)
            rq2, r = b.requant(p + "_res", a2, res_lv, res_min)
            opsc, asc = b.conv(p + "_short", x, b.layer(p + "_short", co, 1, w), co, 1, 2)
            rqs, sc = b.requant(p + "_short_res", asc, res_lv, res_min)
            y = b.tensor(p + "_sum", b.tensors[r].shape)
            rqo, x = b.requant(p + "_out", y, act, 0)
            ops += [op1, rq1, op2, rq2, opsc, rqs, Op("add", p + "_add", [r, sc], y), rqo]
            w = co
        iters = folds[s]
        f = f"s{s}_fold"
        bin_ = b.tensor(f + "_in", b.tensors[x].shape)
        c1, fa1 = b.conv(f + "_conv1", bin_, b.layer(f + "_conv1", w, 3, w), w, 3, 1)
        q1, fh = b.requant(f + "_act1", fa1, act, 0, iters)
        c2, fa2 = b.conv(f + "_conv2", fh, b.layer(f + "_conv2", w, 3, w), w, 3, 1)
        q2, fr = b.requant(f + "_res", fa2, res_lv, res_min, iters)
        qs, fs = b.requant(f + "_short_res", bin_, res_lv, res_min, iters, per_channel=False)
        fsum = b.tensor(f + "_sum", b.tensors[fr].shape)
        qo, fout = b.requant(f + "_out", fsum, act, 0, iters)
        out = b.tensor(f + "_y", b.tensors[x].shape)
        ops.append(Op("fold", f, [x], out, {"iterations": iters, "body_input": bin_,
                                            "body_output": fout},
                      body=[c1, q1, c2, q2, qs, Op("add", f + "_add", [fr, fs], fsum), qo]))
        x = out
    pooled = b.tensor("pool", (1, 1, w))
    ops.append(Op("global_sum", "pool", [x], pooled))
    op, logits = b.conv("classifier", pooled, b.layer("classifier", classes, 1, w), classes, 1, 1)
    ops.append(op)
    g = Graph(f"resnet_like{seed}", "input", logits, b.tensors, b.layers, ops,
              meta={"act_bits": act_bits, "res_bits": res_bits, "k": k, "origin": "resnet_like"})
    g.tensors["input"].lo, g.tensors["input"].hi = 0, 255
    g.tensors["input"].scale = 1.0 / 256
    _calibrate(g, rng, batch=4)
    return infer_ranges(g)
