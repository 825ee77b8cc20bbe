"""Random small HFN IR graphs, for property tests of the backends.

They have the structure the front end produces (stem, projection blocks, folded blocks
with identity shortcuts, global sum, 1x1 classifier) with random widths, strides, fold
depths, activation widths, masks (kept fraction k) and monotone requantisation sets.
No torch involved: backends are tested against the golden model on these.
"""
from __future__ import annotations

import numpy as np

from .. import lfsr
from .. import mask as maskpack
from .model import Graph, Op, Tensor, WeightLayer
from ..golden import conv2d, requant
from .ranges import infer_ranges


class _Builder:
    def __init__(self, rng: np.random.Generator, model_seed: int, k: float):
        self.rng, self.model_seed, self.k = rng, model_seed, k
        self.tensors: dict[str, Tensor] = {}
        self.layers: dict[str, WeightLayer] = {}
        self.n = 0

    def tensor(self, name: str, shape) -> str:
        self.tensors[name] = Tensor(name, [int(s) for s in shape], 0, 0)
        return name

    def layer(self, name: str, co: int, kh: int, ci: int) -> str:
        seed = lfsr.derive_seed(self.model_seed, len(self.layers))
        m = (self.rng.random((co, kh, kh, ci)) < self.k).astype(np.uint8)
        self.layers[name] = WeightLayer(name, [co, kh, kh, ci], seed, maskpack.pack(m), self.k)
        return name

    def conv(self, name, x, layer, co, k, stride) -> tuple[Op, str]:
        h, w, _ = self.tensors[x].shape
        pad = k // 2
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        y = self.tensor(name + "_acc", (ho, wo, co))
        return Op("conv", name, [x], y, {"layer": layer, "kernel": k, "stride": stride,
                                          "pad": pad}), y

    def requant(self, name, x, levels, out_min, iters=1, per_channel=True) -> tuple[Op, str]:
        c = self.tensors[x].shape[2]
        y = self.tensor(name + "_q", self.tensors[x].shape)
        return Op("requant", name, [x], y, {"out_min": out_min, "sets": [],
                                             "_levels": levels, "_iters": iters,
                                             "_pc": per_channel}), y


def _calibrate(graph: Graph, rng: np.random.Generator, batch: int = 8) -> None:
    """Choose each requant's thresholds from the values it actually sees on random
    inputs (jittered quantiles), so that outputs of random graphs stay informative."""
    t = graph.input_tensor
    env = {graph.input: rng.integers(t.lo, t.hi + 1, (batch, *t.shape)).astype(np.int64)}
    weights = {n: l.ternary().astype(np.int64) for n, l in graph.layers.items()}

    def run(ops: list[Op], it: int) -> None:
        for op in ops:
            if op.kind == "fold":
                x = env[op.inputs[0]]
                for i in range(op.attrs["iterations"]):
                    env[op.attrs["body_input"]] = x
                    run(op.body, i)
                    x = env[op.attrs["body_output"]]
                env[op.output] = x
            elif op.kind == "conv":
                env[op.output] = conv2d(env[op.inputs[0]], weights[op.attrs["layer"]],
                                        op.attrs["stride"], op.attrs["pad"])
            elif op.kind == "add":
                env[op.output] = env[op.inputs[0]] + env[op.inputs[1]]
            elif op.kind == "global_sum":
                env[op.output] = env[op.inputs[0]].sum(axis=(1, 2), keepdims=True)
            elif op.kind == "requant":
                x = env[op.inputs[0]]
                if it == 0 and "_levels" in op.attrs:
                    op.attrs["_todo"] = (op.attrs.pop("_levels"), op.attrs.pop("_pc"))
                    op.attrs.pop("_iters")
                    op.attrs["sets"] = []
                if "_todo" in op.attrs:
                    levels, pc = op.attrs["_todo"]
                    op.attrs["sets"].append(_thresholds(rng, x, levels, pc))
                    if len(op.attrs["sets"]) == _iterations(graph, op):
                        del op.attrs["_todo"]
                s = op.attrs["sets"][it]
                env[op.output] = requant(x, np.asarray(s["thresholds"]),
                                         np.asarray(s["direction"]), op.attrs["out_min"])
    run(graph.ops, 0)


def _iterations(graph: Graph, target: Op) -> int:
    for op in graph.ops:
        if op.kind == "fold" and any(b is target for b in op.body):
            return op.attrs["iterations"]
    return 1


