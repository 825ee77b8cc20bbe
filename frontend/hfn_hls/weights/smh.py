"""Weight source ``smh``: Structured Multi-Hashing (docs/weight-generation.md, ``source: smh``).

All SMH layers of a network share one virtual ``n x n`` integer matrix ``A = L . R``
(``L``: ``n x r``, ``R``: ``r x n``, narrow signed integers of ``l_bits`` / ``r_bits``,
one power-of-two scale each, kept in ``Graph.shared[store]``).  A layer of shape
``[co, kh, kw, ci]`` takes the ``co*kh*kw*ci`` consecutive entries of ``A`` (row-major)
starting at its ``offset``, in the canonical order ``[co][kh][kw][ci]``; entry ``p`` is
``A[p // n, p % n]``.  Its integer weight is the exact dot product
``acc = sum_k L[row, k] * R[k, col]`` requantised by the layer's ``shift``
(docs/arithmetic.md, "SMH weights"):
``w = clamp((acc + 2^(shift-1)) >> shift, -(2^(wbits-1) - 1), 2^(wbits-1) - 1)``
(``w = clamp(acc)`` for shift 0).  The float scale of the layer (``sL * sR * 2^shift``
times the fan-out constant and the trained per-layer scalar) is a Mul after the Conv in the
ONNX file, absorbed by the requantisation that follows, like hfn's layer constant.

IR params: ``{store, offset, shift}``; the shared store (``Graph.shared[store]``):
``{kind: "smh", n, rank, l_bits, r_bits, wbits, L (hex, int8 row-major n x r),
R (hex, int8 row-major r x n), virtual_weights}``.

On chip: ``L`` and ``R`` in ROM (``n*r*l_bits + r*n*r_bits`` bits, counted once), nothing
per weight.  The generators compute a layer's weights once per pass (per inference) into
a transient weight buffer (working memory, reported apart from the model's storage) and
read it like ``stored``'s ROM: C++ ``hls_templates/hfn_wgen_smh.h``.
"""
from __future__ import annotations

import numpy as np

from ..cpp import nested
from ..errors import HfnError
from ..ints import ceil_div, decode, encode
from . import register
from .base import GeneratorCost, HlsGenerator, RomImage, RtlGenerator, WeightSource, weight_width

KIND = "smh"
MIN_RANK, MAX_RANK = 1, 1024        # the C++ / RTL dot-product counters; acc < 2^31
FACTOR_BITS = (2, 8)                # L, R: narrow signed integers of 2..8 bits
WBITS = (2, 8)                      # requantised weight width
MAX_SHIFT = 30


N_ALIGN = 64     # the trained models' n is a multiple of this (the Verilog generator's banks)


def matrix_side(virtual_weights: int, align: int = 1) -> int:
    """n = ceil(sqrt(P)) (the reference's variable_pool), rounded up to a multiple of
    ``align`` (the models: N_ALIGN, so that the RTL's P_IN column banks line up)."""
    n = int(np.ceil(np.sqrt(virtual_weights)))
    while n * n < virtual_weights:
        n += 1
    while n > 1 and (n - 1) * (n - 1) >= virtual_weights:
        n -= 1
    return ceil_div(n, align) * align


def rank_for(fraction: float, virtual_weights: int, align: int = 1) -> int:
    """r = floor(0.5 * f * P / n), at least 1 (the reference's variable_pool)."""
    n = matrix_side(virtual_weights, align)
    return max(1, int(np.floor(0.5 * fraction * virtual_weights / n)))


def requant(acc: np.ndarray, shift: int, wbits: int) -> np.ndarray:
    """The SMH weight rule (docs/arithmetic.md): round half up by an arithmetic right
    shift, then clamp to the narrow signed ``wbits`` range."""
    acc = np.asarray(acc, np.int64)
    v = acc if shift == 0 else (acc + (1 << (shift - 1))) >> shift
    lim = (1 << (wbits - 1)) - 1
    return np.clip(v, -lim, lim)


