"""ExtractIntegerGraph: the cleaned QONNX graph -> a flat (unfolded) IR graph.

Walks the nodes in order and tracks, for every float tensor, what it is in integers:
- ``IntRep``: exactly ``scale * t`` for an IR integer tensor ``t`` (Quant outputs,
  convolutions of those with integer weights, sums of equally scaled tensors, pools);
  ``scale`` is one float, or one per channel (a convolution with per-output-channel
  weight scales, until the next Quant);
- ``QConst``: a quantised constant (a Quant node on an initializer: stored weights, a
  quantised bias);
- ``Chain``: an element-wise float function of an IntRep (Mul by the layer constant,
  BatchNormalization, Relu, LeakyRelu, the add of a bias) still waiting for its Quant.
A Quant node closes a chain: the chain plus the Quant become one ``requant`` op whose
thresholds are found by bisection, evaluating those very ONNX nodes with qonnx's
``execute_onnx`` on candidate integer values (docs/arithmetic.md).

Weight sources (docs/weight-sources.md): a Conv (Gemm, MatMul) whose weights come from a
Quant node is a ``stored`` layer, named after its ONNX node; one whose weights are a
plain float initializer is a generated layer of the ``hfn`` metadata (its ``conv_calls``
list those in order; ``VerifyWeights`` names them), refused without that metadata.  A
Gemm / MatMul is a convolution whose kernel covers its (flattened) input map: NCHW
flatten order, mapped to the IR's channels-last layout.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes

from ...errors import HfnError
from ...weights import WeightQuant, get_source
from ..model import Graph, Layer, Op, Tensor
from ..ranges import Interval, conv_output_range

ORIGIN = "hfn-hls-origin:"          # doc_string tag of a node's name before qonnx's clean-up
MAX_BIAS = 1 << 31


def tag_origins(model) -> None:
    """Remember each node's exported name (qonnx's clean-up renames nodes) so that layers
    and errors can use it."""
    for n in model.graph.node:
        n.doc_string = ORIGIN + n.name


def origin(node) -> str:
    d = node.doc_string or ""
    return d[len(ORIGIN):] if d.startswith(ORIGIN) else node.name


@dataclass
class IntRep:
    tensor: str
    scale: "float | np.ndarray"       # one, or one per channel (C,)


@dataclass
class QConst:
    """A Quant node on an initializer: ``values`` (float) and their quantiser."""

    node: onnx.NodeProto
    values: np.ndarray
    quant: WeightQuant


@dataclass
class Chain:
    src: IntRep
    src_name: str                      # the ONNX float tensor that equals src
    nodes: list = field(default_factory=list)


@dataclass
class FlatResult:
    graph: Graph
    call_weights: dict                 # generated-conv call index -> OHWI integer array
    input_scale: float
    output_scale: float


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def uniform(scale) -> "float | np.ndarray":
    """A scale as one float when all channels share it, else the (C,) array."""
    s = np.asarray(scale, np.float64).reshape(-1)
    return float(s[0]) if np.all(s == s[0]) else s


def _same_scale(a, b) -> bool:
    """Do two scales (floats or per-channel arrays) describe the same per-channel scale?"""
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    n = max(a.size, b.size)
    return a.size in (1, n) and b.size in (1, n) and \
        np.array_equal(np.broadcast_to(a, (n,)), np.broadcast_to(b, (n,)))


class ExtractIntegerGraph:
    """``apply(model) -> FlatResult``; errors name the ONNX node (its exported name).

    ``meta`` is the ``hfn`` metadata of a model with generated layers, else None."""

    def __init__(self, where: str, meta: dict | None, name: str = "model"):
        self.where, self.meta, self.name = where, meta, name

    # -- helpers ------------------------------------------------------------------
    def _err(self, node, reason: str, fix: str = "") -> HfnError:
        return HfnError(f"{self.where} node {origin(node)!r} ({node.op_type})", reason,
                        fix or "see docs/ir.md for the supported networks")

    def _new_tensor(self, name: str, shape, lo: int, hi: int, scale) -> str:
        if name in self.tensors:
            raise AssertionError(f"duplicate tensor {name}")
        s = uniform(scale)
        info = float(s) if np.ndim(s) == 0 else float(np.max(s))   # informational
        self.tensors[name] = Tensor(name, [int(x) for x in shape], int(lo), int(hi), info)
        return name

    def _const(self, node, name: str):
        v = self.model.get_initializer(name)
        if v is None:
            raise self._err(node, f"input {name!r} is not a constant")
        return np.asarray(v)

    def _quant_form(self, node):
        """(scale array, zero point, bits, signed, narrow, rounding) of a Quant node."""
        scale = self._const(node, node.input[1])
        zp = self._const(node, node.input[2])
        bits = self._const(node, node.input[3])
        if np.any(zp != 0):
            raise self._err(node, "non-zero zero point is not supported",
                            "use symmetric quantisers")
        if bits.size != 1 or float(bits.reshape(-1)[0]) != int(bits.reshape(-1)[0]):
            raise self._err(node, "the bit width is not one integer")
        mode = _attr(node, "rounding_mode", "ROUND")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        return (scale, int(bits.reshape(-1)[0]), bool(_attr(node, "signed", 1)),
                bool(_attr(node, "narrow", 0)), mode)

    def _quant_params(self, node):
        scale, b, signed, narrow, rounding = self._quant_form(node)
        if scale.size != 1:
            raise self._err(node, "per-channel activation scales are not supported",
                            "use per-tensor activation quantisers")
        if rounding.upper() not in ("ROUND", "HALF_EVEN"):
            raise self._err(node, f"activation rounding mode {rounding} is not supported",
                            "use round-half-to-even (Brevitas' default)")
        if signed:
            qmin, qmax = -(1 << (b - 1)) + narrow, (1 << (b - 1)) - 1
        else:
            qmin, qmax = 0, (1 << b) - 1 - narrow
        return float(scale.reshape(-1)[0]), qmin, qmax

    def _rep(self, node, name: str):
        r = self.reps.get(name)
        if r is None:
            raise self._err(node, f"input {name!r} is neither quantised nor derived from a "
                            "quantised tensor", "quantise it (a Quant node, e.g. a Brevitas "
                            "QuantIdentity)")
        if isinstance(r, QConst):
            raise self._err(node, f"input {name!r} is a quantised constant, not a feature map")
        return r

    def _int_rep(self, node, name: str, what: str) -> IntRep:
        rep = self._rep(node, name)
        if not isinstance(rep, IntRep):
            raise self._err(node, f"{what} of a tensor that is not quantised",
                            f"quantise the input of the {what} (a Quant node after the "
                            "activation)")
        return rep

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
        self.consumers: dict[str, int] = {}
        for n in model.graph.node:
            for i in n.input:
                self.consumers[i] = self.consumers.get(i, 0) + 1
        graph_in = model.graph.input[0].name
        self.reps[graph_in] = "raw"
        for node in model.graph.node:
            handler = getattr(self, "_" + node.op_type, None)
            if handler is None:
                raise self._err(node, "op type not supported")
            handler(node)
        if self.meta is not None and self.calls != len(self.meta["conv_calls"]):
            raise HfnError(self.where, f"the graph has {self.calls} generated Conv nodes (float "
                           f"weights) but the metadata lists {len(self.meta['conv_calls'])} "
                           "conv calls", "re-export with 'hfn-hls export'")
        out_name = model.graph.output[0].name
        rep = self.reps.get(out_name)
        out_scale = 1.0
        where = f"{self.where} output {out_name!r}"
        fix = "end the network with the classifier (a conv or linear layer)"
        if isinstance(rep, Chain):
            for n in rep.nodes:
                if n.op_type == "Identity":
                    continue
                c = self._scalar_const(n)
                if n.op_type != "Mul" or c is None:
                    if n.op_type == "Add" and n.name.startswith("hfn_bias"):
                        raise HfnError(where, "the output layer's bias is not a multiple of its "
                                       "accumulator scale", "quantise the bias (Brevitas "
                                       "bias_quant=Int32Bias) or use bias=False")
                    raise HfnError(where, "the output is not a scaled integer tensor", fix)
                out_scale *= c
            rep = rep.src
        if not isinstance(rep, IntRep):
            raise HfnError(where, "the output is not a scaled integer tensor", fix)
        if np.ndim(rep.scale) != 0:
            raise HfnError(where, "the output layer has per-channel weight scales, so the "
                           "output codes would have one scale per class", "use a per-tensor "
                           "weight quantiser for the classifier")
        out_scale *= rep.scale
        g = Graph(name=self.name, input="input", output=rep.tensor,
                  tensors=self.tensors, layers=self.layers, ops=self.ops)
        return FlatResult(g, self.call_weights, self.input_scale, out_scale)

    def _weight_source(self, call: int):
        """The weight source of the layer the metadata expects at generated call ``call``."""
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

    def _layer_name(self, node) -> str:
        """A stored layer's name: its exported node name without the op ('/c1/Conv' ->
        'c1', '/blocks.0/convs.0/Conv' -> 'blocks.0.convs.0'), unique."""
        parts = [p for p in origin(node).split("/") if p]
        if len(parts) >= 2 and re.fullmatch(r"[A-Za-z]+(_\d+)?", parts[-1]):
            parts = parts[:-1]
        base = ".".join(parts) if parts and not re.fullmatch(r"[A-Za-z]+_\d+", parts[0]) \
            else f"layer{len(self.layers)}"
        name, k = base, 1
        while name in self.layers:
            k += 1
            name = f"{base}_{k}"
        return name

    # -- node handlers --------------------------------------------------------------
    def _Quant(self, node):
        if self.model.get_initializer(node.input[0]) is not None:   # weights, a bias
            scale, bits, signed, narrow, rounding = self._quant_form(node)
            values = np.asarray(self.model.get_initializer(node.input[0]), np.float32)
            try:
                full = np.broadcast_to(np.asarray(scale, np.float32), values.shape)
            except ValueError:
                raise self._err(node, f"scale shape {list(scale.shape)} does not fit the "
                                f"constant {list(values.shape)}") from None
            self.reps[node.output[0]] = QConst(node, values,
                                               WeightQuant(full, bits, signed, narrow, rounding))
            return
        scale, qmin, qmax = self._quant_params(node)
        rep = self._rep(node, node.input[0])
        if rep == "raw":
            if qmin < 0 or qmax > 255:
                raise self._err(node, "the input quantiser must be unsigned 8-bit or narrower",
                                "use an 8-bit unsigned input quantiser (e.g. Brevitas "
                                "Uint8ActPerTensorFloat)")
            shape = self.model.get_tensor_shape(node.input[0])
            if shape is None or len(shape) != 4:
                raise self._err(node, f"the network input has shape {shape}, not (N, C, H, W)",
                                "the input must be an image")
            _, c, h, w = shape
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

    def _weights(self, node, name: str, gemm_in: tuple | None = None):
        """(OIHW float weights, their WeightQuant or None) of a Conv / Gemm / MatMul;
        ``gemm_in`` = (rows as [out, F] are the weights transposed?, H, W, C)."""
        q = self.reps.get(name)
        if isinstance(q, QConst):
            w, s = q.values, np.asarray(q.quant.scale)
        else:
            v = self.model.get_initializer(name)
            if v is None:
                raise self._err(node, "weights are not a constant (or a Quant node on one)")
            w, s = np.asarray(v, np.float32), None
        if gemm_in is not None:
            transposed, h, wd, c = gemm_in
            if w.ndim != 2:
                raise self._err(node, f"weights of shape {list(w.shape)} are not a matrix")
            if not transposed:
                w = w.T
                s = None if s is None else s.T
            if w.shape[1] != h * wd * c:
                raise self._err(node, f"weights expect {w.shape[1]} inputs, the flattened map "
                                f"has {h * wd * c} ({c}x{h}x{wd})")
            # NCHW flatten order: input f = (c*H + h)*W + w  ->  OIHW [out][c][h][w]
            w = w.reshape(w.shape[0], c, h, wd)
            s = None if s is None else s.reshape(w.shape)
        if not isinstance(q, QConst):
            return w, None
        qq = q.quant
        return w, WeightQuant(s, qq.bits, qq.signed, qq.narrow, qq.rounding)

    def _bias(self, node, name: str, acc_scale, co: int):
        """(integer bias or None, float bias to add in the chain or None) of ``name``."""
        q = self.reps.get(name)
        s = np.broadcast_to(np.asarray(acc_scale, np.float64).reshape(-1), (co,))
        if isinstance(q, QConst):
            from ...weights.stored import quantise
            ints = quantise(q.values, q.quant).reshape(-1)
            sb = np.asarray(q.quant.scale, np.float64).reshape(-1)
            if ints.size in (1, co) and sb.size in (1, co) and \
                    np.allclose(sb, s, rtol=1e-6, atol=0) and np.all(np.abs(ints) < MAX_BIAS):
                # quantised with the accumulator's scale (Brevitas Int32Bias): its integers
                return [int(x) for x in np.broadcast_to(ints, (co,))], None
            b = ints.astype(np.float32) * np.asarray(q.quant.scale, np.float32).reshape(-1)
        else:
            v = self.model.get_initializer(name)
            if v is None:
                raise self._err(node, "the bias is not a constant")
            b = np.asarray(v, np.float32)
        b = np.broadcast_to(b.reshape(-1), (co,)).astype(np.float32)
        k = np.rint(b.astype(np.float64) / s)
        if np.all(np.abs(k) < MAX_BIAS) and np.array_equal((k * s).astype(np.float32), b):
            return [int(x) for x in k], None
        return None, b

    def _conv_op(self, node, rep: IntRep, w_oihw, quant, kernel, stride, pad, bias_name):
        """The IR conv of a Conv / Gemm / MatMul node; its output rep."""
        if np.ndim(rep.scale) != 0:
            raise self._err(node, "the input has per-channel scales (a convolution's output "
                            "not requantised)", "quantise the tensor before this layer")
        if quant is not None:
            src = get_source("stored")
        elif self.meta is not None:
            src = self._weight_source(self.calls)
        else:
            raise self._err(node, "float weights without a Quant node: the layer is not "
                            "quantised", "quantise its weights (e.g. Brevitas QuantConv2d / "
                            "QuantLinear); an HFN model needs its 'hfn' metadata "
                            "(hfn-hls export)")
        try:
            ints, w_scale = src.integer_weights(w_oihw, quant)
        except ValueError as e:
            raise self._err(node, str(e), "re-export with 'hfn-hls export'" if quant is None
                            else "quantise the weights to 2..8-bit signed integers") from None
        t = self.tensors[rep.tensor]
        co = ints.shape[0]
        if t.shape[2] != ints.shape[3]:
            raise self._err(node, f"weight expects {ints.shape[3]} input channels, tensor has "
                            f"{t.shape[2]}")
        acc_scale = uniform(rep.scale * np.asarray(w_scale, np.float64))
        bias, fbias = (None, None)
        if bias_name:
            bias, fbias = self._bias(node, bias_name, acc_scale, co)
            if quant is None and bias is not None:
                raise self._err(node, "a generated (hfn) layer with a bias", "use bias=False")
        ho = (t.shape[0] + 2 * pad - kernel) // stride + 1
        wo = (t.shape[1] + 2 * pad - kernel) // stride + 1
        if ho < 1 or wo < 1:
            raise self._err(node, f"the kernel {kernel} does not fit the {t.shape[0]}x"
                            f"{t.shape[1]} input with padding {pad}")
        r = conv_output_range(ints, None if bias is None else np.asarray(bias), Interval.of(t))
        attrs = {"layer": None, "kernel": kernel, "stride": stride, "pad": pad}
        if quant is None:
            attrs["call"] = self.calls
            self.call_weights[self.calls] = ints
            name = f"conv{self.calls}"
            self.calls += 1
        else:
            lname = self._layer_name(node)
            info = {"bits": quant.bits, "bias": bias, "scale": w_scale}
            self.layers[lname] = Layer(lname, list(ints.shape), src.name,
                                       src.params(info, ints))
            attrs["layer"] = lname
            name = f"conv_{lname}"
        out = self._new_tensor(name, (ho, wo, co), r.lo, r.hi, acc_scale)
        self.ops.append(Op("conv", name, [t.name], out, attrs))
        res = IntRep(out, acc_scale)
        if fbias is None:
            self.reps[node.output[0]] = res
            return
        # a bias that is not a multiple of the accumulator scale: the first op of the
        # float chain towards the next Quant (its thresholds absorb it)
        bname = f"hfn_bias_{name}"
        self.model.set_initializer(bname, fbias.reshape(1, co, 1, 1))
        pre = f"{node.output[0]}__hfn_nobias"
        add = helper.make_node("Add", [pre, bname], [node.output[0]], name=f"hfn_bias_add_{name}")
        self.reps[node.output[0]] = Chain(res, pre, [add])

    def _Conv(self, node):
        rep = self._int_rep(node, node.input[0], "convolution")
        if int(_attr(node, "group", 1)) != 1:
            raise self._err(node, f"grouped convolution (group={_attr(node, 'group')}) is not "
                            "supported", "use group=1 (no depthwise convolutions)")
        if any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            raise self._err(node, "dilated convolution is not supported", "use dilation=1")
        w, quant = self._weights(node, node.input[1])
        if w.ndim != 4:
            raise self._err(node, "only 2-D convolutions are supported")
        pads = list(_attr(node, "pads", [0, 0, 0, 0]))
        strides = list(_attr(node, "strides", [1, 1]))
        if _attr(node, "auto_pad", b"NOTSET") not in ("NOTSET", b"NOTSET"):
            raise self._err(node, "auto_pad is not supported", "give explicit pads")
        k = list(w.shape[2:])
        if k[0] != k[1]:
            raise self._err(node, f"rectangular kernel {k[0]}x{k[1]}",
                            "only square kernels are supported")
        if len(set(pads)) != 1:
            raise self._err(node, f"asymmetric padding {pads}",
                            "only the same padding on every side is supported")
        if len(set(strides)) != 1:
            raise self._err(node, f"different strides {strides}",
                            "only the same stride in both directions is supported")
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        self._conv_op(node, rep, w, quant, k[0], strides[0], pads[0], bias)

    def _linear(self, node, weights: str, transposed: bool, bias: str | None):
        """Gemm / MatMul on a flattened map: a convolution whose kernel is the map."""
        rep = self._int_rep(node, node.input[0], "linear layer")
        shape = self.model.get_tensor_shape(node.input[0])
        if shape is not None and len(shape) != 2:
            raise self._err(node, f"input of shape {shape} is not (N, features)",
                            "flatten the map first")
        h, wd, c = self.tensors[rep.tensor].shape
        if h != wd:
            raise self._err(node, f"the flattened map is {h}x{wd}: a rectangular kernel",
                            "only square maps can be flattened into a linear layer")
        w, quant = self._weights(node, weights, (transposed, h, wd, c))
        self._conv_op(node, rep, w, quant, h, 1, 0, bias)

    def _Gemm(self, node):
        if _attr(node, "transA", 0) or float(_attr(node, "alpha", 1.0)) != 1.0 or \
                float(_attr(node, "beta", 1.0)) != 1.0:
            raise self._err(node, "Gemm with transA, alpha or beta is not supported",
                            "export a plain linear layer")
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        self._linear(node, node.input[1], bool(_attr(node, "transB", 0)), bias)

    def _MatMul(self, node):
        self._linear(node, node.input[1], False, None)

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

    def _LeakyRelu(self, node):
        self._chain(node, node.input[0])

    def _Add(self, node):
        data = [i for i in node.input if self.model.get_initializer(i) is None]
        if len(data) == 1:
            if self._bias_after_linear(node, data[0]):
                return
            return self._chain(node, data[0])
        a, b = (self._rep(node, i) for i in node.input)
        if not (isinstance(a, IntRep) and isinstance(b, IntRep)):
            raise self._err(node, "residual addition of tensors that are not quantised",
                            "quantise both operands with one shared quantiser")
        if not _same_scale(a.scale, b.scale):
            raise self._err(node, f"residual operands have different scales ({a.scale} and "
                            f"{b.scale})", "quantise both operands with one shared quantiser")
        ta, tb = self.tensors[a.tensor], self.tensors[b.tensor]
        if ta.shape != tb.shape:
            raise self._err(node, f"operand shapes differ ({ta.shape} and {tb.shape})")
        name = f"add{len(self.ops)}"
        out = self._new_tensor(name, ta.shape, ta.lo + tb.lo, ta.hi + tb.hi, a.scale)
        self.ops.append(Op("add", name, [ta.name, tb.name], out))
        self.reps[node.output[0]] = IntRep(out, a.scale)

    def _bias_after_linear(self, node, data: str) -> bool:
        """MatMul (or Conv) + Add of a constant that is an integer multiple of the
        accumulator scale: the bias of that stored layer (True if taken)."""
        rep = self.reps.get(data)
        op = self.ops[-1] if self.ops else None
        if not isinstance(rep, IntRep) or op is None or op.kind != "conv" or \
                op.output != rep.tensor or self.consumers.get(data, 0) != 1:
            return False
        layer = self.layers.get(op.attrs["layer"])
        if layer is None or layer.source != "stored" or "bias" in layer.params:
            return False
        const = next(i for i in node.input if i != data)
        co = layer.shape[0]
        b = np.asarray(self.model.get_initializer(const))
        if b.size not in (1, co):
            return False
        bias, _ = self._bias(node, const, rep.scale, co)
        if bias is None:
            return False
        src = get_source(layer.source)
        layer.params["bias"] = bias
        t = self.tensors[op.output]
        r = conv_output_range(src.weights(layer, None), np.asarray(bias),
                              Interval.of(self.tensors[op.inputs[0]]))
        t.lo, t.hi = r.lo, r.hi
        self.reps[node.output[0]] = rep
        return True

    def _global_sum(self, node, rep: IntRep):
        t = self.tensors[rep.tensor]
        n = t.shape[0] * t.shape[1]
        name = f"pool{len(self.ops)}"
        out = self._new_tensor(name, (1, 1, t.shape[2]), min(0, t.lo * n), max(0, t.hi * n),
                               rep.scale / n)
        self.ops.append(Op("global_sum", name, [t.name], out))
        self.reps[node.output[0]] = IntRep(out, uniform(rep.scale / n))

    def _GlobalAveragePool(self, node):
        self._global_sum(node, self._int_rep(node, node.input[0], "pooling"))

    def _AveragePool(self, node):
        rep = self._int_rep(node, node.input[0], "pooling")
        t = self.tensors[rep.tensor]
        k = list(_attr(node, "kernel_shape"))
        p = list(_attr(node, "pads", [0, 0, 0, 0]))
        if k != t.shape[:2] or any(p) or _attr(node, "ceil_mode", 0):
            raise self._err(node, f"average pooling with a {k[0]}x{k[1]} window on a "
                            f"{t.shape[0]}x{t.shape[1]} map", "only a window covering the "
                            "whole map (global average pooling) is supported")
        self._global_sum(node, rep)

    def _MaxPool(self, node):
        rep = self._int_rep(node, node.input[0], "pooling")
        k = list(_attr(node, "kernel_shape"))
        s = list(_attr(node, "strides", [1, 1]))
        p = list(_attr(node, "pads", [0, 0, 0, 0]))
        if len(set(k)) != 1 or len(set(s)) != 1 or len(set(p)) != 1 or \
                _attr(node, "ceil_mode", 0) or any(d != 1 for d in _attr(node, "dilations",
                                                                         [1, 1])):
            raise self._err(node, "only square max pooling with one stride and symmetric "
                            "padding (no ceil_mode, no dilation) is supported")
        t = self.tensors[rep.tensor]
        if p[0] >= k[0]:
            raise self._err(node, f"padding {p[0]} is not smaller than the window {k[0]}")
        ho = (t.shape[0] + 2 * p[0] - k[0]) // s[0] + 1
        wo = (t.shape[1] + 2 * p[0] - k[0]) // s[0] + 1
        name = f"maxpool{len(self.ops)}"
        out = self._new_tensor(name, (ho, wo, t.shape[2]), t.lo, t.hi, rep.scale)
        self.ops.append(Op("maxpool", name, [t.name], out,
                           {"kernel": k[0], "stride": s[0], "pad": p[0]}))
        self.reps[node.output[0]] = IntRep(out, rep.scale)

    def _Transpose(self, node):
        """Brevitas' QuantLinear on a float tensor: MatMul(x, Transpose(Quant(W)))."""
        q = self.reps.get(node.input[0])
        if not isinstance(q, QConst):
            raise self._err(node, "transposing a feature map is not supported",
                            "only a linear layer's weights may be transposed")
        perm = _attr(node, "perm")
        perm = list(perm) if perm is not None else list(range(q.values.ndim))[::-1]
        qq = q.quant
        self.reps[node.output[0]] = QConst(q.node, q.values.transpose(perm), WeightQuant(
            np.asarray(qq.scale).transpose(perm), qq.bits, qq.signed, qq.narrow, qq.rounding))

    def _Flatten(self, node):
        rep = self._rep(node, node.input[0])
        if int(_attr(node, "axis", 1)) != 1:
            raise self._err(node, "only flattening to (N, features) is supported")
        self._pass_through(node, rep)

    def _Reshape(self, node):
        shape = self.model.get_tensor_shape(node.output[0])
        if shape is None or len(shape) != 2:
            raise self._err(node, f"a reshape to {shape}, not a flatten to (N, features)")
        self._pass_through(node, self._rep(node, node.input[0]))

    def _pass_through(self, node, rep) -> None:
        """A flatten keeps the values: the same rep (inside a float chain, an Identity)."""
        if isinstance(rep, Chain):
            ident = helper.make_node("Identity", [node.input[0]], [node.output[0]],
                                     name=f"hfn_flatten_{node.output[0]}")
            rep = Chain(rep.src, rep.src_name, rep.nodes + [ident])
        self.reps[node.output[0]] = rep


# -- thresholds -------------------------------------------------------------------------

def _chain_model(model: ModelWrapper, chain: Chain, quant: onnx.NodeProto, channels: int,
                 n: int):
    """A small ONNX model of the chain's nodes + the Quant, input (1, C, n, 1)."""
    nodes = list(chain.nodes) + [quant]
    inits, seen = [], set()
    for node in nodes:
        for i in node.input:
            v = model.get_initializer(i)
            if v is not None and i not in seen and i != chain.src_name:
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
    s_in = np.asarray(chain.src.scale, np.float64).reshape(-1, 1)   # (1, 1) or (C, 1)
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
