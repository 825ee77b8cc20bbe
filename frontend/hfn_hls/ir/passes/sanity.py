"""Numerical sanity of a QONNX graph, as qonnx transformations that never change it.

They run on the file as exported (before qonnx's clean-up, so errors name the nodes and
initializers of the user's file) and refuse what would make the integer extraction
compute nonsense or allocate absurd sizes:

- ``CheckFiniteConstants``: every float initializer is finite (no NaN or Inf);
- ``CheckQuantParams``: quantiser scales finite and > 0, zero points finite, bit widths
  integral and in ``QUANT_BITS`` (a requant keeps 2^b - 1 thresholds per channel: a
  32-bit quantiser would mean a 32 GiB table), ``signed``/``narrow`` 0 or 1; the
  quantiser of a Conv / Gemm bias (Brevitas ``Int32Bias``) may have up to
  ``BIAS_BITS[1]`` bits (a bias is added to the accumulator, it makes no table);
- ``CheckBatchNorm``: BatchNormalization parameters finite, variance >= 0, epsilon > 0;
- ``CheckInputShape``: the graph input is (N, C, H, W) with (C, H, W) the metadata's
  ``input_shape`` (a model without metadata: any (N, C, H, W)).
"""
from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from ...errors import HfnError

QUANT_BITS = (1, 16)
BIAS_BITS = (1, 32)
FIX = "export the model again with 'hfn-hls export' (the file was edited or is broken)"


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


class _Check(Transformation):
    def __init__(self, where: str):
        super().__init__()
        self.where = where

    def _node(self, node) -> str:
        return f"{self.where} node {node.name or node.output[0]!r} ({node.op_type})"


class CheckFiniteConstants(_Check):
    """Every float initializer is finite."""

    def apply(self, model: ModelWrapper):
        users: dict[str, object] = {}
        for n in model.graph.node:
            for i in n.input:
                users.setdefault(i, n)
        for init in model.graph.initializer:
            v = model.get_initializer(init.name)
            a = np.asarray(v)
            if np.issubdtype(a.dtype, np.floating) and a.size and not np.all(np.isfinite(a)):
                bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
                node = users.get(init.name)
                where = self._node(node) if node is not None else self.where
                raise HfnError(f"{where} initializer {init.name!r}",
                               f"{bad} of {a.size} values are NaN or infinite", FIX)
        return model, False


class CheckQuantParams(_Check):
    """Scales finite and > 0, zero points finite, bit widths integral and in range."""

    def apply(self, model: ModelWrapper):
        biases = {n.input[2] for n in model.graph.node
                  if n.op_type in ("Conv", "Gemm") and len(n.input) > 2}
        for n in model.graph.node:
            if n.op_type != "Quant" or len(n.input) < 4:
                continue
            scale, zp, bw = (model.get_initializer(i) for i in n.input[1:4])
            where = self._node(n)
            if scale is not None:
                s = np.asarray(scale, np.float64)
                if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
                    raise HfnError(where, f"quantiser scale {_show(s)} is not a finite "
                                   "number > 0", FIX)
            if zp is not None and not np.all(np.isfinite(np.asarray(zp, np.float64))):
                raise HfnError(where, f"zero point {_show(zp)} is not finite", FIX)
            if bw is not None:
                b = np.asarray(bw, np.float64).reshape(-1)
                lo, hi = BIAS_BITS if n.output[0] in biases else QUANT_BITS
                if b.size != 1 or not np.isfinite(b[0]) or b[0] != np.floor(b[0]):
                    raise HfnError(where, f"bit width {_show(b)} is not an integer", FIX)
                if not lo <= b[0] <= hi:
                    raise HfnError(where, f"bit width {int(b[0])} is outside the supported "
                                   f"{lo}..{hi} bits", "quantise to at most "
                                   f"{hi} bits (activations: 2 to 8)")
            for a in ("signed", "narrow"):
                v = _attr(n, a, 0)
                if v not in (0, 1):
                    raise HfnError(where, f"attribute {a}={v!r} is not 0 or 1", FIX)
        return model, False


class CheckBatchNorm(_Check):
    """BatchNormalization: finite parameters, variance >= 0, epsilon > 0."""

    def apply(self, model: ModelWrapper):
        for n in model.graph.node:
            if n.op_type != "BatchNormalization":
                continue
            where = self._node(n)
            eps = _attr(n, "epsilon", 1e-5)
            if not np.isfinite(eps) or eps <= 0:
                raise HfnError(where, f"epsilon {eps!r} is not a finite number > 0", FIX)
            for label, name in zip(("scale", "bias", "mean", "variance"), n.input[1:5]):
                v = model.get_initializer(name)
                if v is None:
                    continue
                a = np.asarray(v, np.float64)
                if not np.all(np.isfinite(a)):
                    raise HfnError(where, f"{label} ({name!r}) holds NaN or infinite values",
                                   FIX)
                if label == "variance" and np.any(a < 0):
                    raise HfnError(where, f"variance ({name!r}) holds negative values "
                                   f"(min {a.min():g})", FIX)
        return model, False


class CheckInputShape(_Check):
    """The graph input is (N, C, H, W) with (C, H, W) = the metadata's input_shape."""

    def __init__(self, where: str, meta: dict | None):
        super().__init__(where)
        self.meta = meta

    def apply(self, model: ModelWrapper):
        name = model.graph.input[0].name
        dims = model.graph.input[0].type.tensor_type.shape.dim
        shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if not (self.meta or {}).get("input_shape"):
            if len(shape) != 4 or not all(isinstance(d, int) and d > 0 for d in shape[1:]):
                raise HfnError(f"{self.where} input {name!r}", f"shape {shape} is not "
                               "(N, C, H, W) with known C, H, W", "export the model with a "
                               "fixed input shape (an image batch, NCHW)")
            return model, False
        want = list(self.meta["input_shape"])
        if len(shape) != 4 or shape[1:] != want:
            raise HfnError(f"{self.where} input {name!r}", f"shape {shape} does not agree with "
                           f"the metadata's input_shape {want} (C, H, W)", FIX)
        return model, False


def _show(v) -> str:
    a = np.asarray(v).reshape(-1)
    text = ", ".join(f"{x:g}" for x in a[:4]) + (", ..." if a.size > 4 else "")
    return f"[{text}]" if a.size != 1 else text


SANITY = (CheckQuantParams, CheckBatchNorm, CheckFiniteConstants)