def layer_shift(acc: np.ndarray, wbits: int) -> int:
    """The smallest shift s >= 0 with max|acc| / 2^s <= 2^(wbits-1) - 1 (no clamping)."""
    m = int(np.max(np.abs(acc), initial=0))
    lim = (1 << (wbits - 1)) - 1
    s = 0
    while ((m + ((1 << (s - 1)) if s else 0)) >> s) > lim:
        s += 1
    return s


def slice_acc(L: np.ndarray, R: np.ndarray, offset: int, size: int) -> np.ndarray:
    """The exact integer dot products of entries offset .. offset+size-1 of L . R."""
    n = R.shape[1]
    if offset < 0 or offset + size > n * n:
        raise ValueError(f"the slice [{offset}, {offset + size}) runs past the end of the "
                         f"{n}x{n} virtual matrix ({n * n} entries)")
    p = offset + np.arange(size, dtype=np.int64)
    rows, cols = p // n, p % n
    return np.einsum("pk,kp->p", L[rows], R[:, cols])


def check_store(store: dict) -> str | None:
    """The reason a shared store is not a valid SMH store, or None."""
    if not isinstance(store, dict) or store.get("kind") != KIND:
        return "the shared store is not an SMH store (kind 'smh')"
    for k in ("n", "rank", "l_bits", "r_bits", "wbits", "L", "R"):
        if k not in store:
            return f"the SMH store lacks {k!r}"
    n, r = store["n"], store["rank"]
    if not isinstance(n, int) or n < 1:
        return f"n {n!r} is not a positive integer"
    if not isinstance(r, int) or not MIN_RANK <= r <= min(MAX_RANK, n):
        return (f"rank {r!r} is not supported (1 <= rank <= min({MAX_RANK}, n = {n}): the "
                "dot-product counters and a factorisation that compresses)")
    for k, rng in (("l_bits", FACTOR_BITS), ("r_bits", FACTOR_BITS), ("wbits", WBITS)):
        if not isinstance(store[k], int) or not rng[0] <= store[k] <= rng[1]:
            return f"{k} {store[k]!r} is not an integer in {rng[0]}..{rng[1]}"
    try:
        L = decode(store["L"], (n, r))
        R = decode(store["R"], (r, n))
    except ValueError as e:
        return f"factor data: {e}"
    for name, m, b in (("L", L, store["l_bits"]), ("R", R, store["r_bits"])):
        lim = (1 << (b - 1)) - 1
        if m.size and int(np.abs(m).max()) > lim:
            return f"{name} has values outside the narrow signed {b}-bit range"
    return None


def _params_schema():
    from pydantic import Field

    from ..validate import Closed, Name, NonNegInt

    class SmhParams(Closed):
        """IR params of an ``smh`` layer."""

        store: Name
        offset: NonNegInt
        shift: int = Field(ge=0, le=MAX_SHIFT)

    return SmhParams


_CACHE: dict[tuple, tuple] = {}


def factors(store: dict) -> tuple[np.ndarray, np.ndarray]:
    """(L, R) of a store as int64 matrices (decoded once: str hashes are cached)."""
    key = (store["L"], store["R"], store["n"], store["rank"])
    hit = _CACHE.get(key)
    if hit is None:
        n, r = store["n"], store["rank"]
        hit = (decode(store["L"], (n, r)), decode(store["R"], (r, n)))
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def store_weights(store: dict, offset: int, shift: int, shape) -> np.ndarray:
    """int64 [co, kh, kw, ci] of a layer (ValueError if the store or slice is invalid)."""
    reason = check_store(store)
    if reason:
        raise ValueError(reason)
    if not isinstance(shift, int) or not 0 <= shift <= MAX_SHIFT:
        raise ValueError(f"shift {shift!r} is not an integer in 0..{MAX_SHIFT}")
    L, R = factors(store)
    acc = slice_acc(L, R, int(offset), int(np.prod(shape)))
    return requant(acc, shift, store["wbits"]).reshape(tuple(shape))