def _thresholds(rng: np.random.Generator, x: np.ndarray, levels: int, per_channel: bool) -> dict:
    c = x.shape[-1]
    rows = c if per_channel else 1
    d = np.where(rng.random(rows) < 0.85, 1, -1)
    v = x.reshape(-1, c) if per_channel else x.reshape(-1, 1)
    v = v * d
    q = np.sort(rng.random((rows, levels)), axis=1)
    th = np.stack([np.quantile(v[:, r], q[r]) for r in range(rows)])
    th = np.sort(np.floor(th).astype(np.int64) + rng.integers(0, 2, th.shape), axis=1)
    return {"thresholds": th.tolist(), "direction": d.astype(int).tolist()}


def random_graph(seed: int, *, max_width: int = 8, image: int = 6, in_ch: int | None = None,
                 classes: int | None = None) -> Graph:
    """A random valid IR graph; the same ``seed`` gives the same graph."""
    rng = np.random.default_rng(seed)
    act_bits = int(rng.integers(2, 9))
    res_bits = int(min(act_bits + int(rng.integers(1, 4)), 8))
    k = float(rng.choice([0.1, 0.3, 0.5, 0.9]))
    b = _Builder(rng, int(rng.integers(1, 2**31)), k)
    in_ch = in_ch or int(rng.integers(1, 4))
    classes = classes or int(rng.integers(2, 11))
    x = b.tensor("input", (image, image, in_ch))
    ops: list[Op] = []
    act = (1 << act_bits) - 1
    res_lv, res_min = (1 << res_bits) - 1, -(1 << (res_bits - 1))

    w = int(rng.integers(1, max_width + 1))
    op, acc = b.conv("stem", x, b.layer("stem", w, 3, in_ch), w, 3, 1)
    ops.append(op)
    op, x = b.requant("stem_act", acc, act, 0)
    ops.append(op)
    for s in range(int(rng.integers(1, 3))):
        co = int(rng.integers(1, max_width + 1))
        stride = int(rng.choice([1, 2])) if b.tensors[x].shape[0] > 2 else 1
        p = f"s{s}_proj"
        op1, a1 = b.conv(p + "_conv1", x, b.layer(p + "_conv1", co, 3, w), co, 3, stride)
        rq1, h1 = b.requant(p + "_act1", a1, act, 0)
        op2, a2 = b.conv(p + "_conv2", h1, b.layer(p + "_conv2", co, 3, co), co, 3, 1)
        rq2, r = b.requant(p + "_res", a2, res_lv, res_min)
        ops += [op1, rq1, op2, rq2]
        if stride != 1 or co != w or rng.random() < 0.5:
            opsc, asc = b.conv(p + "_short", x, b.layer(p + "_short", co, 1, w), co, 1, stride)
            rqs, sc = b.requant(p + "_short_res", asc, res_lv, res_min)
            ops += [opsc, rqs]
        else:
            rqs, sc = b.requant(p + "_short_res", x, res_lv, res_min, per_channel=False)
            ops.append(rqs)
        y = b.tensor(p + "_sum", b.tensors[r].shape)
        ops.append(Op("add", p + "_add", [r, sc], y))
        rqo, x = b.requant(p + "_out", y, act, 0)
        ops.append(rqo)
        w = co
        iters = int(rng.integers(0, 4))
        if iters:
            f = f"s{s}_fold"
            bin_ = b.tensor(f + "_in", b.tensors[x].shape)
            c1, fa1 = b.conv(f + "_conv1", bin_, b.layer(f + "_conv1", w, 3, w), w, 3, 1)
            q1, fh = b.requant(f + "_act1", fa1, act, 0, iters)
            c2, fa2 = b.conv(f + "_conv2", fh, b.layer(f + "_conv2", w, 3, w), w, 3, 1)
            q2, fr = b.requant(f + "_res", fa2, res_lv, res_min, iters)
            qs, fs = b.requant(f + "_short_res", bin_, res_lv, res_min, iters, per_channel=False)
            fsum = b.tensor(f + "_sum", b.tensors[fr].shape)
            add = Op("add", f + "_add", [fr, fs], fsum)
            qo, fout = b.requant(f + "_out", fsum, act, 0, iters)
            out = b.tensor(f + "_y", b.tensors[x].shape)
            ops.append(Op("fold", f, [x], out, {"iterations": iters, "body_input": bin_,
                                                "body_output": fout},
                          body=[c1, q1, c2, q2, qs, add, qo]))
            x = out
    pooled = b.tensor("pool", (1, 1, w))
    ops.append(Op("global_sum", "pool", [x], pooled))
    op, logits = b.conv("classifier", pooled, b.layer("classifier", classes, 1, w), classes, 1, 1)
    ops.append(op)
    g = Graph(f"random{seed}", "input", logits, b.tensors, b.layers, ops,
              meta={"act_bits": act_bits, "res_bits": res_bits, "k": k, "origin": "random"})
    g.tensors["input"].lo, g.tensors["input"].hi = 0, 255
    g.tensors["input"].scale = 1.0 / 256
    _calibrate(g, rng)
    return infer_ranges(g)
