"""Lowering of the IR to the HLS program: checked steps, fused where hardware fuses, and
feature-map buffers shared by liveness.

The plan is what both the C++ writer (``codegen``) and the resource estimate
(``estimate``) read, so the estimate describes exactly the buffers and ROMs that are
generated.  Rules (docs/hls.md):
- a ``conv`` or ``add`` whose only consumer is a ``requant`` in the same op list is fused
  with it (the accumulator tensor is never stored: P_OUT registers hold it);
- a ``fold`` is one body called in a loop; its loop buffer holds the body's input, and
  the body's output is copied back into it after every iteration;
- tensors get buffers by interval colouring of their live ranges (best fit by size).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import HfnError
from ..ir.model import Graph, Op, Tensor, range_bits
from ..lanes import Lanes

KINDS = ("conv", "requant", "add", "maxpool", "global_sum", "fold")
MAX_P_IN = 64


@dataclass
class CType:
    """An exact-width hardware integer: ap_int<W> or ap_uint<W>."""

    bits: int
    signed: bool

    @property
    def cpp(self) -> str:
        return f"ap_{'' if self.signed else 'u'}int<{self.bits}>"


def ctype(lo: int, hi: int, force_signed: bool = False) -> CType:
    """The narrowest type holding [lo, hi] (signed if lo < 0 or asked for)."""
    if lo < 0 or force_signed:
        return CType(range_bits(min(lo, -1), hi), True)
    return CType(range_bits(lo, hi), False)


def native(lo: int, hi: int) -> tuple[str, int]:
    """The narrowest C integer type holding [lo, hi] and its width: ROMs are declared
    with these so that large initialisers compile fast (docs/hls.md)."""
    for bits in (8, 16, 32, 64):
        if lo < 0 and -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return f"int{bits}_t", bits
        if lo >= 0 and hi < (1 << bits):
            return f"uint{bits}_t", bits
    raise ValueError(f"[{lo}, {hi}] does not fit 64 bits")


@dataclass
class Requant:
    """A requant op's ROM contents and types."""

    ident: str
    op: Op
    n: int                      # pixels
    c: int                      # channels
    iters: int
    rows: int                   # C or 1
    levels: int                 # L
    out_min: int
    thresholds: np.ndarray      # (iters, rows, L), clipped
    dirs: np.ndarray            # (iters, rows), 1 = decreasing (d = -1)
    val: CType                  # d * x
    thr: CType
    out: CType

    @property
    def depth(self) -> int:
        return self.levels.bit_length()

    @property
    def thr_native(self) -> tuple[str, int]:
        return native(-(1 << (self.thr.bits - 1)), (1 << (self.thr.bits - 1)) - 1)