@register
class SmhSource(WeightSource):
    name = "smh"
    hls_header = "hfn_wgen_smh.h"
    rtl_files = ("hfn_wgen_smh.v",)
    generated = True

    # -- IR loader ------------------------------------------------------------------------
    def validate_params(self, layer, graph) -> str | None:
        """Params ``{store, offset, shift}`` (pydantic schema below); with the graph: the
        store exists in ``graph.shared``, is a valid SMH store (rank, widths, factor
        values) and the layer's slice lies inside its n x n matrix."""
        from pydantic import ValidationError

        from ..validate import error_text
        try:
            p = _params_schema().model_validate(layer.params)
        except ValidationError as e:
            return "params: " + error_text(e.errors()[0])
        if graph is None:
            return None
        store = (getattr(graph, "shared", None) or {}).get(p.store)
        if store is None:
            return f"params: store {p.store!r} is not in the graph's shared stores"
        reason = check_store(store)
        if reason:
            return f"shared store {p.store!r}: {reason}"
        n = store["n"]
        if p.offset + layer.size > n * n:
            return (f"params: the slice [{p.offset}, {p.offset + layer.size}) runs past the "
                    f"end of the {n}x{n} virtual matrix ({n * n} entries)")
        return None

    # -- importer -------------------------------------------------------------------------
    def _store(self, info: dict, meta: dict) -> dict:
        stores = meta.get("shared") or {}
        name = info.get("store", KIND)
        if name not in stores:
            raise ValueError(f"the metadata has no shared store {name!r}")
        return stores[name]

    def check_metadata(self, info: dict, meta: dict) -> str | None:
        for k in ("offset", "shift", "shape_oihw"):
            if k not in info:
                return f"the SMH layer lacks {k!r}"
        try:
            store = self._store(info, meta)
        except ValueError as e:
            return str(e)
        reason = check_store(store)
        if reason:
            return reason
        n = store["n"]
        size = int(np.prod(info["shape_oihw"]))
        if info["offset"] < 0 or info["offset"] + size > n * n:
            return (f"its slice [{info['offset']}, {info['offset'] + size}) runs past the end "
                    f"of the {n}x{n} virtual matrix ({n * n} entries)")
        return None

    def integer_weights(self, w: np.ndarray, quant=None):
        if quant is not None:
            raise ValueError("SMH weights are a plain integer-valued initializer (the layer "
                             "scale is a Mul after the Conv), not a Quant node")
        q = np.rint(w).astype(np.int64)
        if not np.array_equal(q.astype(np.float32), np.asarray(w, np.float32)):
            raise ValueError("SMH weights are not integers")
        return q.transpose(0, 2, 3, 1), 1.0                          # OIHW -> OHWI

    def mismatch(self, info: dict, w: np.ndarray, meta: dict) -> str | None:
        try:
            ref = store_weights(self._store(info, meta), int(info["offset"]), int(info["shift"]),
                                w.shape)
        except ValueError as e:
            return str(e)
        bad = int(np.count_nonzero(ref != w))
        if bad:
            return (f"{bad} of {w.size} weights differ from L.R (slice at offset "
                    f"{info['offset']}, shift {info['shift']}): the factors do not reproduce "
                    "the weights")
        return None

    def shared_stores(self, info: dict, meta: dict) -> dict:
        name = info.get("store", KIND)
        return {name: meta["shared"][name]}

    def params(self, info: dict, w: np.ndarray) -> dict:
        return {"store": info.get("store", KIND), "offset": int(info["offset"]),
                "shift": int(info["shift"])}

    # -- golden ---------------------------------------------------------------------------
    def store_of(self, layer, graph) -> dict:
        name = layer.params["store"]
        stores = getattr(graph, "shared", None) or {}
        if name not in stores:
            raise HfnError(f"layer {layer.name}", f"its SMH store {name!r} is not in the "
                           "graph's shared stores", "re-export with 'hfn-hls export'")
        return stores[name]

    def weights(self, layer, graph) -> np.ndarray:
        try:
            return store_weights(self.store_of(layer, graph), layer.params["offset"],
                                 layer.params["shift"], layer.shape)
        except ValueError as e:
            raise HfnError(f"layer {layer.name}", str(e),
                           "re-export with 'hfn-hls export'") from None

    def wb(self, layer, graph) -> int:
        w = self.weights(layer, graph)
        return weight_width(int(w.min(initial=0)), int(w.max(initial=0)))

    # -- report ---------------------------------------------------------------------------
    def storage_bits(self, layer, graph) -> dict[str, int]:
        return {}           # nothing per weight: L and R are shared

    def shared_bits(self, graph) -> dict[str, int]:
        out = {"smh_L": 0, "smh_R": 0}
        names = sorted({l.params["store"] for l in graph.layers.values()
                        if l.source == self.name})
        for name in names:
            s = graph.shared[name]
            out["smh_L"] += s["n"] * s["rank"] * s["l_bits"]
            out["smh_R"] += s["rank"] * s["n"] * s["r_bits"]
        return out

    def shared_summary(self, graph) -> dict[str, dict]:
        """Per SMH store of the graph: n, rank and the trained factor values 2 n r."""
        out = {}
        for name in sorted({l.params["store"] for l in graph.layers.values()
                            if l.source == self.name}):
            st = graph.shared[name]
            out[name] = {"n": st["n"], "rank": st["rank"],
                         "factor_variables": 2 * st["n"] * st["rank"],
                         "virtual_weights": sum(l.size for l in graph.layers.values()
                                                if l.source == self.name and
                                                l.params["store"] == name)}
        return out

    def transient_bits(self, graph, p_in: int = 1) -> int:
        """The weight buffer of the largest SMH layer (working memory, not storage)."""
        sizes = [l.shape[0] * ceil_div(l.fan_in, p_in) * p_in * self.wb(l, graph)
                 for l in graph.layers.values() if l.source == self.name]
        return max(sizes, default=0)

    # -- HLS --------------------------------------------------------------------------------
    def hls_generator(self, layer, graph, lanes, ident: str) -> HlsGenerator:
        store = self.store_of(layer, graph)
        name = layer.params["store"]
        sid = "".join(c if c.isalnum() else "_" for c in name)
        n, r = store["n"], store["rank"]
        co, p_in, p_out = layer.shape[0], lanes.p_in, lanes.p_out
        k = layer.fan_in
        kc = ceil_div(k, p_in)
        wb = self.wb(layer, graph)
        L, R = factors(store)
        buf = max(l.shape[0] * ceil_div(l.fan_in, p_in) * p_in
                  for l in graph.layers.values() if l.source == self.name
                  and l.params["store"] == name)
        config = (
            f"#ifndef HFN_SMH_STORE_{sid}\n#define HFN_SMH_STORE_{sid}\n"
            f"// SMH store {name!r}: L [{n}][{r}], R [{r}][{n}] (narrow signed integers) and "
            f"the transient weight buffer of the largest layer ({buf} words)\n"
            f"static const int8_t SMH_L_{sid}[{n}][{r}] = {nested(L)};\n"
            f"static const int8_t SMH_R_{sid}[{r}][{n}] = {nested(R)};\n"
            f"static int8_t SMH_BUF_{sid}[{buf}];\n#endif\n"
            f"struct {ident}_w {{  // weights of layer {layer.name}: source smh "
            f"(hfn_wgen_smh.h)\n"
            f"    static const int CO = {co}, K = {k}, KC = {kc}, P_IN = {p_in}, WB = {wb};\n"
            f"    static const int N = {n}, RANK = {r}, OFFSET = {layer.params['offset']}, "
            f"SHIFT = {layer.params['shift']}, WMAX = {(1 << (store['wbits'] - 1)) - 1};\n"
            f"    typedef hfn::weight<{wb}>::type w_t;\n"
            f"    typedef int8_t rom_t;\n"
            f"}};\n")
        init = (f"{{hfn::smh_fill<{ident}_w>(SMH_L_{sid}, SMH_R_{sid}, SMH_BUF_{sid})}}")
        pragmas = [f"#pragma HLS ARRAY_PARTITION variable = SMH_BUF_{sid} cyclic factor = "
                   f"{p_in * max(1, min(p_out, co))} dim = 1"] if p_in * p_out > 1 else []
        return HlsGenerator(self.hls_header, config, f"hfn::wgen_smh<{ident}_w>", init,
                            pragmas)

    def rtl_generator(self, graph, lanes):
        names = sorted({l.params["store"] for l in graph.layers.values()
                        if l.source == self.name})
        if len(names) != 1:
            raise HfnError("source smh", f"the RTL takes one SMH store, this graph has "
                           f"{len(names)}", "export the network with one SmhPool")
        wbs = [self.wb(l, graph) for l in graph.layers.values() if l.source == self.name]
        store = self.store_of(next(l for l in graph.layers.values()
                                   if l.source == self.name), graph)
        return SmhRtlGenerator(lanes.p_out, lanes.p_in, store, max(wbs + [3]),
                               generation_parallelism(graph, lanes, store["rank"]))

    def hls_cost(self, layer, graph, lanes) -> GeneratorCost:
        co, p_in = layer.shape[0], lanes.p_in
        kc = ceil_div(layer.fan_in, p_in)
        wb = self.wb(layer, graph)
        return GeneratorCost(bits={"transient_weights": co * kc * p_in * wb},
                             declared={"transient_weights": co * kc * p_in * 8},
                             memories=[(co * kc, wb * p_in, 1)], lut=200, ff=100)


