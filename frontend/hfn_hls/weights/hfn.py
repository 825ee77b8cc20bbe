"""Weight source ``hfn``: w = sign(LFSR(seed)) * mask (docs/weight-generation.md).

IR params: ``seed`` (the layer's 32-bit LFSR seed, derived from the model seed),
``mask`` (the supermask packed as hex, ``hfn_hls.mask``), ``k`` (the kept fraction the
mask was searched with; informative).  On chip: the mask (1 bit per unique weight) and
one 32-bit LFSR start state per output channel.  Generators: ``hls_templates/
hfn_wgen_hfn.h`` (C++) and ``rtl/hfn_wgen_hfn.v`` (Verilog, with ``rtl/hfn_lfsr_leap.v``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from pydantic import Field, ValidationError

from .. import lfsr
from .. import mask as maskpack
from ..cpp import native, nested, nums
from ..validate import Doc, Finite, NonNegInt, U32
from ..ints import ceil_div
from . import register
from .base import GeneratorCost, HlsGenerator, RomImage, RtlGenerator, WeightSource

STATE_BITS = 32


class _HfnLayerMeta(Doc):
    """What an ``hfn`` layer of the metadata holds beyond the common keys."""

    index: NonNegInt
    seed: U32
    k: Finite = Field(gt=0, le=1)
    c: Optional[Finite] = None


class _HfnParams(Doc):
    """IR params of an ``hfn`` layer."""

    seed: U32
    mask: str = Field(pattern=r"^([0-9a-f]{2})*$")
    k: Finite = Field(ge=0, le=1)         # 0: unknown (IR version 1)


def mask_of(layer) -> np.ndarray:
    """The {0,1} supermask, uint8, [co][kh][kw][ci]."""
    return maskpack.unpack(layer.params["mask"], tuple(layer.shape))


def signs_of(seed: int, shape_ohwi) -> np.ndarray:
    """The ±1 LFSR signs of a layer, int8, [co][kh][kw][ci]."""
    co, kh, kw, ci = shape_ohwi
    b = lfsr.sign_bits(int(seed), co, kh * kw * ci).reshape(co, kh, kw, ci)
    return 1 - 2 * b.astype(np.int8)


def channel_mask_words(layer, p_in: int) -> np.ndarray:
    """The mask as ROM words of P_IN bits per output channel, (co, KC) uint64: bit i of
    word kc = mask bit of weight k = kc*P_IN + i of the channel (0 past K)."""
    co = layer.shape[0]
    k = layer.fan_in
    kc = ceil_div(k, p_in)
    m = np.zeros((co, kc * p_in), dtype=np.uint64)
    m[:, :k] = mask_of(layer).reshape(co, k)
    weights = np.uint64(1) << np.arange(p_in, dtype=np.uint64)
    return (m.reshape(co, kc, p_in) * weights).sum(axis=2, dtype=np.uint64)


def lane_mask_words(layer, p_out: int, p_in: int) -> list[int]:
    """The mask in the RTL engine's lane order: one word of P_OUT*P_IN bits per (group g,
    kh, kw, chunk c); bit o*P_IN + i = mask of channel g*P_OUT + o at kernel index
    (kh, kw, c*P_IN + i); padding bits 0."""
    co, kh, kw, ci = layer.shape
    g, nc = ceil_div(co, p_out), ceil_div(ci, p_in)
    m = np.zeros((g * p_out, kh, kw, nc * p_in), np.uint8)
    m[:co, :, :, :ci] = mask_of(layer)
    m = m.reshape(g, p_out, kh, kw, nc, p_in).transpose(0, 2, 3, 4, 1, 5)
    rows = m.reshape(-1, p_out * p_in)
    packed = np.packbits(rows, axis=1, bitorder="little")
    return [int.from_bytes(r.tobytes(), "little") for r in packed]


def lane_state_words(layer, p_out: int) -> list[int]:
    """One word of 32*P_OUT bits per group: the start states of its channels."""
    co = layer.shape[0]
    st = lfsr.channel_start_states(int(layer.params["seed"]), co, layer.fan_in)
    out = []
    for g in range(ceil_div(co, p_out)):
        w = 0
        for o in range(p_out):
            if g * p_out + o < co:
                w |= int(st[g * p_out + o]) << (STATE_BITS * o)
        out.append(w)
    return out


@register
class HfnSource(WeightSource):
    name = "hfn"
    hls_header = "hfn_wgen_hfn.h"
    rtl_files = ("hfn_lfsr_leap.v", "hfn_wgen_hfn.v")

    # -- importer ----------------------------------------------------------------------
    def check_metadata(self, info: dict, meta: dict) -> str | None:
        from ..validate import error_text
        try:
            _HfnLayerMeta.model_validate(info)
        except ValidationError as e:
            return error_text(e.errors()[0])
        seed = int(info["seed"])
        if lfsr.derive_seed(int(meta["model_seed"]), int(info["index"])) != seed:
            return (f"seed 0x{seed:08x} does not follow from model seed {meta['model_seed']} "
                    f"and layer index {info['index']}")
        return None

    def validate_params(self, layer, graph) -> str | None:
        from ..validate import error_text
        try:
            p = _HfnParams.model_validate(layer.params)
        except ValidationError as e:
            return "params: " + error_text(e.errors()[0])
        n = (layer.size + 7) // 8
        if len(p.mask) != 2 * n:
            return (f"params: the mask has {len(p.mask) // 2} bytes, the shape {layer.shape} "
                    f"needs {n}")
        return None

    def integer_weights(self, w: np.ndarray, quant=None) -> tuple[np.ndarray, float]:
        if quant is not None:
            raise ValueError("hfn weights are a plain initializer, not a Quant node")
        mags = np.unique(np.abs(w[w != 0]))
        if mags.size > 1:
            raise ValueError("weights are not ternary (several non-zero magnitudes)")
        mag = float(mags[0]) if mags.size else 1.0
        return np.rint(w / mag).astype(np.int8).transpose(0, 2, 3, 1), mag   # OIHW -> OHWI

    def mismatch(self, info: dict, w: np.ndarray, meta: dict) -> str | None:
        nz = w != 0
        s = signs_of(info["seed"], w.shape)
        bad = int((s[nz] != w[nz]).sum()) + int((np.abs(w[nz]) != 1).sum())
        if bad:
            return (f"{bad} of {int(nz.sum())} non-zero weights do not match the LFSR stream "
                    f"of seed 0x{int(info['seed']):08x}")
        return None

    def params(self, info: dict, w: np.ndarray) -> dict:
        return {"seed": int(info["seed"]), "mask": maskpack.pack((w != 0).astype(np.uint8)),
                "k": float(info["k"])}

    # -- golden, ranges, report ----------------------------------------------------------
    def weights(self, layer, graph) -> np.ndarray:
        return (signs_of(layer.params["seed"], layer.shape) * mask_of(layer)).astype(np.int64)

    def weight_range(self, layer, graph) -> tuple[int, int]:
        return (-1, 1)          # what the generator emits: WB = 2, add / subtract / skip

    def storage_bits(self, layer, graph) -> dict[str, int]:
        return {"mask": layer.size, "lfsr_states": STATE_BITS * layer.shape[0]}

    # -- HLS --------------------------------------------------------------------------------
    def hls_generator(self, layer, graph, lanes, ident: str) -> HlsGenerator:
        co, p_in, p_out = layer.shape[0], lanes.p_in, lanes.p_out
        k = layer.fan_in
        kc = ceil_div(k, p_in)
        mask_c, _ = native(0, (1 << p_in) - 1)
        fmt = "0x{:x}" + ("ull" if p_in > 32 else "u")
        states = lfsr.channel_start_states(int(layer.params["seed"]), co, k)
        config = (
            f"struct {ident}_w {{  // weights of layer {layer.name}: source hfn (hfn_wgen_hfn.h)\n"
            f"    static const int CO = {co}, K = {k}, KC = {kc}, P_IN = {p_in}, WB = 2;\n"
            f"    typedef hfn::weight<2>::type w_t;\n"
            f"    typedef {mask_c} mask_rom_t;\n"
            f"}};\n"
            f"// supermask of layer {layer.name}: [co][kc], bit i of word kc = weight kc*P_IN+i\n"
            f"static const {ident}_w::mask_rom_t MASK_{ident}[{co}][{kc}] = "
            f"{nested(channel_mask_words(layer, p_in), fmt)};\n"
            f"// LFSR start state of each output channel of layer {layer.name}\n"
            f"static const hfn::lfsr_rom_t STATE_{ident}[{co}] = "
            f"{nums(states, '0x{:08x}u')};\n")
        pragmas = []
        if p_out > 1:
            pragmas = [f"#pragma HLS ARRAY_PARTITION variable = {a}_{ident} cyclic factor = "
                       f"{p_out} dim = 1" for a in ("MASK", "STATE")]
        return HlsGenerator(self.hls_header, config, f"hfn::wgen_hfn<{ident}_w>",
                            f"{{MASK_{ident}, STATE_{ident}}}", pragmas)

    def hls_cost(self, layer, graph, lanes) -> GeneratorCost:
        co, p_in, p_out = layer.shape[0], lanes.p_in, lanes.p_out
        kc = ceil_div(layer.fan_in, p_in)
        _, mask_bits = native(0, (1 << p_in) - 1)
        banks = min(p_out, co)                      # MASK / STATE partitioned by P_OUT
        depth = ceil_div(co, banks)
        return GeneratorCost(
            bits={"mask": co * kc * p_in, "lfsr_states": STATE_BITS * co},
            declared={"mask": co * kc * mask_bits, "lfsr_states": STATE_BITS * co},
            memories=[(depth * kc, p_in, banks), (depth, STATE_BITS, banks)],
            lut=banks * (STATE_BITS + 2 * p_in),          # the leap-forward XOR network
            ff=banks * STATE_BITS)                         # the lanes' LFSR states

    # -- RTL ----------------------------------------------------------------------------------
    def rtl_generator(self, graph, lanes) -> RtlGenerator:
        return HfnRtlGenerator(lanes.p_out, lanes.p_in)


class HfnRtlGenerator(RtlGenerator):
    """ROMs ``mask`` (P_OUT*P_IN bits per chunk, lane order) and ``state`` (32*P_OUT bits
    per group) behind ``rtl/hfn_wgen_hfn.v``; a folded layer is placed once."""

    wb = 2
    addressed_by = {"mask": "chunk", "state": "group"}

    def __init__(self, p_out: int, p_in: int):
        self.p_out, self.p_in = p_out, p_in
        self.masks: list[int] = []
        self.states: list[int] = []
        self.bases: dict[str, tuple[int, int]] = {}

    def place(self, layer) -> tuple[int, int]:
        if layer.name not in self.bases:
            self.bases[layer.name] = (len(self.masks), len(self.states))
            self.masks += lane_mask_words(layer, self.p_out, self.p_in)
            self.states += lane_state_words(layer, self.p_out)
        return self.bases[layer.name]

    def roms(self) -> list[RomImage]:
        return [RomImage("mask", self.p_out * self.p_in, list(self.masks), "mask"),
                RomImage("state", STATE_BITS * self.p_out, list(self.states), "state")]

    def instance(self, tag: str, depths: dict[str, int], mem_dir: str) -> list[str]:
        return [
            f"    hfn_wgen_hfn #(.P_OUT(P_OUT), .P_IN(P_IN), .NW(NW), .CAW(CAW), "
            f".CD({depths['mask']}), .GAW(GAW), .GD({depths['state']}),",
            f"        .MASK_FILE({{{mem_dir}, \"/mask.mem\"}}), "
            f".STATE_FILE({{{mem_dir}, \"/state.mem\"}})) u_wgen_{tag} (",
            "        .clk(ap_clk), .issue(w_issue), .first(w_first), .n(w_n), "
            f".chunk(w_chunk), .group(w_group), .w(w_{tag}));"]
