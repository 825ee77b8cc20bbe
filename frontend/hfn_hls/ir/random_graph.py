"""Random HFN IR graphs, for property tests and benchmarks of the backends.

``random_graph`` has the structure the front end produces (stem, projection blocks,
folded blocks with identity shortcuts, global sum, 1x1 classifier) with random widths,
strides, fold depths, activation widths, masks (kept fraction k) and random
requantisation functions (``_thresholds``), compact forms derived as ``build_ir`` does;
``resnet_graph`` has ResNet-20's shapes with random masks.  With
``stored > 0`` a layer is, with that probability, a ``stored`` layer of random
``weight_bits``-bit weights and a random bias (mixed-source graphs; ``stored=1``: no
generated layer), and with ``pool`` a max pooling follows the stem.  No torch involved:
backends are tested against the golden model on these.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import lfsr
from .. import mask as maskpack
from ..arith import conv2d, maxpool2d, requant
from ..weights import layer_bias, layer_weights
from ..weights.stored import encode
from .model import Graph, Layer, Op, Tensor
from .passes.ir_passes import CompactRequant
from .ranges import infer_ranges


class _Builder:
    """Tensors, ``hfn`` layers and ops of a graph under construction."""

    def __init__(self, rng: np.random.Generator, model_seed: int, k: float, act_bits: int,
                 res_bits: int, stored: float = 0.0, weight_bits: int = 4):
        self.rng, self.model_seed, self.k = rng, model_seed, k
        self.stored, self.weight_bits = stored, weight_bits
        self.act = (1 << act_bits) - 1
        self.res_levels, self.res_min = (1 << res_bits) - 1, -(1 << (res_bits - 1))
        self.tensors: dict[str, Tensor] = {}
        self.layers: dict[str, Layer] = {}

    def tensor(self, name: str, shape) -> str:
        self.tensors[name] = Tensor(name, [int(s) for s in shape], 0, 0)
        return name

    def layer(self, name: str, co: int, kh: int, ci: int) -> str:
        if self.stored and self.rng.random() < self.stored:
            lim = 1 << (self.weight_bits - 1)
            w = self.rng.integers(-lim, lim, (co, kh, kh, ci))
            w[self.rng.random(w.shape) < 0.3] = 0
            params = {"bits": self.weight_bits, "weights": encode(w)}
            if self.rng.random() < 0.7:
                params["bias"] = self.rng.integers(-lim * kh * kh * 4, lim * kh * kh * 4,
                                                   co).tolist()
            self.layers[name] = Layer(name, [co, kh, kh, ci], "stored", params)
            return name
        seed = lfsr.derive_seed(self.model_seed, len(self.layers))
        m = (self.rng.random((co, kh, kh, ci)) < self.k).astype(np.uint8)
        self.layers[name] = Layer(name, [co, kh, kh, ci], "hfn",
                                  {"seed": seed, "mask": maskpack.pack(m), "k": self.k})
        return name

    def conv(self, name, x, layer, co, k, stride) -> tuple[Op, str]:
        h, w, _ = self.tensors[x].shape
        pad = k // 2
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        y = self.tensor(name + "_acc", (ho, wo, co))
        return Op("conv", name, [x], y, {"layer": layer, "kernel": k, "stride": stride,
                                          "pad": pad}), y

    def requant(self, name, x, levels, out_min, iters=1, per_channel=True) -> tuple[Op, str]:
        y = self.tensor(name + "_q", self.tensors[x].shape)
        return Op("requant", name, [x], y, {"out_min": out_min, "sets": [],
                                             "_levels": levels, "_iters": iters,
                                             "_pc": per_channel}), y

    def block(self, p: str, x: str, ci: int, co: int, stride: int, iters: int,
              conv_shortcut: Callable[[], bool]) -> tuple[list[Op], str]:
        """A basic residual block, ops in the front end's order: conv3x3 (stride), act,
        conv3x3, requant into the residual domain; the shortcut a 1x1 conv + requant if
        ``conv_shortcut()`` (asked after the two convs' layers exist), else the identity
        requantised by one shared threshold row; add; output activation."""
        c1, a1 = self.conv(p + "_conv1", x, self.layer(p + "_conv1", co, 3, ci), co, 3, stride)
        q1, h1 = self.requant(p + "_act1", a1, self.act, 0, iters)
        c2, a2 = self.conv(p + "_conv2", h1, self.layer(p + "_conv2", co, 3, co), co, 3, 1)
        q2, r = self.requant(p + "_res", a2, self.res_levels, self.res_min, iters)
        ops = [c1, q1, c2, q2]
        if conv_shortcut():
            cs, asc = self.conv(p + "_short", x, self.layer(p + "_short", co, 1, ci), co, 1,
                                stride)
            qs, sc = self.requant(p + "_short_res", asc, self.res_levels, self.res_min, iters)
            ops += [cs, qs]
        else:
            qs, sc = self.requant(p + "_short_res", x, self.res_levels, self.res_min, iters,
                                  per_channel=False)
            ops.append(qs)
        y = self.tensor(p + "_sum", self.tensors[r].shape)
        ops.append(Op("add", p + "_add", [r, sc], y))
        qo, out = self.requant(p + "_out", y, self.act, 0, iters)
        return ops + [qo], out

    def fold(self, name: str, x: str, iters: int) -> tuple[Op, str]:
        """An identity block folded ``iters`` times: one body, a loop."""
        w = self.tensors[x].shape[2]
        bin_ = self.tensor(name + "_in", self.tensors[x].shape)
        body, bout = self.block(name, bin_, w, w, 1, iters, lambda: False)
        out = self.tensor(name + "_y", self.tensors[x].shape)
        return Op("fold", name, [x], out, {"iterations": iters, "body_input": bin_,
                                           "body_output": bout}, body=body), out

    def stem(self, x: str, width: int) -> tuple[list[Op], str]:
        op, acc = self.conv("stem", x, self.layer("stem", width, 3, self.tensors[x].shape[2]),
                            width, 3, 1)
        rq, y = self.requant("stem_act", acc, self.act, 0)
        return [op, rq], y

    def graph(self, name: str, x: str, ops: list[Op], classes: int, meta: dict,
              rng: np.random.Generator, batch: int) -> Graph:
        """Global sum, 1x1 classifier, calibrated thresholds, ranges."""
        w = self.tensors[x].shape[2]
        pooled = self.tensor("pool", (1, 1, w))
        ops.append(Op("global_sum", "pool", [x], pooled))
        op, logits = self.conv("classifier", pooled, self.layer("classifier", classes, 1, w),
                               classes, 1, 1)
        ops.append(op)
        g = Graph(name, "input", logits, self.tensors, self.layers, ops, meta=meta)
        g.tensors["input"].lo, g.tensors["input"].hi = 0, 255
        g.tensors["input"].scale = 1.0 / 256
        _calibrate(g, rng, batch)
        infer_ranges(g)
        CompactRequant().apply(g)
        return g


def _calibrate(graph: Graph, rng: np.random.Generator, batch: int = 8) -> None:
    """Choose each requant's thresholds from the values it actually sees on random
    inputs (jittered quantiles), so that outputs of random graphs stay informative."""
    t = graph.input_tensor
    env = {graph.input: rng.integers(t.lo, t.hi + 1, (batch, *t.shape)).astype(np.int64)}
    weights = {n: layer_weights(l, graph) for n, l in graph.layers.items()}
    bias = {n: layer_bias(l, graph) for n, l in graph.layers.items()}

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
                if bias[op.attrs["layer"]] is not None:
                    env[op.output] = env[op.output] + bias[op.attrs["layer"]]
            elif op.kind == "maxpool":
                env[op.output] = maxpool2d(env[op.inputs[0]], op.attrs["kernel"],
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


EXCEPTION_RATE = 1 / 24        # rows whose thresholds get one threshold moved by one


def _thresholds(rng: np.random.Generator, x: np.ndarray, levels: int, per_channel: bool) -> dict:
    """One parameter set of random requantisation functions fitted to the values ``x``
    the requant sees, as the front end's are: a per-channel row is ``round(a·d·x + b)``
    (a BatchNorm and a quantiser: thresholds ``ceil(t0 + j/a)`` with real t0, a), its
    range spanning jittered quantiles of the data; a shared row re-quantises by a power
    of two, ``round_half_even(d·x / 2^k + b)`` with b a multiple of 1/2, whose
    thresholds step unevenly at ties (1, 3, 1, 3, ... for k = 1).  A few rows
    (``EXCEPTION_RATE``) get one threshold moved by one: no affine row reproduces them,
    so the backends' exception path runs in the property tests."""
    c = x.shape[-1]
    rows = c if per_channel else 1
    d = np.where(rng.random(rows) < 0.85, 1, -1)
    v = (x.reshape(-1, c) if per_channel else x.reshape(-1, 1)) * d
    th = np.zeros((rows, levels), dtype=np.int64)
    j = np.arange(levels)
    for r in range(rows):
        q_lo, q_hi = rng.uniform(0.0, 0.35), rng.uniform(0.65, 1.0)
        lo, hi = np.quantile(v[:, r], [q_lo, q_hi])
        if per_channel:
            step = max((hi - lo) / max(levels, 1), 0.05) * rng.uniform(0.8, 1.25)
            t0 = lo + rng.uniform(-0.5, 0.5) * step + rng.uniform(0, 1)
            th[r] = np.ceil(t0 + j * step).astype(np.int64)
            if levels >= 3 and rng.random() < EXCEPTION_RATE:
                i = int(rng.integers(1, levels - 1))
                moved = th[r, i] + int(rng.choice([-1, 1]))
                if th[r, i - 1] <= moved <= th[r, i + 1]:
                    th[r, i] = moved
        else:
            k = int(rng.integers(-1, 3))
            b = int(rng.integers(-2, 3)) / 2 - np.floor(lo) / 2.0 ** k
            span = np.arange(int(np.floor(v[:, r].min())) - (levels + 2) * 2 ** max(k, 0) - 4,
                             int(np.ceil(v[:, r].max())) + (levels + 2) * 2 ** max(k, 0) + 5)
            y = np.round(span / 2.0 ** k + b)         # exact: dyadic values, half to even
            reach = y[None, :] >= (j + 1)[:, None]
            th[r] = np.where(reach.any(1), span[np.argmax(reach, 1)], span[-1] + 1)
    return {"thresholds": th.tolist(), "direction": d.astype(int).tolist()}


def random_graph(seed: int, *, max_width: int = 8, image: int = 6, in_ch: int | None = None,
                 classes: int | None = None, stored: float = 0.0, weight_bits: int = 4,
                 pool: bool = False) -> Graph:
    """A random valid IR graph; the same arguments give the same graph."""
    rng = np.random.default_rng(seed)
    act_bits = int(rng.integers(2, 9))
    res_bits = int(min(act_bits + int(rng.integers(1, 4)), 8))
    k = float(rng.choice([0.1, 0.3, 0.5, 0.9]))
    b = _Builder(rng, int(rng.integers(1, 2**31)), k, act_bits, res_bits, stored, weight_bits)
    in_ch = in_ch or int(rng.integers(1, 4))
    classes = classes or int(rng.integers(2, 11))
    x = b.tensor("input", (image, image, in_ch))
    w = int(rng.integers(1, max_width + 1))
    ops, x = b.stem(x, w)
    if pool:
        kp = int(rng.integers(2, 4))
        sp = int(rng.integers(1, 3))
        pp = int(rng.integers(0, kp // 2 + 1))
        h = b.tensors[x].shape[0]
        ho = (h + 2 * pp - kp) // sp + 1
        y = b.tensor("maxpool", (ho, ho, w))
        ops.append(Op("maxpool", "maxpool", [x], y, {"kernel": kp, "stride": sp, "pad": pp}))
        x = y
    for s in range(int(rng.integers(1, 3))):
        co = int(rng.integers(1, max_width + 1))
        stride = int(rng.choice([1, 2])) if b.tensors[x].shape[0] > 2 else 1
        block, x = b.block(f"s{s}_proj", x, w, co, stride, 1,
                           lambda: stride != 1 or co != w or rng.random() < 0.5)
        ops += block
        w = co
        iters = int(rng.integers(0, 4))
        if iters:
            fold, x = b.fold(f"s{s}_fold", x, iters)
            ops.append(fold)
    meta = {"act_bits": act_bits, "res_bits": res_bits, "k": k, "origin": "random"}
    return b.graph(f"random{seed}", x, ops, classes, meta, rng, batch=8)


# ResNet-20 shapes: per stage (identity blocks after the stage's projection block, folded?)
RESNET_FOLDED = ((3, True), (2, True), (2, True))    # every stage one folded block
RESNET20 = ((3, True), (2, False), (2, False))       # the resnet20 preset: stage 1 folded


def resnet_graph(seed: int = 0, *, stages=RESNET_FOLDED, widths=(16, 32, 64), image: int = 32,
                 in_ch: int = 3, classes: int = 10, act_bits: int = 4, res_bits: int = 8,
                 k: float = 0.5, name: str | None = None) -> Graph:
    """A ResNet-20-shaped graph with random masks and calibrated thresholds: stem of
    ``widths[0]`` channels; stage s > 0 starts with a projection block (stride 2, 1x1
    conv shortcut); then, per ``stages[s] = (n, folded)``, one identity block folded n
    times or n plain identity blocks; global sum and a 1x1 classifier.  ``RESNET20`` is
    the resnet20 preset's structure, ``RESNET_FOLDED`` folds every stage."""
    rng = np.random.default_rng(seed)
    b = _Builder(rng, int(rng.integers(1, 2**31)), k, act_bits, res_bits)
    x = b.tensor("input", (image, image, in_ch))
    ops, x = b.stem(x, widths[0])
    for s, ((n, folded), co) in enumerate(zip(stages, widths)):
        if s > 0:
            block, x = b.block(f"s{s}_proj", x, widths[s - 1], co, 2, 1, lambda: True)
            ops += block
        if folded:
            fold, x = b.fold(f"s{s}_fold", x, n)
            ops.append(fold)
        else:
            for i in range(n):
                block, x = b.block(f"s{s}_block{i}", x, co, co, 1, 1, lambda: False)
                ops += block
    meta = {"act_bits": act_bits, "res_bits": res_bits, "k": k, "origin": "resnet_graph"}
    return b.graph(name or f"resnet{seed}", x, ops, classes, meta, rng, batch=4)
