"""Weight source ``rpg``: Recurrent Parameter Generators (docs/weight-generation.md,
section "source: rpg").

Every RPG layer takes its weights from ONE shared ring of ``N`` trained integers (the
graph's shared store ``ring``): weight ``i`` of a layer (canonical order
``[co][kh][kw][ci]``) is ``ring[(a*i + b) mod N] * s_i`` where ``(a, b)`` are the
layer's affine map parameters (derived from the model seed and the layer's index) and
``s_i = ±1`` the layer's LFSR sign stream (the LFSR of source ``hfn``).  The layer's float
scale (ring scale x per-layer constant) is folded into the requantisation.

IR params: ``ring`` (name of the shared store), ``index`` (the layer's number),
``seed`` (LFSR sign seed), ``a``, ``b`` (the map), ``scale`` (informational).
Shared store ``ring``: ``{kind: "rpg-ring", n, bits, narrow, values (hex, one byte per
entry, two's complement), scale}``.

On chip: the ring (``N * bits``, banked by ``P_IN``, one copy per output lane), per
output channel a 32-bit LFSR state and a ring start index.  Generators:
``hls_templates/hfn_wgen_rpg.h`` (C++) and ``rtl/hfn_wgen_rpg.v`` (Verilog, with
``rtl/hfn_lfsr_leap.v``); the lanes multiply (WB = ring bits).
"""
from __future__ import annotations

from math import gcd
from typing import Optional

import numpy as np
from pydantic import Field, ValidationError

from .. import lfsr
from ..cpp import nums
from ..errors import HfnError
from ..validate import Doc, Finite, Name, NonNegInt, PosInt, U32
from ..ints import ceil_div, decode, encode
from . import register
from .base import GeneratorCost, HlsGenerator, RomImage, RtlGenerator, WeightSource
from .hfn import signs_of

RING = "ring"                 # the name of the shared store in Graph.shared
RING_KIND = "rpg-ring"
ALIGN = 64                    # N is a multiple of this: P_IN banks for any P_IN | 64
MAP_SALT = 0x52504731         # "RPG1": the map's seeds differ from the sign seeds
MIN_BITS, MAX_BITS = 4, 8
STATE_BITS = 32


class _RpgLayerMeta(Doc):
    """What an ``rpg`` layer of the metadata holds beyond the common keys."""

    index: NonNegInt
    seed: U32 = Field(ge=1)
    a: U32
    b: U32
    ring: Name = "ring"
    n: Optional[PosInt] = None
    c: Optional[Finite] = None
    scale: Optional[Finite] = None


class _RpgParams(Doc):
    """IR params of an ``rpg`` layer."""

    ring: Name
    index: NonNegInt = 0
    seed: U32 = Field(ge=1)
    a: U32
    b: U32
    scale: Optional[Finite] = None


# -- the contract: ring size, map, signs -------------------------------------------------

def ring_size(dof: float, virtual: int) -> int:
    """N for ``--dof F``: F < 1 a fraction of the virtual weights, else an absolute size;
    rounded up to a multiple of ALIGN (at least ALIGN)."""
    n = dof * virtual if dof < 1 else dof
    return max(ALIGN, ceil_div(int(np.ceil(n)), ALIGN) * ALIGN)


