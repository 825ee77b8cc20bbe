"""The contract of a weight source (docs/weight-sources.md).

A weight source turns an IR layer ``{name, shape, source, params}`` (and, for sources
with shared stores, the graph's ``shared`` stores) into integer weights, and knows
everything that depends on how those weights are made: how to verify them against the
ONNX file, how to bound them, how many bits they keep on chip, and how hardware
generates them (a C++ generator behind one ``CONFIG_T`` contract, a Verilog generator
module behind one port contract).  Nothing else in the compiler knows a source's params.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # pragma: no cover
    from ..ir.model import Graph, Layer
    from ..lanes import Lanes


def weight_width(lo: int, hi: int) -> int:
    """WB of weights in [lo, hi]: their signed width, where 2 always means ternary
    ({-1, 0, +1}: the add / subtract / skip path), so a 2-bit -2 needs 3 bits."""
    lo, hi = min(int(lo), -1), max(int(hi), 0)
    bits = max(int(hi).bit_length(), int(-lo - 1).bit_length()) + 1
    return 3 if bits == 2 and lo < -1 else max(bits, 2)


@dataclass
class WeightQuant:
    """The quantiser of a Conv's weights in the ONNX file (a QONNX ``Quant`` node on a
    constant): ``scale`` broadcast to the weights' OIHW shape, the integer width and
    form.  None for weights that are a plain float initializer (hfn)."""

    scale: np.ndarray
    bits: int
    signed: bool = True
    narrow: bool = False
    rounding: str = "ROUND"


@dataclass
class RomImage:
    """A ROM of a generated design: ``words`` of ``width`` bits, file ``<name>.mem``."""

    name: str
    width: int
    words: list
    kind: str                 # what it holds, for the storage figures (e.g. mask, state)


@dataclass
class GeneratorCost:
    """What one C++ generator instance costs, for the HLS resource estimate: ROM bits by
    kind (exact width and as declared in C), its memories ``(depth, width, copies)`` and
    the logic around them."""

    bits: dict[str, int]
    declared: dict[str, int]
    memories: list[tuple[int, int, int]] = field(default_factory=list)
    lut: int = 0
    ff: int = 0


@dataclass
class HlsGenerator:
    """The C++ generator of one conv pass (hls_templates/<header>).

    ``config`` is parameters.h text: the ``CONFIG_T`` struct ``<ident>_w`` and the ROMs;
    the generated code passes ``<type><init>`` (a brace-initialised generator object) to
    ``hfn::conv_pass``; ``pragmas`` go into the top function."""

    header: str
    config: str
    type: str
    init: str
    pragmas: list[str]


class RtlGenerator:
    """The Verilog generator of one source in one design: it collects the ROM images of
    the layers placed on it and instantiates its module in the generated top.

    Port contract (every generator module, docs/weight-sources.md): inputs ``issue``,
    ``first``, ``n`` (valid positions of the chunk), ``chunk`` (CAW bits), ``group``
    (GAW bits); output ``w``: the chunk's P_OUT*P_IN weights of WB bits, ``LATENCY``
    cycles after ``issue``."""

    wb: int = 2                       # weight width WB of its output
    addressed_by: dict[str, str] = {}  # ROM name -> the port addressing it: chunk | group
    LATENCY = 1                       # cycles from issue to w (the engine's contract)
    handshake = False                 # True: ports prep (in) / ready (out): it makes a
                                      # group's weights after prep, the engine waits for ready

    def place(self, layer: "Layer") -> tuple[int, int]:
        """Append the layer's images (once per layer); its (chunk base, group base)."""
        raise NotImplementedError

    def roms(self) -> list[RomImage]:
        raise NotImplementedError

    def instance(self, tag: str, depths: dict[str, int], mem_dir: str) -> list[str]:
        """Verilog lines instantiating the module in the top as ``u_wgen_<tag>`` with
        output ``w_<tag>`` (ROM depths from ``depths``, files under ``mem_dir``)."""
        raise NotImplementedError


