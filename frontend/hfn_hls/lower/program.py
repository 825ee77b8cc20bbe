"""The typed program both backends consume (docs/lowering.md): passes, fold loops,
buffers, and what each pass costs for a lane configuration."""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from typing import Iterator

import numpy as np

from ..ir.model import Graph, Op
from ..ir.ranges import Interval, threshold_width
from ..ir.requant import Compact, compact_bits, compact_of, hw_form
from ..lanes import Lanes


@dataclass(frozen=True)
class Window:
    """Geometry of a windowed pass: input IH x IW x CI -> output OH x OW x CO through a
    KH x KW window with stride S and zero padding PAD."""

    ih: int
    iw: int
    ci: int
    oh: int
    ow: int
    co: int
    kh: int
    kw: int
    stride: int
    pad: int

    @property
    def k(self) -> int:
        """Kernel positions per output channel: KH * KW * CI."""
        return self.kh * self.kw * self.ci


@dataclass
class Requant:
    """One requantisation of a pass (R1, Rs, R2 or a stand-alone requant) in the form
    both backends store: the compact form (``ir/requant.py``: per iteration and row a base
    and a step regenerating ``L`` ascending thresholds ``T'`` on ``x``, a tie mode, the
    op's fraction bits, exception points) and a flag ``neg`` per row;
    ``y = out_min + (neg ? L - c : c)``, ``c = #{j : x >= T'_j}`` (docs/arithmetic.md).
    ``thresholds`` are the ``T'`` themselves (clipped into [lo, hi + 1] of the input), the
    specification the compact form is proven against."""

    op: Op
    x: Interval                  # input range
    channels: int
    thresholds: np.ndarray       # (iterations, rows, L) int64, ascending, clipped
    neg: np.ndarray              # (iterations, rows) 0/1: 1 = decreasing channel
    compact: Compact

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def out_min(self) -> int:
        return int(self.op.attrs["out_min"])

    @property
    def iterations(self) -> int:
        return int(self.thresholds.shape[0])

    @property
    def rows(self) -> int:
        return int(self.thresholds.shape[1])

    @property
    def levels(self) -> int:
        return int(self.thresholds.shape[2])

    @property
    def per_channel(self) -> bool:
        return self.rows != 1

    @property
    def out(self) -> Interval:
        return Interval(self.out_min, self.out_min + self.levels)

    @property
    def threshold_width(self) -> int:
        return threshold_width(self.x)

    @property
    def frac(self) -> int:
        return self.compact.frac

    @property
    def tie(self) -> int:
        return self.compact.tie

    @property
    def base(self) -> np.ndarray:
        return self.compact.base

    @property
    def step(self) -> np.ndarray:
        return self.compact.step

    @property
    def has_knees(self) -> bool:
        """Some row has a knee: every row then stores ``(K, B2, S2)`` too."""
        return bool(self.compact.knees)

    def knee_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(K, B2, S2)`` per iteration and row (``Compact.knee_arrays``)."""
        return self.compact.knee_arrays(self.x.lo)

    @property
    def exceptions(self) -> list:
        """``[(iteration, row, x, delta)]``: the count at ``x`` is the compact count + delta."""
        return self.compact.exceptions

    @property
    def bits(self) -> int:
        return compact_bits(self.compact, self.x.lo, self.x.hi)


def requant_of(graph: Graph, op: Op, x: Interval, channels: int) -> Requant:
    """The stored form of a requant op's sets (validated by ``lower``); ValueError if the
    op's compact form does not reproduce its thresholds on ``x``."""
    t, neg = hw_form(op, x.lo, x.hi)
    return Requant(op, x, channels, t, neg, compact_of(op, x.lo, x.hi))


@dataclass
class Pass:
    """One step of the program.  ``out`` is the tensor it writes; ``iterations`` how often
    it runs per inference (its fold's iteration count, 1 outside folds)."""

    name: str
    out: str
    iterations: int

    def reads(self) -> list[str]:
        """Tensors read from buffers."""
        return self.window_reads() + self.pointwise_reads()

    def window_reads(self) -> list[str]:
        """Tensors read through a window (a pass never writes over these)."""
        return []

    def pointwise_reads(self) -> list[str]:
        """Tensors read at the index being written (a pass may write over these)."""
        return []

    def ops(self) -> list[Op]:
        """The IR ops this pass executes, in order."""
        raise NotImplementedError

    def requants(self) -> list[Requant]:
        return []