GEN_SHARE = 0.4        # tile fills may add at most this share of the convolutions' cycles


def generation_parallelism(graph, lanes, rank: int) -> int:
    """U, the multiply-adds per lane per cycle of the RTL tile fill: the smallest power of
    two (<= 16, <= rank) for which the fills of all SMH layers take at most GEN_SHARE of
    their convolutions' ideal cycles (a layer's tile fills take groups * KCH *
    ceil(rank / U) cycles, its convolution groups * KCH * pixels)."""
    conv = gen_chunks = 0
    for op in graph.walk():
        if op.kind != "conv" or graph.layers[op.attrs["layer"]].source != "smh":
            continue
        lay = graph.layers[op.attrs["layer"]]
        co, kh, kw, ci = lay.shape
        chunks = ceil_div(co, lanes.p_out) * kh * kw * ceil_div(ci, lanes.p_in)
        h, w, _ = graph.tensors[op.output].shape
        conv += chunks * h * w
        gen_chunks += chunks
    u = 1
    while u < min(16, rank) and gen_chunks * ceil_div(rank, u) > GEN_SHARE * conv:
        u *= 2
    return u


GROUP_FIELDS = ("ROW0", "COL0", "KQ", "KR", "CI", "NC", "KCH", "OV", "SHIFT")  # 32 bits