class WeightSource:
    """One registry entry (``hfn_hls.weights.register``).  Subclasses set ``name`` and the
    library files they add: their C++ generator header (in hls_templates/) and their
    Verilog files (in rtl/, the generator module last)."""

    name: str = ""
    hls_header: str = ""
    rtl_files: tuple[str, ...] = ()
    generated: bool = True     # weights made on chip (hfn) or kept as values (stored)

    # -- importer (ir/passes): ONNX weights -> params -------------------------------------
    def check_metadata(self, info: dict, meta: dict) -> str | None:
        """The reason a metadata layer entry ``info`` is inconsistent, or None."""
        return None

    def validate_params(self, layer: "Layer", graph: "Graph | None") -> str | None:
        """The reason an IR layer's ``params`` (from an IR JSON file, or built in Python)
        are malformed for this source — a missing or mistyped key, a value out of range, a
        size that does not fit ``layer.shape`` — or None.  Called by the IR loader before
        anything else reads the params (``ir/schema.py``); every source implements it."""
        raise NotImplementedError

    def integer_weights(self, w: np.ndarray, quant: WeightQuant | None = None
                        ) -> tuple[np.ndarray, "float | np.ndarray"]:
        """ONNX float weights (OIHW) and their quantiser (None: a plain initializer) ->
        (integer weights OHWI, scale: one float, or one per output channel); ValueError
        with the reason if they are not of this source's form."""
        raise NotImplementedError

    def mismatch(self, info: dict, w: np.ndarray, meta: dict) -> str | None:
        """None if the integer weights ``w`` (OHWI) are what metadata layer ``info``
        makes; else the reason (it names what differs).  ``meta`` is the whole metadata:
        sources with shared stores (rpg, smh) read them from ``meta["shared"]``."""
        raise NotImplementedError

    def params(self, info: dict, w: np.ndarray) -> dict:
        """The IR params of a layer whose weights ``w`` passed ``mismatch``."""
        raise NotImplementedError

    def shared_stores(self, info: dict, meta: dict) -> dict:
        """The shared stores (name -> JSON) metadata layer ``info`` reads, which the
        importer copies from ``meta["shared"]`` into ``Graph.shared``; default: none."""
        return {}

    # -- golden model --------------------------------------------------------------------
    def weights(self, layer: "Layer", graph: "Graph | None") -> np.ndarray:
        """Integer weights, int64, [co, kh, kw, ci]."""
        raise NotImplementedError

    def bias(self, layer: "Layer", graph: "Graph | None") -> np.ndarray | None:
        """Optional per-output-channel integer bias added to the accumulators."""
        return None

    # -- ranges ----------------------------------------------------------------------------
    def weight_range(self, layer: "Layer", graph: "Graph | None") -> tuple[int, int]:
        """Bounds [lo, hi] of the layer's weight values (WB follows from them)."""
        w = self.weights(layer, graph)
        return (int(w.min(initial=0)), int(w.max(initial=0)))

    # -- report ------------------------------------------------------------------------------
    def storage_bits(self, layer: "Layer", graph: "Graph | None") -> dict[str, int]:
        """On-chip bits of this layer by kind (shared stores not included)."""
        raise NotImplementedError

    def shared_bits(self, graph: "Graph") -> dict[str, int]:
        """On-chip bits of the shared stores this source uses, counted once per graph."""
        return {}

    # -- backends ----------------------------------------------------------------------------
    def hls_generator(self, layer: "Layer", graph: "Graph", lanes: "Lanes",
                      ident: str) -> HlsGenerator:
        raise NotImplementedError

    def hls_cost(self, layer: "Layer", graph: "Graph", lanes: "Lanes") -> GeneratorCost:
        """What the generator of ``hls_generator`` costs (the HLS resource estimate)."""
        raise NotImplementedError

    def rtl_generator(self, graph: "Graph", lanes: "Lanes") -> RtlGenerator:
        raise NotImplementedError
