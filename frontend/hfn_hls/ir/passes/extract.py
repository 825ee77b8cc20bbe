"""ExtractIntegerGraph: the cleaned QONNX graph -> a flat (unfolded) IR graph.

Walks the nodes in order and tracks, for every float tensor, what it is in integers:
- ``IntRep``: exactly ``scale * t`` for an IR integer tensor ``t`` (Quant outputs,
  convolutions of those with ternary weights, sums of equally scaled tensors, pools);
- ``Chain``: an element-wise float function of an IntRep (Mul by the layer constant,
  BatchNormalization, Relu) that is still waiting for its Quant.
A Quant node closes a chain: the chain plus the Quant become one ``requant`` op whose
thresholds are found by bisection, evaluating those very ONNX nodes with qonnx's
``execute_onnx`` on candidate integer values (docs/arithmetic.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes

from ...errors import HfnError
from ...weights import get_source
from ..model import Graph, Layer, Op, Tensor
from ..ranges import Interval, conv_output_range


@dataclass
class IntRep:
    tensor: str
    scale: float


@dataclass
class Chain:
    src: IntRep
    src_name: str                      # the ONNX float tensor that equals src
    nodes: list = field(default_factory=list)


@dataclass
class FlatResult:
    graph: Graph
    call_weights: dict                 # conv call index -> ternary OHWI int8 array
    input_scale: float
    output_scale: float


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


class ExtractIntegerGraph:
    """``apply(model) -> FlatResult``; errors name the ONNX node."""

    def __init__(self, where: str, meta: dict):
        self.where, self.meta = where, meta

    # -- helpers ------------------------------------------------------------------
    def _err(self, node, reason: str, fix: str = "") -> HfnError:
        return HfnError(f"{self.where} node {node.name!r} ({node.op_type})", reason,
                        fix or "export the model with 'hfn-hls export'")

    def _new_tensor(self, name: str, shape, lo: int, hi: int, scale: float) -> str:
        if name in self.tensors:
            raise AssertionError(f"duplicate tensor {name}")
        self.tensors[name] = Tensor(name, [int(s) for s in shape], int(lo), int(hi), float(scale))
        return name

    def _quant_params(self, node):
        m = self.model
        scale = m.get_initializer(node.input[1])
        zp = m.get_initializer(node.input[2])
        bw = m.get_initializer(node.input[3])
        if scale is None or zp is None or bw is None:
            raise self._err(node, "Quant parameters are not constants")
        if np.asarray(scale).size != 1:
            raise self._err(node, "per-channel quantisation scales are not supported",
                            "use per-tensor (fixed-point) quantisers")
        if np.any(np.asarray(zp) != 0):
            raise self._err(node, "non-zero zero point is not supported",
                            "use symmetric quantisers")
        b = int(np.asarray(bw).reshape(-1)[0])
        signed, narrow = int(_attr(node, "signed", 1)), int(_attr(node, "narrow", 0))
        if signed:
            qmin, qmax = -(1 << (b - 1)) + narrow, (1 << (b - 1)) - 1
        else:
            qmin, qmax = 0, (1 << b) - 1 - narrow
        return float(np.asarray(scale).reshape(-1)[0]), qmin, qmax

    def _rep(self, node, name: str):
        r = self.reps.get(name)
        if r is None:
            raise self._err(node, f"input {name!r} is neither quantised nor derived from a "
                            "quantised tensor")
        return r

    # -- main ---------------------------------------------------------------------
    def apply(self, model: ModelWrapper) -> FlatResult:
        self.model = model
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.layers: dict[str, Layer] = {}
        self.call_weights: dict[int, np.ndarray] = {}
        self.reps: dict[str, object] = {}
        self.calls = 0
        self.input_scale = None
        graph_in = model.graph.input[0].name
        self.reps[graph_in] = "raw"
        for node in model.graph.node:
            handler = getattr(self, "_" + node.op_type, None)
            if handler is None:
                raise self._err(node, "op type not supported")
            handler(node)
        if self.calls != len(self.meta["conv_calls"]):
            raise HfnError(self.where, f"the graph has {self.calls} Conv nodes but the metadata "
                           f"lists {len(self.meta['conv_calls'])} conv calls",
                           "re-export with 'hfn-hls export'")
        out_name = model.graph.output[0].name
        rep = self.reps.get(out_name)
        out_scale = 1.0
        if isinstance(rep, Chain):
            for n in rep.nodes:
                c = self._scalar_const(n)
                if n.op_type != "Mul" or c is None:
                    raise HfnError(f"{self.where} output {out_name!r}",
                                   "the output is not a scaled integer tensor",
                                   "end the network with the classifier (1x1 conv)")
                out_scale *= c
            rep = rep.src
        if not isinstance(rep, IntRep):
            raise HfnError(f"{self.where} output {out_name!r}", "the output is not a scaled "
                           "integer tensor", "end the network with the classifier (1x1 conv)")
        out_scale *= rep.scale
        g = Graph(name=self.meta.get("preset", "model"), input="input", output=rep.tensor,
                  tensors=self.tensors, layers=self.layers, ops=self.ops)
        return FlatResult(g, self.call_weights, self.input_scale, out_scale)

    def _weight_source(self, call: int):
        """The weight source of the layer the metadata expects at conv call ``call``."""
        calls = self.meta.get("conv_calls", [])
        name = calls[call] if call < len(calls) else None
        info = next((l for l in self.meta.get("layers", []) if l["name"] == name), {})
        return get_source(info.get("source", "hfn"))

    def _scalar_const(self, node):
        for i in node.input:
            v = self.model.get_initializer(i)
            if v is not None and np.asarray(v).size == 1:
                return float(np.asarray(v).reshape(-1)[0])
        return None

    # -- node handlers --------------------------------------------------------------
    def _Quant(self, node):
        scale, qmin, qmax = self._quant_params(node)
        rep = self._rep(node, node.input[0])
        if rep == "raw":
            c, h, w = self.meta["input_shape"]
            if qmin < 0 or qmax > 255:
                raise self._err(node, "the input quantiser must be unsigned 8-bit or narrower",
                                "use an 8-bit unsigned input quantiser")
            self.input_scale = scale
            self.reps[node.output[0]] = IntRep(self._new_tensor("input", (h, w, c), qmin, qmax,
                                                                scale), scale)
            return
        chain = rep if isinstance(rep, Chain) else Chain(rep, node.input[0], [])
        src = self.tensors[chain.src.tensor]
        sets = [_thresholds(self.model, chain, node, src, scale, qmin, qmax)]
        name = f"rq{len(self.ops)}"
        out = self._new_tensor(name, src.shape, qmin, qmax, scale)
        self.ops.append(Op("requant", name, [src.name], out,
                           {"out_min": qmin, "sets": sets}))
        self.reps[node.output[0]] = IntRep(out, scale)

    def _Conv(self, node):
        rep = self._rep(node, node.input[0])
        if not isinstance(rep, IntRep):
            raise self._err(node, "convolution of a tensor that is not quantised",
                            "put a quantiser before every convolution")
        w = self.model.get_initializer(node.input[1])
        if w is None:
            raise self._err(node, "weights are not a constant initializer")
        if len(node.input) > 2 and node.input[2]:
            raise self._err(node, "convolution bias is not supported", "use bias=False")
        if int(_attr(node, "group", 1)) != 1 or any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            raise self._err(node, "grouped or dilated convolution is not supported")
        pads = list(_attr(node, "pads", [0, 0, 0, 0]))
        strides = list(_attr(node, "strides", [1, 1]))
        k = list(w.shape[2:])
        if len(set(pads)) != 1 or len(set(strides)) != 1 or k[0] != k[1]:
            raise self._err(node, "only square kernels with symmetric padding and stride")
        try:
            tern, mag = self._weight_source(self.calls).integer_weights(w)
        except ValueError as e:
            raise self._err(node, str(e), "the layer's weight source cannot make these "
                            "weights: re-export with 'hfn-hls export'") from None
        call = self.calls
        self.calls += 1
        self.call_weights[call] = tern
        src = self.tensors[rep.tensor]
        co = tern.shape[0]
        if src.shape[2] != tern.shape[3]:
            raise self._err(node, f"weight expects {tern.shape[3]} input channels, tensor has "
                            f"{src.shape[2]}")
        s, p = strides[0], pads[0]
        ho = (src.shape[0] + 2 * p - k[0]) // s + 1
        wo = (src.shape[1] + 2 * p - k[1]) // s + 1
        r = conv_output_range(tern, None, Interval.of(src))
        name = f"conv{call}"
        out = self._new_tensor(name, (ho, wo, co), r.lo, r.hi, rep.scale * mag)
        self.ops.append(Op("conv", name, [src.name], out,
                           {"layer": None, "kernel": k[0], "stride": s, "pad": p,
                            "call": call}))
        self.reps[node.output[0]] = IntRep(out, rep.scale * mag)

    def _chain(self, node, src_input: str):
        rep = self._rep(node, src_input)
        if rep == "raw":
            raise self._err(node, "float op on the unquantised input",
                            "quantise the input first")
        chain = rep if isinstance(rep, Chain) else Chain(rep, src_input, [])
        self.reps[node.output[0]] = Chain(chain.src, chain.src_name, chain.nodes + [node])

    def _Mul(self, node):
        data = [i for i in node.input if self.model.get_initializer(i) is None]
        if len(data) != 1:
            raise self._err(node, "multiplication of two tensors is not supported")
        self._chain(node, data[0])

    def _BatchNormalization(self, node):
        self._chain(node, node.input[0])

    def _Relu(self, node):
        self._chain(node, node.input[0])

    def _Add(self, node):
        data = [i for i in node.input if self.model.get_initializer(i) is None]
        if len(data) == 1:
            return self._chain(node, data[0])
        a, b = (self._rep(node, i) for i in node.input)
        if not (isinstance(a, IntRep) and isinstance(b, IntRep)):
            raise self._err(node, "residual addition of tensors that are not quantised",
                            "quantise both operands with one shared quantiser")
        if a.scale != b.scale:
            raise self._err(node, f"residual operands have different scales ({a.scale} and "
                            f"{b.scale})", "quantise both operands with one shared quantiser")
        ta, tb = self.tensors[a.tensor], self.tensors[b.tensor]
        if ta.shape != tb.shape:
            raise self._err(node, f"operand shapes differ ({ta.shape} and {tb.shape})")
        name = f"add{len(self.ops)}"
        out = self._new_tensor(name, ta.shape, ta.lo + tb.lo, ta.hi + tb.hi, a.scale)
        self.ops.append(Op("add", name, [ta.name, tb.name], out))
        self.reps[node.output[0]] = IntRep(out, a.scale)

    def _GlobalAveragePool(self, node):
        rep = self._rep(node, node.input[0])
        if not isinstance(rep, IntRep):
            raise self._err(node, "pooling of a tensor that is not quantised")
        t = self.tensors[rep.tensor]
        n = t.shape[0] * t.shape[1]
        name = f"pool{len(self.ops)}"
        out = self._new_tensor(name, (1, 1, t.shape[2]), min(0, t.lo * n), max(0, t.hi * n),
                               rep.scale / n)
        self.ops.append(Op("global_sum", name, [t.name], out))
        self.reps[node.output[0]] = IntRep(out, rep.scale / n)

    def _MaxPool(self, node):
        rep = self._rep(node, node.input[0])
        if not isinstance(rep, IntRep):
            raise self._err(node, "pooling of a tensor that is not quantised")
        k = list(_attr(node, "kernel_shape"))
        s = list(_attr(node, "strides", [1, 1]))
        p = list(_attr(node, "pads", [0, 0, 0, 0]))
        if len(set(k)) != 1 or len(set(s)) != 1 or len(set(p)) != 1 or _attr(node, "ceil_mode", 0):
            raise self._err(node, "only square max pooling with symmetric padding")
        t = self.tensors[rep.tensor]
        ho = (t.shape[0] + 2 * p[0] - k[0]) // s[0] + 1
        wo = (t.shape[1] + 2 * p[0] - k[0]) // s[0] + 1
        name = f"maxpool{len(self.ops)}"
        out = self._new_tensor(name, (ho, wo, t.shape[2]), t.lo, t.hi, rep.scale)
        self.ops.append(Op("maxpool", name, [t.name], out,
                           {"kernel": k[0], "stride": s[0], "pad": p[0]}))
        self.reps[node.output[0]] = IntRep(out, rep.scale)

    def _Flatten(self, node):
        self.reps[node.output[0]] = self._rep(node, node.input[0])

    _Reshape = _Flatten


# -- thresholds -------------------------------------------------------------------------

def _chain_model(model: ModelWrapper, chain: Chain, quant: onnx.NodeProto, channels: int,
                 n: int):
    """A small ONNX model of the chain's nodes + the Quant, input (1, C, n, 1)."""
    nodes = list(chain.nodes) + [quant]
    inits, seen = [], set()
    for node in nodes:
        for i in node.input:
            v = model.get_initializer(i)
            if v is not None and i not in seen:
                seen.add(i)
                inits.append(onnx.numpy_helper.from_array(np.asarray(v), i))
    x = helper.make_tensor_value_info(chain.src_name, onnx.TensorProto.FLOAT,
                                      [1, channels, n, 1])
    y = helper.make_tensor_value_info(quant.output[0], onnx.TensorProto.FLOAT,
                                      [1, channels, n, 1])
    g = helper.make_graph(nodes, "chain", [x], [y], initializer=inits)
    m = helper.make_model(g, opset_imports=list(model.model.opset_import))
    return ModelWrapper(m).transform(InferShapes())


