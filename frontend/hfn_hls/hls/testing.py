"""A resnet20-shaped IR graph with random masks and calibrated thresholds, for tests and
benchmarks of the backend before (or without) a trained model: the same structure as the
``resnet20`` preset (32x32x3, widths 16/32/64, stage 1 one block folded 3 times, stages 2
and 3 a projection block and two plain blocks, global sum, 1x1 classifier).
"""
from __future__ import annotations

import numpy as np

from ..ir.model import Graph, Op
from ..ir.random_graph import _Builder, _calibrate
from ..ir.ranges import infer_ranges


def resnet20_graph(seed: int = 0, *, image: int = 32, widths=(16, 32, 64), classes: int = 10,
                   act_bits: int = 4, res_bits: int = 8, k: float = 0.5) -> Graph:
    rng = np.random.default_rng(seed)
    b = _Builder(rng, 2021 + seed, k)
    act, res_lv, res_min = (1 << act_bits) - 1, (1 << res_bits) - 1, -(1 << (res_bits - 1))
    x = b.tensor("input", (image, image, 3))
    w = widths[0]
    ops: list[Op] = []
    op, acc = b.conv("stem", x, b.layer("stem", w, 3, 3), w, 3, 1)
    rq, x = b.requant("stem_act", acc, act, 0)
    ops += [op, rq]

    def block(p: str, x: str, ci: int, co: int, stride: int, iters: int, body: list) -> str:
        c1, a1 = b.conv(p + "_conv1", x, b.layer(p + "_conv1", co, 3, ci), co, 3, stride)
        q1, h = b.requant(p + "_act1", a1, act, 0, iters)
        c2, a2 = b.conv(p + "_conv2", h, b.layer(p + "_conv2", co, 3, co), co, 3, 1)
        q2, r = b.requant(p + "_res", a2, res_lv, res_min, iters)
        body += [c1, q1, c2, q2]
        if stride != 1 or ci != co:
            cs, asc = b.conv(p + "_short", x, b.layer(p + "_short", co, 1, ci), co, 1, stride)
            qs, sc = b.requant(p + "_short_res", asc, res_lv, res_min, iters)
            body += [cs, qs]
        else:
            qs, sc = b.requant(p + "_short_res", x, res_lv, res_min, iters, per_channel=False)
            body.append(qs)
        s = b.tensor(p + "_sum", b.tensors[r].shape)
        body.append(Op("add", p + "_add", [r, sc], s))
        qo, y = b.requant(p + "_out", s, act, 0, iters)
        body.append(qo)
        return y

    # stage 1: one block folded 3 times
    bin_ = b.tensor("stage1_fold_in", b.tensors[x].shape)
    body: list[Op] = []
    bout = block("stage1_fold", bin_, w, w, 1, 3, body)
    out = b.tensor("stage1_fold_y", b.tensors[x].shape)
    ops.append(Op("fold", "stage1_fold", [x], out, {"iterations": 3, "body_input": bin_,
                                                    "body_output": bout}, body=body))
    x = out
    for s, co in enumerate(widths[1:], start=2):
        for i in range(3):
            x = block(f"stage{s}_block{i}", x, w if i == 0 else co, co, 2 if i == 0 else 1, 1,
                      ops)
        w = co
    pooled = b.tensor("pool", (1, 1, w))
    ops.append(Op("global_sum", "pool", [x], pooled))
    op, logits = b.conv("classifier", pooled, b.layer("classifier", classes, 1, w), classes,
                        1, 1)
    ops.append(op)
    g = Graph("resnet20_random", "input", logits, b.tensors, b.layers, ops,
              meta={"act_bits": act_bits, "res_bits": res_bits, "k": k, "origin": "random",
                    "preset": "resnet20"})
    g.tensors["input"].lo, g.tensors["input"].hi = 0, 255
    g.tensors["input"].scale = 1.0 / 256
    _calibrate(g, rng, batch=4)
    return infer_ranges(g)


def preset_onnx(preset: str, out_dir, seed: int = 0):
    """model.onnx of an untrained preset (``hfn-hls init`` + ``hfn-hls export`` through the
    Python API), for tests and benchmarks on the real front end's output."""
    from pathlib import Path

    from ..commands._common import quiet
    from ..export import export_model
    from ..train import init_model

    quiet()
    out_dir = Path(out_dir)
    model = init_model(preset, out_dir / preset, seed=seed)
    return export_model(model, out_dir / f"{preset}.onnx")