@dataclass
class ConvPass(Pass):
    """conv [+ bias] -> R1 -> [+ Rs(res) | + res] -> R2 -> out; each stage but the conv
    optional.
    With ``acc_all`` the conv is a 1x1 classifier fused with the ``global_sum`` before it:
    it accumulates over every pixel of ``src`` (exact: the sum is linear)."""

    conv: Op
    layer: str
    src: str                       # read through the window (the pre-pool tensor if acc_all)
    window: Window                 # for acc_all: the window over src (1x1, all pixels)
    acc: Interval                  # every partial sum of the accumulators
    acc_all: bool = False
    pool: Op | None = None         # the fused global_sum
    r1: Requant | None = None
    add: Op | None = None
    res: str | None = None         # residual operand of the add, read pointwise
    rs: Requant | None = None      # requant of the residual (identity shortcut)
    r2: Requant | None = None
    sum: Interval | None = None    # range of the residual sum (add inputs and output)
    bias: np.ndarray | None = None  # the layer's per-channel bias (its source's), int64 [co]:
    #                                 added to each accumulator once (acc_all: to the total)

    def window_reads(self) -> list[str]:
        return [self.src]

    def pointwise_reads(self) -> list[str]:
        return [self.res] if self.res is not None else []

    def ops(self) -> list[Op]:
        return [o for o in (self.pool, self.conv, self.r1 and self.r1.op,
                            self.rs and self.rs.op, self.add, self.r2 and self.r2.op)
                if o is not None]

    def requants(self) -> list[Requant]:
        return [r for r in (self.r1, self.rs, self.r2) if r is not None]

    @property
    def pixels(self) -> int:
        """Output positions the engine computes (all input pixels for acc_all)."""
        return self.window.oh * self.window.ow

    @property
    def macs(self) -> int:
        """The network's MACs of this conv per run (the classifier on pooled sums)."""
        w = self.window
        return (1 if self.acc_all else self.pixels) * w.co * w.k

    @property
    def engine_macs(self) -> int:
        """MACs the engine performs per run (the classifier over every pixel)."""
        return self.pixels * self.window.co * self.window.k

    def issue_cycles(self, lanes: Lanes) -> int:
        """Cycles of the engine's loop order per run: output-channel group -> pixel ->
        kernel row -> kernel column -> chunk of P_IN input channels."""
        w = self.window
        return ceil(w.co / lanes.p_out) * self.pixels * w.kh * w.kw * ceil(w.ci / lanes.p_in)


@dataclass
class RequantPass(Pass):
    src: str
    rq: Requant

    def pointwise_reads(self) -> list[str]:
        return [self.src]

    def ops(self) -> list[Op]:
        return [self.rq.op]

    def requants(self) -> list[Requant]:
        return [self.rq]


@dataclass
class AddPass(Pass):
    """a + b [-> R2] (an addition no convolution pass took)."""

    add: Op
    a: str
    b: str
    sum: Interval
    r2: Requant | None = None

    def pointwise_reads(self) -> list[str]:
        return [self.a, self.b]

    def ops(self) -> list[Op]:
        return [self.add] + ([self.r2.op] if self.r2 else [])

    def requants(self) -> list[Requant]:
        return [self.r2] if self.r2 else []


@dataclass
class WholeTensorPass(Pass):
    """One op that reads its input ``src`` beyond the element it writes."""

    op: Op
    src: str

    def window_reads(self) -> list[str]:
        return [self.src]

    def ops(self) -> list[Op]:
        return [self.op]


@dataclass
class GlobalSumPass(WholeTensorPass):
    sum: Interval               # range of the per-channel sums


@dataclass
class MaxPoolPass(WholeTensorPass):
    window: Window