@dataclass
class Conv:
    """A conv op's engine configuration and ROM contents (masks, LFSR start states)."""

    ident: str
    op: Op
    layer: str
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
    p_out: int
    p_in: int
    acc: CType
    mask_words: np.ndarray      # (co, kc) integers of p_in bits
    states: np.ndarray          # (co,) uint32

    @property
    def k(self) -> int:
        return self.kh * self.kw * self.ci

    @property
    def kc(self) -> int:
        return -(-self.k // self.p_in)

    @property
    def macs(self) -> int:
        return self.oh * self.ow * self.co * self.k


@dataclass
class Step:
    """One call in the generated program."""

    kind: str                   # read, conv, conv_rq, requant, add, add_rq, maxpool,
    #                             global_sum, fold, write
    name: str
    inputs: list[str]
    output: str
    conv: Conv | None = None
    rq: Requant | None = None
    sum_type: CType | None = None
    op: Op | None = None
    body: list["Step"] = field(default_factory=list)   # fold
    attrs: dict = field(default_factory=dict)


@dataclass
class Buffer:
    ident: str
    size: int
    type: CType
    tensors: list[str]


@dataclass
class Plan:
    graph: Graph
    lanes: Lanes
    steps: list[Step]
    buffers: list[Buffer]
    buffer_of: dict[str, str]           # tensor -> buffer ident
    convs: list[Conv]
    requants: list[Requant]

    @property
    def in_channels(self) -> int:
        return self.graph.input_tensor.shape[2]

    @property
    def outputs(self) -> int:
        return int(np.prod(self.graph.output_tensor.shape))


def c_ident(name: str) -> str:
    s = re.sub(r"\W", "_", name)
    return s if s and not s[0].isdigit() else "_" + s


def tensor_type(t: Tensor) -> CType:
    return ctype(t.lo, t.hi)


def size(t: Tensor) -> int:
    return int(np.prod(t.shape))


# -- checks and lowering -------------------------------------------------------------

def _err(graph: Graph, where: str, reason: str, fix: str) -> HfnError:
    return HfnError(f"model {graph.name!r}, {where}", reason, fix)


def _check(graph: Graph) -> None:
    t = graph.input_tensor
    if t.lo < 0 or t.hi > 255 or len(t.shape) != 3:
        raise _err(graph, f"input {graph.input}", f"input codes [{t.lo}, {t.hi}] are not "
                   "unsigned 8-bit HWC", "the input must be quantised to 8-bit codes")
    o = graph.output_tensor
    if o.lo < -(1 << 31) or o.hi >= 1 << 31:
        raise _err(graph, f"output {graph.output}", f"range [{o.lo}, {o.hi}] exceeds int32",
                   "the output stream carries 32-bit codes")
    for op in graph.ops:
        if op.kind not in KINDS:
            raise _err(graph, f"op {op.name}", f"unsupported op kind {op.kind!r}",
                       f"the HLS backend knows {', '.join(KINDS)}")
        for b in op.body:
            if b.kind not in KINDS or b.kind == "fold":
                raise _err(graph, f"op {b.name}", f"op kind {b.kind!r} inside a fold body",
                           "fold bodies hold conv, requant, add, maxpool and global_sum")
    for name, layer in graph.layers.items():
        if layer.source != "hfn":
            raise _err(graph, f"layer {name}", f"weight source {layer.source!r}",
                       "the HLS backend generates 'hfn' (LFSR x mask) layers only")


def _requant(graph: Graph, op: Op, ident: str, x: Tensor, iters: int) -> Requant:
    y = graph.tensors[op.output]
    sets = op.attrs["sets"]
    if len(sets) != iters:
        raise _err(graph, f"requant {op.name}", f"{len(sets)} parameter sets, expected {iters}",
                   "a requant has one set per iteration of its fold (1 outside folds)")
    c = x.shape[2]
    th = np.asarray([s["thresholds"] for s in sets])
    dr = np.asarray([s["direction"] for s in sets])
    if th.ndim != 3 or th.shape[1] not in (1, c) or dr.shape != th.shape[:2] or \
            not np.all(np.isin(dr, (-1, 1))):
        raise _err(graph, f"requant {op.name}", f"thresholds {list(th.shape)} / directions "
                   f"{list(dr.shape)} do not fit {c} channels", "regenerate the IR")
    if not np.all(np.equal(np.mod(th, 1), 0)):
        raise _err(graph, f"requant {op.name}", "non-integer thresholds", "regenerate the IR")
    th = th.astype(np.int64)
    if th.shape[2] and np.any(np.diff(th, axis=2) < 0):
        raise _err(graph, f"requant {op.name}", "thresholds are not ascending",
                   "regenerate the IR (thresholds must be sorted per row)")
    m = max(abs(x.lo), abs(x.hi))
    th = np.clip(th, -m, m + 1)     # outside the reachable d*x range: same count
    return Requant(ident, op, n=x.shape[0] * x.shape[1], c=c, iters=iters, rows=th.shape[1],
                   levels=th.shape[2], out_min=int(op.attrs["out_min"]), thresholds=th,
                   dirs=(dr < 0).astype(np.int64), val=ctype(-m, m, True),
                   thr=ctype(-m, m + 1, True), out=tensor_type(y))


def _conv(graph: Graph, op: Op, ident: str, lanes: Lanes) -> Conv:
    layer = graph.layers.get(op.attrs.get("layer"))
    if layer is None:
        raise _err(graph, f"conv {op.name}", f"unknown layer {op.attrs.get('layer')!r}",
                   "regenerate the IR")
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    co, kh, kw, ci = layer.shape
    s, p = int(op.attrs["stride"]), int(op.attrs["pad"])
    oh, ow = (x.shape[0] + 2 * p - kh) // s + 1, (x.shape[1] + 2 * p - kw) // s + 1
    if ci != x.shape[2] or [oh, ow, co] != list(y.shape):
        raise _err(graph, f"conv {op.name}", f"layer {layer.name} {layer.shape} does not map "
                   f"{x.shape} to {y.shape}", "regenerate the IR")
    if lanes.p_in > MAX_P_IN:
        raise HfnError(f"--lanes {lanes}", f"P_in = {lanes.p_in} exceeds {MAX_P_IN}",
                       f"use at most {MAX_P_IN} input lanes, e.g. --lanes {lanes.total // 64}x64"
                       if lanes.total >= 64 else "use fewer input lanes")
    if max(abs(x.lo), abs(x.hi)) * lanes.p_in >= 1 << 31:
        raise _err(graph, f"conv {op.name}", f"inputs up to {max(abs(x.lo), abs(x.hi))} times "
                   f"{lanes.p_in} lanes overflow the 32-bit lane sum", "use fewer input lanes")
    from .. import lfsr
    w = layer.ternary().reshape(co, -1).astype(np.int64)
    # every partial sum, in any order, stays within the sums of the negative / positive
    # term bounds: the accumulator width comes from those (docs/hls.md).
    t_lo = np.minimum(w * x.lo, w * x.hi)
    t_hi = np.maximum(w * x.lo, w * x.hi)
    lo = int(np.minimum(t_lo, 0).sum(1).min(initial=0))
    hi = int(np.maximum(t_hi, 0).sum(1).max(initial=0))
    lo, hi = min(lo, y.lo), max(hi, y.hi)
    k = kh * kw * ci
    kc = -(-k // lanes.p_in)
    m = np.zeros((co, kc * lanes.p_in), dtype=np.uint64)
    m[:, :k] = layer.mask_array().reshape(co, k)
    weights = np.uint64(1) << np.arange(lanes.p_in, dtype=np.uint64)
    words = (m.reshape(co, kc, lanes.p_in) * weights).sum(axis=2, dtype=np.uint64)
    return Conv(ident, op, layer.name, x.shape[0], x.shape[1], ci, oh, ow, co, kh, kw, s, p,
                lanes.p_out, lanes.p_in, ctype(lo, hi, True), words,
                lfsr.channel_start_states(layer.seed, co, k))


class _Lowering:
    def __init__(self, graph: Graph, lanes: Lanes):
        self.g, self.lanes = graph, lanes
        self.convs: list[Conv] = []
        self.requants: list[Requant] = []
        self.uses: dict[str, int] = {}
        self.n = 0
        for op in graph.walk():
            for i in op.inputs:
                self.uses[i] = self.uses.get(i, 0) + 1
            if op.kind == "fold":
                bo = op.attrs["body_output"]
                self.uses[bo] = self.uses.get(bo, 0) + 1
        self.uses[graph.output] = self.uses.get(graph.output, 0) + 1

    def ident(self, op: Op) -> str:
        self.n += 1
        return f"L{self.n}_{c_ident(op.name)}"

    def lower(self, ops: list[Op], iters: int) -> list[Step]:
        steps: list[Step] = []
        fused: set[int] = set()
        for i, op in enumerate(ops):
            if i in fused:
                continue
            if op.kind == "fold":
                steps.append(self.fold(op))
                continue
            consumer = self._sole_requant(ops, i)
            if op.kind in ("conv", "add") and consumer is not None:
                fused.add(consumer)
                rq_op = ops[consumer]
                ident = self.ident(op)
                rq = _requant(self.g, rq_op, ident + "_rq", self.g.tensors[op.output], iters)
                self.requants.append(rq)
                st = Step(op.kind + "_rq", op.name, list(op.inputs), rq_op.output, rq=rq, op=op)
                if op.kind == "conv":
                    st.conv = _conv(self.g, op, ident, self.lanes)
                    self.convs.append(st.conv)
                else:
                    st.sum_type = self._sum_type(op)
                steps.append(st)
            else:
                steps.append(self.single(op, iters))
        return steps

    def _sole_requant(self, ops: list[Op], i: int) -> int | None:
        t = ops[i].output
        if self.uses.get(t, 0) != 1:
            return None
        for j in range(i + 1, len(ops)):
            if t in ops[j].inputs:
                return j if ops[j].kind == "requant" else None
        return None

    def _sum_type(self, op: Op) -> CType:
        ts = [self.g.tensors[n] for n in (*op.inputs, op.output)]
        return ctype(min(t.lo for t in ts), max(t.hi for t in ts), True)

    def single(self, op: Op, iters: int) -> Step:
        ident = self.ident(op)
        st = Step(op.kind, op.name, list(op.inputs), op.output, op=op)
        if op.kind == "conv":
            st.conv = _conv(self.g, op, ident, self.lanes)
            self.convs.append(st.conv)
        elif op.kind == "requant":
            st.rq = _requant(self.g, op, ident, self.g.tensors[op.inputs[0]], iters)
            self.requants.append(st.rq)
        elif op.kind in ("add", "global_sum"):
            st.sum_type = self._sum_type(op)
        elif op.kind == "maxpool":
            x, y = self.g.tensors[op.inputs[0]], self.g.tensors[op.output]
            k, s, p = (int(op.attrs[a]) for a in ("kernel", "stride", "pad"))
            if p >= k or [(x.shape[0] + 2 * p - k) // s + 1, (x.shape[1] + 2 * p - k) // s + 1,
                          x.shape[2]] != list(y.shape):
                raise _err(self.g, f"maxpool {op.name}", "inconsistent shapes or padding",
                           "regenerate the IR")
        st.attrs["ident"] = ident
        return st

    def fold(self, op: Op) -> Step:
        n = int(op.attrs["iterations"])
        if n < 1:
            raise _err(self.g, f"fold {op.name}", f"{n} iterations", "a fold runs at least once")
        bi, bo = op.attrs["body_input"], op.attrs["body_output"]
        if self.g.tensors[bi].shape != self.g.tensors[bo].shape:
            raise _err(self.g, f"fold {op.name}", "body input and output shapes differ",
                       "regenerate the IR")
        st = Step("fold", op.name, list(op.inputs), op.output, op=op,
                  attrs={"ident": self.ident(op), "iterations": n, "body_input": bi,
                         "body_output": bo})
        st.body = self.lower(op.body, n)
        return st


# -- buffers ---------------------------------------------------------------------------

def _live_ranges(graph: Graph, steps: list[Step]) -> tuple[dict, dict]:
    """(first, last) schedule positions of every stored tensor; alias: fold out -> loop buf."""
    first: dict[str, int] = {graph.input: 0}
    last: dict[str, int] = {graph.input: 0}
    alias: dict[str, str] = {}
    pos = [1]

    def touch(t: str, p: int) -> None:
        t = alias.get(t, t)
        first.setdefault(t, p)
        last[t] = max(last.get(t, p), p)

    def walk(steps: list[Step], fold_end: int | None, local: set) -> None:
        for st in steps:
            p = pos[0]
            pos[0] += 1
            if st.kind == "fold":
                bi, bo = st.attrs["body_input"], st.attrs["body_output"]
                for t in st.inputs:
                    touch(t, p)
                touch(bi, p)
                inner: set = set()
                _collect_defs(st.body, inner)
                walk(st.body, None, inner)
                end = pos[0]
                pos[0] += 1
                touch(bo, end)
                touch(bi, end)
                # tensors from outside the body that the body reads live to the loop's end
                for t in _collect_uses(st.body) - inner - {bi}:
                    touch(t, end)
                alias[st.output] = bi
                continue
            for t in st.inputs:
                touch(t, p)
            touch(st.output, p)

    walk(steps, None, set())
    touch(graph.output, pos[0])
    return first, last, alias


def _collect_defs(steps: list[Step], out: set) -> None:
    for st in steps:
        out.add(st.output)


def _collect_uses(steps: list[Step]) -> set:
    return {t for st in steps for t in st.inputs}


def allocate(graph: Graph, steps: list[Step]) -> tuple[list[Buffer], dict[str, str]]:
    """Interval colouring of live ranges; a buffer takes the widest type of its tensors."""
    first, last, alias = _live_ranges(graph, steps)
    order = sorted(first, key=lambda t: (first[t], t))
    buffers: list[dict] = []
    where: dict[str, int] = {}
    for t in order:
        free = [i for i, b in enumerate(buffers) if b["until"] < first[t]]
        need = size(graph.tensors[t])
        if free:
            fit = [i for i in free if buffers[i]["size"] >= need]
            i = min(fit, key=lambda i: (buffers[i]["size"], i)) if fit else \
                max(free, key=lambda i: (buffers[i]["size"], -i))
        else:
            buffers.append({"size": 0, "until": -1, "tensors": []})
            i = len(buffers) - 1
        b = buffers[i]
        b["size"] = max(b["size"], need)
        b["until"] = last[t]
        b["tensors"].append(t)
        where[t] = i
    out = []
    for i, b in enumerate(buffers):
        ts = [graph.tensors[t] for t in b["tensors"]]
        signed = any(t.lo < 0 for t in ts)
        typ = ctype(min(t.lo for t in ts), max(t.hi for t in ts), signed)
        out.append(Buffer(f"buf{i}", b["size"], typ, b["tensors"]))
    buffer_of = {t: f"buf{i}" for t, i in where.items()}
    for a, b in alias.items():
        buffer_of[a] = buffer_of[b]
    return out, buffer_of


def make_plan(graph: Graph, lanes: Lanes) -> Plan:
    """Check the graph and lower it for the given lanes (HfnError if it cannot be built)."""
    _check(graph)
    low = _Lowering(graph, lanes)
    try:
        steps = low.lower(graph.ops, 1)
    except (KeyError, TypeError, ValueError) as e:
        raise _err(graph, "IR", f"malformed ({type(e).__name__}: {e})",
                   "regenerate the IR with hfn-hls ir / export") from None
    buffers, buffer_of = allocate(graph, steps)
    return Plan(graph, lanes, steps, buffers, buffer_of, low.convs, low.requants)