def _bytes_word(vals) -> int:
    return sum((int(v) & 0xFF) << (8 * u) for u, v in enumerate(vals))


class SmhRtlGenerator(RtlGenerator):
    """``rtl/hfn_wgen_smh.v``.  ROMs: ``smh_le`` / ``smh_lo`` (the even / odd rows of L,
    ceil(RANK/U) words of U bytes per row), ``smh_rt<b>`` for b < P_IN (the columns of R
    with col mod P_IN = b, as rows of R^T, same word layout) — each instantiated once per
    output lane in the module — and ``smh_group`` (per output-channel group of every
    placed layer: ROW0, COL0 of its first weight, KQ, KR with K = KQ*n + KR, CI, NC, KCH,
    OV, SHIFT; addressed by ``group``).  Layers are placed with chunk base 0 (the
    generator counts a pixel's chunks itself) and consecutive group bases."""

    addressed_by = {"smh_group": "group"}
    handshake = True

    def __init__(self, p_out: int, p_in: int, store: dict, wb: int, u: int = 1):
        n = store["n"]
        if n % p_in:
            raise HfnError(f"SMH store (n = {n})", f"the Verilog generator needs n to be a "
                           f"multiple of P_IN = {p_in}", "train with hfn-hls >= this version "
                           "(n is rounded up to a multiple of 64), or use fewer input lanes")
        self.p_out, self.p_in, self.store, self.wb, self.u = p_out, p_in, store, wb, u
        self.groups: list[int] = []
        self.bases: dict[str, tuple[int, int]] = {}
        self.tile = 1

    def place(self, layer) -> tuple[int, int]:
        if layer.name not in self.bases:
            self.bases[layer.name] = (0, len(self.groups))
            co, kh, kw, ci = layer.shape
            k = kh * kw * ci
            nc = ceil_div(ci, self.p_in)
            kch = kh * kw * nc
            n = self.store["n"]
            self.tile = max(self.tile, kch)
            for g in range(ceil_div(co, self.p_out)):
                goff = layer.params["offset"] + g * self.p_out * k
                vals = (goff // n, goff % n, k // n, k % n, ci, nc, kch,
                        min(self.p_out, co - g * self.p_out), layer.params["shift"])
                self.groups.append(sum(int(v) << (32 * i) for i, v in enumerate(vals)))
        return self.bases[layer.name]

    def roms(self) -> list[RomImage]:
        L, R = factors(self.store)
        n, r, u = self.store["n"], self.store["rank"], self.u
        jw = ceil_div(r, u)
        ne = (n + 2) // 2
        lp = np.zeros((2 * ne, jw * u), np.int64)
        lp[:n, :r] = L
        rt = np.zeros((n, jw * u), np.int64)
        rt[:, :r] = R.T

        def words(rows):
            return [_bytes_word(row[j * u:(j + 1) * u]) for row in rows for j in range(jw)]

        out = [RomImage("smh_le", 8 * u, words(lp[0::2]), "smh_L"),
               RomImage("smh_lo", 8 * u, words(lp[1::2]), "smh_L")]
        out += [RomImage(f"smh_rt{b}", 8 * u, words(rt[b::self.p_in]), "smh_R")
                for b in range(self.p_in)]
        out.append(RomImage("smh_group", 32 * len(GROUP_FIELDS), list(self.groups) or [0],
                            "smh_group"))
        return out

    def stats(self) -> dict:
        """rtl.json figures: the transient tile buffer (working memory), the copies of the
        factor ROMs the generator instantiates (one per output lane) and its multipliers."""
        L, R = self.store["n"] * self.store["rank"] * 8, self.store["rank"] * self.store["n"] * 8
        return {"smh": {"tile_bits": self.tile * self.p_out * self.p_in * self.wb,
                        "factor_rom_copies": self.p_out,
                        "factor_rom_bits_instantiated": self.p_out * (L + R),
                        "fill_multipliers": self.p_out * self.p_in * self.u, "u": self.u}}

    def instance(self, tag: str, depths: dict[str, int], mem_dir: str) -> list[str]:
        s = self.store
        return [
            f"    hfn_wgen_smh #(.P_OUT(P_OUT), .P_IN(P_IN), .NW(NW), .CAW(CAW), .GAW(GAW), "
            f".WB({self.wb}), .N({s['n']}), .RANK({s['rank']}), .U({self.u}),",
            f"        .WMAX({(1 << (s['wbits'] - 1)) - 1}), .GD({depths['smh_group']}), "
            f".TD({self.tile}), .MEM({mem_dir})) u_wgen_{tag} (",
            "        .clk(ap_clk), .issue(w_issue), .first(w_first), .n(w_n), "
            f".chunk(w_chunk), .group(w_group), .prep(prep_{tag}), .ready(ready_{tag}),",
            f"        .w(w_{tag}));"]