@dataclass
class CopyPass(Pass):
    """A buffer copy the lowering inserts where a fold cannot run in place: into the loop
    buffer when the fold's input is still needed after it, or back into it when the body
    cannot write its output over its input."""

    src: str

    def pointwise_reads(self) -> list[str]:
        return [self.src]

    def ops(self) -> list[Op]:
        return []


@dataclass
class Fold:
    """A loop: ``body`` runs ``iterations`` times; iteration i uses parameter set i of
    every requant in it.  The loop buffer holds the fold's input, each iteration's body
    input and output, and the fold's output."""

    op: Op
    body: list[Pass]

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def iterations(self) -> int:
        return int(self.op.attrs["iterations"])


@dataclass
class Buffer:
    """A feature-map memory: ``role`` work (ids 0..NBUF-1), input (the image) or output
    (the network's output codes); ``size`` elements of the widest ``range`` of its tensors."""

    id: int
    role: str
    tensors: list[str]
    size: int
    range: Interval

    @property
    def ident(self) -> str:
        return {"work": f"buf{self.id}", "input": "buf_in", "output": "buf_out"}[self.role]


@dataclass
class PassCost:
    """What one run of a pass costs at a lane configuration."""

    name: str
    layer: str
    runs: int                      # runs per inference
    macs: int                      # network MACs per run
    engine_macs: int               # MACs the engine computes per run
    cycles: int                    # engine issue cycles per run


@dataclass
class Program:
    graph: Graph
    items: list                    # Pass | Fold, in execution order
    buffers: list[Buffer]
    buffer_of: dict[str, int]      # stored tensor -> buffer id
    meta: dict = field(default_factory=dict)

    # -- navigation ---------------------------------------------------------------------
    def passes(self) -> Iterator[Pass]:
        """Every pass once, fold bodies included, in execution order of one iteration."""
        for it in self.items:
            if isinstance(it, Fold):
                yield from it.body
            else:
                yield it

    def conv_passes(self) -> list[ConvPass]:
        return [p for p in self.passes() if isinstance(p, ConvPass)]

    def requants(self) -> list[Requant]:
        return [r for p in self.passes() for r in p.requants()]

    def buffer(self, tensor: str) -> Buffer:
        return self.buffers[self.buffer_of[tensor]]

    @property
    def work_buffers(self) -> list[Buffer]:
        return [b for b in self.buffers if b.role == "work"]

    def readers(self, tensor: str) -> list[tuple[Pass, Fold | None]]:
        """The passes that read ``tensor``'s buffer group, with their fold."""
        b = self.buffer_of.get(tensor)
        out = []
        for it in self.items:
            for p in (it.body if isinstance(it, Fold) else [it]):
                if any(self.buffer_of.get(t) == b for t in p.reads()):
                    out.append((p, it if isinstance(it, Fold) else None))
        return out

    # -- cost ------------------------------------------------------------------------------
    def costs(self, lanes: Lanes) -> list[PassCost]:
        out = []
        for p in self.conv_passes():
            out.append(PassCost(p.name, p.layer, p.iterations, p.macs, p.engine_macs,
                                p.issue_cycles(lanes)))
        return out

    @property
    def macs(self) -> int:
        """The network's MACs per inference."""
        return sum(p.macs * p.iterations for p in self.conv_passes())

    @property
    def engine_macs(self) -> int:
        return sum(p.engine_macs * p.iterations for p in self.conv_passes())

    def ideal_cycles(self, lanes: Lanes) -> int:
        """MACs / lanes, rounded up."""
        return -(-self.macs // lanes.total)

    def layer_cycles(self, lanes: Lanes) -> list[dict]:
        """``[{name, calls, cycles, ideal_cycles, macs}]`` per weight layer, forward order:
        engine issue cycles and engine MACs (/ lanes) per inference."""
        rows: dict[str, dict] = {}
        for c in self.costs(lanes):
            r = rows.setdefault(c.layer, {"name": c.layer, "calls": 0, "cycles": 0,
                                          "ideal_cycles": 0.0, "macs": 0})
            r["calls"] += c.runs
            r["cycles"] += c.cycles * c.runs
            r["macs"] += c.engine_macs * c.runs
            r["ideal_cycles"] += c.engine_macs * c.runs / lanes.total
        return list(rows.values())
