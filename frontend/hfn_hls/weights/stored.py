"""Weight source ``stored``: integer weights of 2-8 bits kept in a ROM (docs/weight-sources.md).

The layers that are not generated: any Brevitas-quantised CNN (``export_qonnx`` without
HFN metadata), ``--method dense`` and ``layerfold`` exports, and the stored layers of a
model that mixes sources.  In the ONNX file their weights are a QONNX ``Quant`` node on
a float constant: ``w = scale * q`` with integer ``q`` of ``bits`` <= 8 bits and one
scale per tensor or per output channel (Brevitas ``Int8WeightPerTensorFloat``,
``Int8WeightPerChannelFloat``, ``Int8WeightPerTensorFixedPoint`` and narrower).  The
scale is not the source's business: the importer moves it into the requantisation that
follows (docs/arithmetic.md).

IR params: ``bits`` (the quantiser's width, 2..8), ``weights`` (hex, one byte per
weight, two's complement, canonical order ``[co][kh][kw][ci]`` of
docs/weight-generation.md), optional ``bias`` (one integer per output channel, in units
of the accumulator: added to it), ``scale`` (informational: the weight scale, one float
or one per output channel).

On chip: the weights at ``WB`` bits each (``WB`` = the signed width of the layer's
values, ``base.weight_width``) and the bias (its signed width per output channel).
Generators: ``hls_templates/hfn_wgen_stored.h`` (C++: a ROM ``W[CO][KC][P_IN]``) and
``rtl/hfn_wgen_stored.v`` (Verilog: one ROM word of P_OUT*P_IN weights per chunk, in
the lane order of hfn's mask ROM); the lanes multiply (WB > 2).
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..cpp import nested
from ..ir.model import range_bits
from . import register
from ..ints import ceil_div, decode, encode
from .base import (GeneratorCost, HlsGenerator, RomImage, RtlGenerator, WeightQuant,
                   WeightSource, weight_width)

MIN_BITS, MAX_BITS = 2, 8
_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def quantise(w: np.ndarray, q: WeightQuant) -> np.ndarray:
    """The integers a QONNX ``Quant`` node makes of ``w`` (qonnx's ``int_quant`` in its
    float32 arithmetic: divide, clamp, round), as int64."""
    lo = -(1 << (q.bits - 1)) + int(q.narrow) if q.signed else 0
    hi = (1 << (q.bits - 1)) - 1 if q.signed else (1 << q.bits) - 1 - int(q.narrow)
    from qonnx.custom_op.general.quant import resolve_rounding_mode

    y = np.asarray(w, np.float32) / np.asarray(q.scale, np.float32)
    y = np.clip(y, np.float32(lo), np.float32(hi))
    return resolve_rounding_mode(q.rounding)(y).astype(np.int64)


def channel_scale(scale: np.ndarray) -> "float | np.ndarray":
    """One scale (float) or one per output channel (axis 0) of a scale broadcast to OIHW;
    ValueError if it varies along another axis."""
    s = np.asarray(scale, np.float64)
    per = s.reshape(s.shape[0], -1)
    if not np.all(per == per[:, :1]):
        raise ValueError("the weight scale varies inside an output channel (only per-tensor "
                         "and per-output-channel scales are supported)")
    col = per[:, 0]
    return float(col[0]) if np.all(col == col[0]) else col


def check_params(params, shape=None) -> None:
    """ValueError(reason) if ``params`` are not a stored layer's params for a layer of
    ``shape`` [co, kh, kw, ci] (``StoredSource.validate_params``)."""
    if not isinstance(params, dict):
        raise ValueError("params is not an object")
    for k in ("bits", "weights"):
        if k not in params:
            raise ValueError(f"params lack {k!r}")
    bits = params["bits"]
    if not isinstance(bits, int) or isinstance(bits, bool) or not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits {bits!r} is not an integer in {MIN_BITS}..{MAX_BITS}")
    if not isinstance(params["weights"], str) or not _HEX.fullmatch(params["weights"]):
        raise ValueError("weights is not a lower-case hex string of whole bytes")
    raw = bytes.fromhex(params["weights"])
    w = np.frombuffer(raw, np.int8).astype(np.int64)
    if shape is not None and w.size != int(np.prod(shape)):
        raise ValueError(f"{w.size} weights, the shape {list(shape)} has "
                         f"{int(np.prod(shape))}")
    lim = 1 << (bits - 1)
    if w.size and (w.min() < -lim or w.max() >= lim):
        raise ValueError(f"weights outside the signed {bits}-bit range")
    bias = params.get("bias")
    if bias is not None:
        if not isinstance(bias, list) or not all(isinstance(b, int) and
                                                 not isinstance(b, bool) for b in bias):
            raise ValueError("bias is not a list of integers")
        if shape is not None and len(bias) != shape[0]:
            raise ValueError(f"{len(bias)} bias values for {shape[0]} output channels")
        if bias and max(abs(b) for b in bias) >= 1 << 31:
            raise ValueError("bias values exceed 32 bits")
    scale = params.get("scale")
    if scale is not None:
        vals = scale if isinstance(scale, list) else [scale]
        if not vals or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and
                               math.isfinite(v) and v > 0 for v in vals):
            raise ValueError("scale is not a finite number > 0 or a list of them")
        if isinstance(scale, list) and shape is not None and len(scale) != shape[0]:
            raise ValueError(f"{len(scale)} scales for {shape[0]} output channels")


@register
class StoredSource(WeightSource):
    name = "stored"
    hls_header = "hfn_wgen_stored.h"
    rtl_files = ("hfn_wgen_stored.v",)
    generated = False

    # -- IR loader ----------------------------------------------------------------------
    def validate_params(self, layer, graph) -> str | None:
        try:
            check_params(layer.params, layer.shape)
        except ValueError as e:
            return f"params: {e}"
        return None

    # -- importer -----------------------------------------------------------------------
    def integer_weights(self, w: np.ndarray, quant: WeightQuant | None = None):
        if quant is None:
            raise ValueError("float weights without a Quant node (the layer is not "
                             "quantised)")
        if quant.bits > MAX_BITS:
            raise ValueError(f"weight width {quant.bits} bits exceeds {MAX_BITS}")
        if quant.bits < MIN_BITS or not quant.signed:
            raise ValueError(f"weights must be signed integers of {MIN_BITS}..{MAX_BITS} bits "
                             f"(this quantiser: {'' if quant.signed else 'un'}signed "
                             f"{quant.bits} bits)")
        scale = channel_scale(np.broadcast_to(quant.scale, w.shape))
        q = quantise(w, quant)
        return q.transpose(0, 2, 3, 1), scale                        # OIHW -> OHWI

    def mismatch(self, info: dict, w: np.ndarray, meta: dict) -> str | None:
        lim = 1 << (int(info["bits"]) - 1)
        if w.size and (w.min() < -lim or w.max() >= lim):
            return f"weights outside the signed {info['bits']}-bit range"
        return None

    def params(self, info: dict, w: np.ndarray) -> dict:
        p = {"bits": int(info["bits"]), "weights": encode(w)}
        if info.get("bias") is not None:
            p["bias"] = [int(b) for b in info["bias"]]
        s = info.get("scale")
        if s is not None:
            p["scale"] = float(s) if np.ndim(s) == 0 else [float(v) for v in s]
        return p

    # -- golden, ranges, report -----------------------------------------------------------
    def weights(self, layer, graph) -> np.ndarray:
        return decode(layer.params["weights"], layer.shape)

    def bias(self, layer, graph) -> np.ndarray | None:
        b = layer.params.get("bias")
        return None if b is None else np.asarray(b, dtype=np.int64)

    def wb(self, layer) -> int:
        """WB of the layer's ROM words (``base.weight_width`` of its values)."""
        w = self.weights(layer, None)
        return weight_width(int(w.min(initial=0)), int(w.max(initial=0)))

    def bias_bits(self, layer) -> int:
        b = self.bias(layer, None)
        return 0 if b is None else range_bits(min(int(b.min()), -1), max(int(b.max()), 0))

    def storage_bits(self, layer, graph) -> dict[str, int]:
        out = {"weights": layer.size * self.wb(layer)}
        if self.bias(layer, graph) is not None:
            out["bias"] = layer.shape[0] * self.bias_bits(layer)
        return out

    # -- HLS --------------------------------------------------------------------------------
    def hls_generator(self, layer, graph, lanes, ident: str) -> HlsGenerator:
        co, p_in, p_out = layer.shape[0], lanes.p_in, lanes.p_out
        k = layer.fan_in
        kc = ceil_div(k, p_in)
        wb = self.wb(layer)
        rom = np.zeros((co, kc * p_in), np.int64)
        rom[:, :k] = self.weights(layer, graph).reshape(co, k)
        config = (
            f"struct {ident}_w {{  // weights of layer {layer.name}: source stored "
            f"(hfn_wgen_stored.h)\n"
            f"    static const int CO = {co}, K = {k}, KC = {kc}, P_IN = {p_in}, WB = {wb};\n"
            f"    typedef hfn::weight<{wb}>::type w_t;\n"
            f"    typedef int8_t rom_t;\n"
            f"}};\n"
            f"// weights of layer {layer.name}: [co][kc][i] = weight k = kc*P_IN + i "
            f"(canonical order, 0 past K)\n"
            f"static const {ident}_w::rom_t W_{ident}[{co}][{kc}][{p_in}] = "
            f"{nested(rom.reshape(co, kc, p_in))};\n")
        pragmas = [f"#pragma HLS ARRAY_PARTITION variable = W_{ident} complete dim = 3"]
        if p_out > 1:
            pragmas.append(f"#pragma HLS ARRAY_PARTITION variable = W_{ident} cyclic factor = "
                           f"{p_out} dim = 1")
        return HlsGenerator(self.hls_header, config, f"hfn::wgen_stored<{ident}_w>",
                            f"{{W_{ident}}}", pragmas)

    def hls_cost(self, layer, graph, lanes) -> GeneratorCost:
        co, p_in, p_out = layer.shape[0], lanes.p_in, lanes.p_out
        kc = ceil_div(layer.fan_in, p_in)
        wb = self.wb(layer)
        banks = min(p_out, co)
        depth = ceil_div(co, banks)
        bits = self.storage_bits(layer, graph)
        declared = {"weights": co * kc * p_in * 8}
        if "bias" in bits:
            declared["bias"] = co * 32                           # int32_t BIAS_<id>[CO]
        return GeneratorCost(bits=bits, declared=declared,
                             memories=[(depth * kc, wb, banks * p_in)],
                             lut=banks * p_in * 8 * wb)     # LUT multipliers, ~8 x WB each

    # -- RTL ----------------------------------------------------------------------------------
    def rtl_generator(self, graph, lanes) -> RtlGenerator:
        wbs = [self.wb(l) for l in graph.layers.values() if l.source == self.name]
        return StoredRtlGenerator(lanes.p_out, lanes.p_in, max(wbs + [3]))