def _thresholds(model: ModelWrapper, chain: Chain, quant, src: Tensor, s_out: float,
                qmin: int, qmax: int) -> dict:
    """Per-channel thresholds and directions of ``quant(chain(scale * x))`` on [lo, hi]."""
    c = src.shape[2]
    models: dict[int, ModelWrapper] = {}
    s_in = chain.src.scale
    in_name, out_name = chain.src_name, quant.output[0]

    def f(x_int: np.ndarray) -> np.ndarray:   # (C, N) ints -> (C, N) output codes
        n = x_int.shape[1]
        if n not in models:
            models[n] = _chain_model(model, chain, quant, c, n)
        cm = models[n]
        x = (x_int.astype(np.float64) * s_in).astype(np.float32)[None, :, :, None]
        y = execute_onnx(cm, {in_name: x})[out_name]
        return np.rint(np.asarray(y, np.float64)[0, :, :, 0] / s_out).astype(np.int64)

    lo, hi = src.lo, src.hi
    ends = f(np.array([[lo, hi]] * c, dtype=np.int64))
    d = np.where(ends[:, 1] >= ends[:, 0], 1, -1).astype(np.int64)
    u_lo = np.where(d > 0, lo, -hi)
    u_hi = np.where(d > 0, hi, -lo)
    L = qmax - qmin
    level = qmin + np.arange(1, L + 1, dtype=np.int64)[None, :]
    a = np.repeat(u_lo[:, None], L, axis=1)
    b = np.repeat(u_hi[:, None] + 1, L, axis=1)
    while np.any(a < b):
        mid = (a + b) // 2
        mid = np.minimum(mid, u_hi[:, None])
        val = f(d[:, None] * mid)
        ok = (val >= level) & (a < b)
        b = np.where(ok, mid, b)
        a = np.where(~ok & (a < b), mid + 1, a)
    th = a
    if np.all(th == th[0]) and np.all(d == d[0]):
        th, d = th[:1], d[:1]
    return {"thresholds": th.tolist(), "direction": d.tolist()}