def derive_map(model_seed: int, index: int, n: int) -> tuple[int, int]:
    """(a, b) of layer ``index``: h = derive_seed(model_seed ^ MAP_SALT, index),
    h2 = derive_seed(h, 0); b = h mod N; a = 2*(h2 mod N/2) + 1, then the next odd
    number (mod N) until gcd(a, N) = 1."""
    h = lfsr.derive_seed((int(model_seed) ^ MAP_SALT) & lfsr.MASK32, int(index))
    h2 = lfsr.derive_seed(h, 0)
    b = h % n
    a = 2 * (h2 % (n // 2)) + 1
    while gcd(a, n) != 1:
        a = (a + 2) % n
    return a, b


def sign_seed(model_seed: int, index: int) -> int:
    return lfsr.derive_seed(int(model_seed), int(index))


def ring_indices(a: int, b: int, n: int, shape) -> np.ndarray:
    """Ring index of every weight, int64 [co, kh, kw, ci]: (a*i + b) mod N."""
    t = int(np.prod(shape))
    i = np.arange(t, dtype=np.int64)
    return ((i * (a % n)) % n + b) % n if t else i.reshape(tuple(shape))


def layer_indices(a, b, n, shape) -> np.ndarray:
    return ring_indices(a, b, n, shape).reshape(tuple(shape))


def make_weights(ring: np.ndarray, a: int, b: int, seed: int, shape) -> np.ndarray:
    """The integer weights [co, kh, kw, ci]: ring[(a*i + b) mod N] * sign_i."""
    ring = np.asarray(ring, np.int64)
    idx = layer_indices(a, b, ring.size, shape)
    return ring[idx] * signs_of(seed, tuple(shape)).astype(np.int64)


def start_indices(a: int, b: int, n: int, co: int, k: int) -> np.ndarray:
    """Ring index of weight 0 of each output channel: (a*co*K + b) mod N."""
    c = np.arange(co, dtype=np.int64)
    return ((c * k) % n * (a % n) % n + b) % n


def offsets(a: int, n: int, p_in: int) -> list[int]:
    """(a*i) mod N for i = 0..P_IN: lane i of a chunk reads start + offset[i]."""
    return [(a * i) % n for i in range(p_in + 1)]


def quant_range(bits: int, narrow: bool = True) -> tuple[int, int]:
    lim = 1 << (bits - 1)
    return -lim + int(bool(narrow)), lim - 1


def check_ring(store) -> str | None:
    """The reason a shared ring store is invalid, or None."""
    if not isinstance(store, dict):
        return "the ring is not an object"
    for k in ("n", "bits", "values"):
        if k not in store:
            return f"the ring lacks {k!r}"
    n, bits = store["n"], store["bits"]
    if not isinstance(n, int) or n < ALIGN or n % ALIGN:
        return f"ring size {n!r} is not a positive multiple of {ALIGN}"
    if not isinstance(bits, int) or not MIN_BITS <= bits <= MAX_BITS:
        return f"ring width {bits!r} is not {MIN_BITS}..{MAX_BITS} bits"
    try:
        v = decode(store["values"])
    except (ValueError, TypeError):
        return "ring values are not a hex string"
    if v.size != n:
        return f"the ring holds {v.size} values, its size is {n}"
    lo, hi = quant_range(bits, store.get("narrow", True))
    bad = np.flatnonzero((v < lo) | (v > hi))
    if bad.size:
        return (f"ring entry {int(bad[0])} = {int(v[bad[0]])} is outside the "
                f"{bits}-bit quantiser's range [{lo}, {hi}]")
    return None


def ring_of(graph, layer=None) -> np.ndarray:
    """The ring's integers (validated); an HfnError naming the layer if it is missing."""
    name = (layer.params.get("ring", RING) if layer is not None else RING)
    store = (graph.shared if graph is not None else {}).get(name)
    where = f"layer {layer.name}" if layer is not None else "rpg ring"
    if store is None:
        raise HfnError(where, f"the shared ring {name!r} is missing from the graph",
                       "make the IR again with 'hfn-hls ir model.onnx'")
    reason = check_ring(store)
    if reason:
        raise HfnError(where, reason, "re-export the model with 'hfn-hls export'")
    return decode(store["values"])


def ring_store(graph, layer=None) -> dict:
    ring_of(graph, layer)
    return graph.shared[(layer.params.get("ring", RING) if layer is not None else RING)]


def ring_bits(graph) -> int:
    return int(graph.shared[RING]["bits"])


def pow2_lanes(p_in: int, n: int, where: str) -> None:
    if p_in & (p_in - 1) or ALIGN % p_in or n % p_in:
        raise HfnError(where, f"P_IN = {p_in} lanes cannot read a ring of {n} entries "
                       f"from P_IN banks", f"use a power of two <= {ALIGN} as P_IN "
                       "(e.g. --lanes 4x8)")


@register
class RpgSource(WeightSource):
    name = "rpg"
    hls_header = "hfn_wgen_rpg.h"
    rtl_files = ("hfn_lfsr_leap.v", "hfn_wgen_rpg.v")

    # -- IR loader ----------------------------------------------------------------------
    def validate_params(self, layer, graph) -> str | None:
        from ..validate import error_text
        try:
            p = _RpgParams.model_validate(layer.params)
        except ValidationError as e:
            return "params: " + error_text(e.errors()[0])
        if p.a % 2 == 0:
            return (f"params: a = {p.a} is even (the map must be a bijection and bankable)")
        store = (graph.shared if graph is not None else {}).get(p.ring)
        if graph is not None:
            if store is None:
                return f"params: the shared ring {p.ring!r} is missing from the graph"
            reason = check_ring(store)
            if reason:
                return f"shared ring {p.ring!r}: {reason}"
            n = int(store["n"])
            if p.a >= n or p.b >= n or gcd(p.a, n) != 1:
                return (f"params: the map a = {p.a}, b = {p.b} is not a bijection of a ring "
                        f"of {n} entries")
        return None

    # -- importer -----------------------------------------------------------------------
    def check_metadata(self, info: dict, meta: dict) -> str | None:
        from ..validate import error_text
        try:
            _RpgLayerMeta.model_validate(info)
        except ValidationError as e:
            return error_text(e.errors()[0])
        store = (meta.get("shared") or {}).get(info.get("ring", RING))
        if store is None:
            return f"the metadata has no shared ring {info.get('ring', RING)!r}"
        reason = check_ring(store)
        if reason:
            return reason
        n = int(store["n"])
        if "n" in info and int(info["n"]) != n:
            return f"the layer was made for a ring of {info['n']} entries, the ring has {n}"
        idx = int(info["index"])
        seed = sign_seed(int(meta["model_seed"]), idx)
        if int(info["seed"]) != seed:
            return (f"sign seed 0x{int(info['seed']):08x} does not follow from model seed "
                    f"{meta['model_seed']} and layer index {idx}")
        a, b = derive_map(int(meta["model_seed"]), idx, n)
        if (int(info["a"]), int(info["b"])) != (a, b):
            return (f"map parameters a={info['a']}, b={info['b']} are not those of model seed "
                    f"{meta['model_seed']}, layer index {idx} and ring size {n} (a={a}, b={b})")
        return None

    def integer_weights(self, w: np.ndarray, quant=None):
        if quant is not None:
            raise ValueError("rpg weights are a plain initializer (ring integers x signs), "
                             "not a Quant node")
        q = np.rint(w)
        if not np.array_equal(q.astype(np.float32), np.asarray(w, np.float32)):
            raise ValueError("rpg weights are not integers (the layer scale belongs in the "
                             "Mul after the Conv)")
        return q.astype(np.int64).transpose(0, 2, 3, 1), 1.0          # OIHW -> OHWI

    def mismatch(self, info: dict, w: np.ndarray, meta: dict) -> str | None:
        store = meta["shared"][info.get("ring", RING)]
        ring = decode(store["values"])
        want = make_weights(ring, int(info["a"]), int(info["b"]), int(info["seed"]),
                            w.shape)
        bad = int((want != w).sum())
        if bad:
            first = np.argwhere(want != w)[0]
            return (f"{bad} of {w.size} weights are not ring[(a*i + b) mod N] x sign (first "
                    f"at [co, kh, kw, ci] = {[int(x) for x in first]}: {int(w[tuple(first)])}"
                    f", the map gives {int(want[tuple(first)])})")
        return None

    def params(self, info: dict, w: np.ndarray) -> dict:
        p = {"ring": info.get("ring", RING), "index": int(info["index"]),
             "seed": int(info["seed"]), "a": int(info["a"]), "b": int(info["b"])}
        if info.get("scale") is not None:
            p["scale"] = float(info["scale"])
        return p

    def shared_stores(self, info: dict, meta: dict) -> dict:
        name = info.get("ring", RING)
        return {name: dict(meta["shared"][name])}

    # -- golden, ranges, report -----------------------------------------------------------
    def weights(self, layer, graph) -> np.ndarray:
        ring = ring_of(graph, layer)
        p = layer.params
        return make_weights(ring, int(p["a"]), int(p["b"]), int(p["seed"]), layer.shape)

    def weight_range(self, layer, graph) -> tuple[int, int]:
        bits = int(ring_store(graph, layer)["bits"])
        lo, hi = quant_range(bits, ring_store(graph, layer).get("narrow", True))
        return (min(lo, -hi), max(hi, -lo))      # a sign flip of any ring entry

    def storage_bits(self, layer, graph) -> dict[str, int]:
        n = int(ring_store(graph, layer)["n"])
        rw = max(1, (n - 1).bit_length())
        return {"lfsr_states": STATE_BITS * layer.shape[0], "ring_starts": rw * layer.shape[0]}

    def shared_bits(self, graph) -> dict[str, int]:
        s = ring_store(graph)
        return {"ring": int(s["n"]) * int(s["bits"])}

    # -- HLS --------------------------------------------------------------------------------
    def hls_generator(self, layer, graph, lanes, ident: str) -> HlsGenerator:
        store = ring_store(graph, layer)
        n, bits = int(store["n"]), int(store["bits"])
        co, p_in, p_out = layer.shape[0], lanes.p_in, lanes.p_out
        k = layer.fan_in
        kc = ceil_div(k, p_in)
        p = layer.params
        a, b = int(p["a"]), int(p["b"])
        wb = bits
        states = lfsr.channel_start_states(int(p["seed"]), co, k)
        ring = decode(store["values"])
        guard = f"HFN_RPG_RING_{p.get('ring', RING).upper()}"
        config = (
            f"#ifndef {guard}\n#define {guard}\n"
            f"// the RPG ring (shared by every rpg layer): {n} entries of {bits} bits\n"
            f"static const int8_t RPG_RING[{n}] = {nums(ring)};\n#endif\n"
            f"struct {ident}_w {{  // weights of layer {layer.name}: source rpg "
            f"(hfn_wgen_rpg.h), a = {a}, b = {b}\n"
            f"    static const int CO = {co}, K = {k}, KC = {kc}, P_IN = {p_in}, WB = {wb}, "
            f"N = {n};\n"
            f"    typedef hfn::weight<{wb}>::type w_t;\n"
            f"    typedef int8_t ring_t;\n"
            f"}};\n"
            f"// LFSR sign state and ring start index (a*co*K + b mod N) of each output channel\n"
            f"static const hfn::lfsr_rom_t STATE_{ident}[{co}] = "
            f"{nums(states, '0x{:08x}u')};\n"
            f"static const int START_{ident}[{co}] = "
            f"{nums(start_indices(a, b, n, co, k))};\n"
            f"// lane offsets a*i mod N, i = 0..P_IN\n"
            f"static const int OFF_{ident}[{p_in + 1}] = {nums(offsets(a, n, p_in))};\n")
        pragmas = [f"#pragma HLS ARRAY_PARTITION variable = RPG_RING cyclic factor = {p_in} "
                   "dim = 1"] if p_in > 1 else []
        if p_out > 1:
            pragmas += [f"#pragma HLS ARRAY_PARTITION variable = {x}_{ident} cyclic factor = "
                        f"{p_out} dim = 1" for x in ("STATE", "START")]
        return HlsGenerator(self.hls_header, config, f"hfn::wgen_rpg<{ident}_w>",
                            f"{{RPG_RING, STATE_{ident}, START_{ident}, OFF_{ident}}}",
                            pragmas)

    def hls_cost(self, layer, graph, lanes) -> GeneratorCost:
        store = ring_store(graph, layer)
        n, bits = int(store["n"]), int(store["bits"])
        co, p_in, p_out = layer.shape[0], lanes.p_in, lanes.p_out
        rw = max(1, (n - 1).bit_length())
        banks = min(p_out, co)
        depth = ceil_div(co, banks)
        return GeneratorCost(
            bits={"lfsr_states": STATE_BITS * co, "ring_starts": rw * co},
            declared={"lfsr_states": STATE_BITS * co, "ring_starts": 32 * co},
            memories=[(depth, STATE_BITS, banks), (depth, rw, banks)],
            # LFSR leap, P_IN modular adders, the P_IN x P_IN ring crossbar (4:1 per LUT)
            lut=banks * (STATE_BITS + 2 * p_in + 2 * p_in * rw + p_in * p_in * bits // 4),
            ff=banks * (STATE_BITS + rw))

    # -- RTL ----------------------------------------------------------------------------------
    def rtl_generator(self, graph, lanes) -> RtlGenerator:
        store = ring_store(graph)
        n = int(store["n"])
        pow2_lanes(lanes.p_in, n, f"--lanes {lanes}")
        return RpgRtlGenerator(lanes.p_out, lanes.p_in, n, int(store["bits"]),
                               decode(store["values"]))


def group_words(layer, p_out: int, p_in: int, n: int) -> list[int]:
    """One word per output-channel group: P_OUT ring start indices (RW bits each), then
    P_OUT LFSR start states (32 bits each), then the P_IN + 1 lane offsets (RW bits),
    then P_OUT bits: output lane o has a channel (lanes past the layer's emit 0)."""
    co, k = layer.shape[0], layer.fan_in
    rw = max(1, (n - 1).bit_length())
    p = layer.params
    a, b = int(p["a"]), int(p["b"])
    starts = start_indices(a, b, n, co, k)
    states = lfsr.channel_start_states(int(p["seed"]), co, k)
    offs = offsets(a, n, p_in)
    out = []
    for g in range(ceil_div(co, p_out)):
        w = 0
        for o in range(p_out):
            c = g * p_out + o
            if c < co:
                w |= int(starts[c]) << (rw * o)
                w |= int(states[c]) << (rw * p_out + STATE_BITS * o)
                w |= 1 << ((rw + STATE_BITS) * p_out + rw * (p_in + 1) + o)
        for i, v in enumerate(offs):
            w |= int(v) << ((rw + STATE_BITS) * p_out + rw * i)
        out.append(w)
    return out


def ring_banks(ring: np.ndarray, p_in: int) -> list[list[int]]:
    """The ring as P_IN banks: bank j holds ring[q*P_IN + j] at address q (two's
    complement words are written by the ROM image writer)."""
    return [list(map(int, col)) for col in np.asarray(ring, np.int64).reshape(-1, p_in).T]


class RpgRtlGenerator(RtlGenerator):
    """ROMs ``rpg_ring_b<j>`` (bank j of the ring: ring[q*P_IN + j] at address q, N / P_IN
    words of ``bits``; addressed by the generator's ``ring_addr``, one copy per output
    lane in the top) and ``rpg_group`` (one word per output-channel group, addressed by
    ``group``) behind ``rtl/hfn_wgen_rpg.v``."""

    addressed_by = {"rpg_group": "group"}

    def __init__(self, p_out: int, p_in: int, n: int, bits: int, ring: np.ndarray):
        self.p_out, self.p_in, self.n, self.bits = p_out, p_in, n, bits
        self.wb = bits
        self.rw = max(1, (n - 1).bit_length())
        mask = (1 << bits) - 1
        self.banks = [[v & mask for v in b] for b in ring_banks(ring, p_in)]
        self.baw = max(1, (n // p_in - 1).bit_length())
        self.groups: list[int] = []
        self.bases: dict[str, tuple[int, int]] = {}

    def place(self, layer) -> tuple[int, int]:
        if layer.name not in self.bases:
            self.bases[layer.name] = (0, len(self.groups))
            self.groups += group_words(layer, self.p_out, self.p_in, self.n)
        return self.bases[layer.name]

    def roms(self) -> list[RomImage]:
        gw = (self.rw + STATE_BITS + 1) * self.p_out + self.rw * (self.p_in + 1)
        return [RomImage(f"rpg_ring_b{j}", self.bits, list(b), "ring")
                for j, b in enumerate(self.banks)] + \
            [RomImage("rpg_group", gw, list(self.groups), "rpg_group")]

    def instance(self, tag: str, depths: dict[str, int], mem_dir: str) -> list[str]:
        pw, rb, baw = self.p_out * self.p_in, self.bits, self.baw
        nd = depths["rpg_ring_b0"]
        out = [
            f"    wire [{pw * baw - 1}:0] ring_addr_{tag};",
            f"    wire [{pw * rb - 1}:0] ring_q_{tag};",
            f"    hfn_wgen_rpg #(.P_OUT(P_OUT), .P_IN(P_IN), .NW(NW), .CAW(CAW), "
            f".GAW(GAW), .GD({depths['rpg_group']}), .N({self.n}), .RW({self.rw}), "
            f".RB({rb}), .BAW({baw}),",
            f"        .GROUP_FILE({{{mem_dir}, \"/rpg_group.mem\"}})) u_wgen_{tag} (",
            "        .clk(ap_clk), .issue(w_issue), .first(w_first), .n(w_n), "
            f".chunk(w_chunk), .group(w_group), .w(w_{tag}),",
            f"        .ring_addr(ring_addr_{tag}), .ring_q(ring_q_{tag}));",
            f"    // the banked ring: bank j of output lane o (P_OUT copies of P_IN banks)",
            f"    genvar ring_o_{tag};",
            f"    generate for (ring_o_{tag} = 0; ring_o_{tag} < {self.p_out}; "
            f"ring_o_{tag} = ring_o_{tag} + 1) begin : g_ring_{tag}"]
        for j in range(self.p_in):
            k = f"(ring_o_{tag}*{self.p_in} + {j})"
            out.append(
                f"        hfn_rom #(.W({rb}), .D({nd}), .AW({baw}), .FILE({{{mem_dir}, "
                f"\"/rpg_ring_b{j}.mem\"}})) u_b{j} (.clk(ap_clk), "
                f".addr(ring_addr_{tag}[{k}*{baw} +: {baw}]), .q(ring_q_{tag}[{k}*{rb} +: {rb}]));")
        out.append("    end endgenerate")
        return out