def lane_weight_words(w_ohwi: np.ndarray, p_out: int, p_in: int, wb: int) -> list[int]:
    """The weights in the RTL engine's lane order: one word of P_OUT*P_IN*WB bits per
    (group g, kh, kw, chunk c); weight (o, i) = W[g*P_OUT + o, kh, kw, c*P_IN + i] at bits
    [(o*P_IN + i)*WB +: WB], two's complement; 0 past the layer's channels."""
    co, kh, kw, ci = w_ohwi.shape
    g, nc = ceil_div(co, p_out), ceil_div(ci, p_in)
    m = np.zeros((g * p_out, kh, kw, nc * p_in), np.int64)
    m[:co, :, :, :ci] = w_ohwi
    m = m.reshape(g, p_out, kh, kw, nc, p_in).transpose(0, 2, 3, 4, 1, 5)
    rows = (m.reshape(-1, p_out * p_in) & ((1 << wb) - 1)).astype(object)
    shifts = [wb * j for j in range(p_out * p_in)]
    return [sum(int(v) << s for v, s in zip(r, shifts)) for r in rows]


class StoredRtlGenerator(RtlGenerator):
    """ROM ``weights`` (P_OUT*P_IN*WB bits per chunk, lane order, addressed by ``chunk``)
    behind ``rtl/hfn_wgen_stored.v``; a layer is placed once.  ``WB`` is the widest stored
    layer's; narrower layers are sign-extended into it."""

    addressed_by = {"weights": "chunk"}

    def __init__(self, p_out: int, p_in: int, wb: int):
        self.p_out, self.p_in, self.wb = p_out, p_in, wb
        self.words: list[int] = []
        self.bases: dict[str, tuple[int, int]] = {}

    def place(self, layer) -> tuple[int, int]:
        if layer.name not in self.bases:
            self.bases[layer.name] = (len(self.words), 0)
            w = StoredSource().weights(layer, None)
            self.words += lane_weight_words(w, self.p_out, self.p_in, self.wb)
        return self.bases[layer.name]

    def roms(self) -> list[RomImage]:
        return [RomImage("weights", self.p_out * self.p_in * self.wb, list(self.words),
                         "weights")]

    def instance(self, tag: str, depths: dict[str, int], mem_dir: str) -> list[str]:
        return [
            f"    hfn_wgen_stored #(.P_OUT(P_OUT), .P_IN(P_IN), .NW(NW), .CAW(CAW), "
            f".CD({depths['weights']}), .GAW(GAW), .WB({self.wb}),",
            f"        .FILE({{{mem_dir}, \"/weights.mem\"}})) u_wgen_{tag} (",
            "        .clk(ap_clk), .issue(w_issue), .first(w_first), .n(w_n), "
            f".chunk(w_chunk), .group(w_group), .w(w_{tag}));"]
