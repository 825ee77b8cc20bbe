"""Fusion: an op list (the graph's, or a fold body's) -> passes, in a valid order.

Rules (docs/lowering.md), each op belongs to exactly one pass:
- a ``conv`` anchors a pass; it takes the ``requant`` that is its output's only use (R1);
  if R1's output is only used by an ``add``, the pass takes the add unless the add's
  other operand comes from a later convolution's R1 (then that pass takes it), reads the
  other operand pointwise (``res``), through its ``requant`` (Rs) when that requant is
  the operand's only producer of a stored tensor (the identity shortcut); the ``requant``
  that is the add's only use is R2;
- a 1x1 ``conv`` (stride 1, no padding) whose input is a ``global_sum`` used by it alone
  accumulates over every pixel of the sum's input (``acc_all``);
- the ops no conv pass takes become passes of their own: requant, add (+ the requant
  that is its only use), global_sum, maxpool.
"""
from __future__ import annotations

from collections import Counter

from ..errors import HfnError
from ..ir.model import Graph, Op
from ..ir.ranges import Interval, accumulator_range
from ..weights import get_source
from .program import (AddPass, ConvPass, GlobalSumPass, MaxPoolPass, Pass, RequantPass,
                      Window, requant_of)


def _err(graph: Graph, op: Op, reason: str, fix: str = "regenerate the IR") -> HfnError:
    return HfnError(f"model {graph.name!r}, op {op.name}", reason, fix)


class Fuser:
    """Fusion decisions over the whole graph (uses are counted across fold bodies)."""

    def __init__(self, graph: Graph):
        self.g = graph
        self.producer = {op.output: op for op in graph.walk()}
        self.order = {id(op): i for i, op in enumerate(graph.walk())}
        self.consumers: dict[str, list[Op]] = {}
        self.uses: Counter = Counter()
        for op in graph.walk():
            for t in op.inputs:
                self.consumers.setdefault(t, []).append(op)
                self.uses[t] += 1
            if op.kind == "fold":
                self.uses[op.attrs["body_output"]] += 1   # read by the next iteration
        self.uses[graph.output] += 1                        # read by the output stream

    # -- helpers ----------------------------------------------------------------------------
    def sole_use(self, t: str, members: set, kind: str) -> Op | None:
        """The op of ``kind`` in ``members`` that is the only use of tensor ``t``."""
        if self.uses[t] != 1 or t not in self.consumers:
            return None
        op = self.consumers[t][0]
        return op if op.kind == kind and id(op) in members else None

    def interval(self, t: str) -> Interval:
        return Interval.of(self.g.tensors[t])

    def channels(self, t: str) -> int:
        return int(self.g.tensors[t].shape[2])

    def requant(self, op: Op) -> object:
        try:
            return requant_of(self.g, op, self.interval(op.inputs[0]),
                              self.channels(op.output))
        except ValueError as e:
            raise _err(self.g, op, str(e), "rebuild the IR with 'hfn-hls ir'") from None

    def conv_requant(self, t: str, members: set) -> tuple[Op, Op] | None:
        """(conv, requant) if tensor ``t`` is the R1 output of a conv pass in ``members``."""
        rq = self.producer.get(t)
        if rq is None or rq.kind != "requant" or id(rq) not in members:
            return None
        conv = self.producer.get(rq.inputs[0])
        if conv is None or conv.kind != "conv" or id(conv) not in members:
            return None
        if self.sole_use(conv.output, members, "requant") is not rq:
            return None
        return conv, rq

    # -- windows ------------------------------------------------------------------------------
    def conv_window(self, op: Op, src: str) -> Window:
        layer = self.g.layers.get(op.attrs.get("layer"))
        if layer is None:
            raise _err(self.g, op, f"unknown layer {op.attrs.get('layer')!r}")
        x, y = self.g.tensors[op.inputs[0]], self.g.tensors[op.output]
        co, kh, kw, ci = layer.shape
        s, p = int(op.attrs["stride"]), int(op.attrs["pad"])
        oh, ow = (x.shape[0] + 2 * p - kh) // s + 1, (x.shape[1] + 2 * p - kw) // s + 1
        if ci != x.shape[2] or [oh, ow, co] != list(y.shape):
            raise _err(self.g, op, f"layer {layer.name} {layer.shape} does not map {x.shape} "
                       f"to {y.shape}")
        if src != op.inputs[0]:          # acc_all: every pixel of the pre-pool tensor
            h, w, _ = self.g.tensors[src].shape
            return Window(h, w, ci, h, w, co, 1, 1, 1, 0)
        return Window(x.shape[0], x.shape[1], ci, oh, ow, co, kh, kw, s, p)

    def pool_window(self, op: Op) -> Window:
        x, y = self.g.tensors[op.inputs[0]], self.g.tensors[op.output]
        k, s, p = (int(op.attrs[a]) for a in ("kernel", "stride", "pad"))
        oh, ow = (x.shape[0] + 2 * p - k) // s + 1, (x.shape[1] + 2 * p - k) // s + 1
        if p >= k or [oh, ow, x.shape[2]] != list(y.shape):
            raise _err(self.g, op, "inconsistent shapes or padding")
        return Window(x.shape[0], x.shape[1], x.shape[2], oh, ow, x.shape[2], k, k, s, p)

    # -- passes --------------------------------------------------------------------------------
    def passes(self, ops: list[Op], iterations: int) -> list[Pass]:
        """The passes of one op list, in the order of their first op."""
        members = {id(o) for o in ops}
        taken: set = set()
        found: list[tuple[int, Pass]] = []
        for op in ops:                          # conv passes first: they take what they fuse
            if op.kind == "conv":
                p = self.conv_pass(op, members, taken, iterations)
                found.append((min(self.order[id(o)] for o in p.ops()), p))
        for op in ops:
            if id(op) in taken or op.kind in ("conv", "fold"):
                continue
            p = self.single(op, members, taken, iterations)
            found.append((self.order[id(op)], p))
        return [p for _, p in sorted(found, key=lambda t: t[0])]

    def conv_pass(self, op: Op, members: set, taken: set, n: int) -> ConvPass:
        src, pool = op.inputs[0], None
        g = self.producer.get(src)
        if (g is not None and g.kind == "global_sum" and id(g) in members
                and self.sole_use(src, members, "conv") is op and op.attrs["kernel"] == 1
                and op.attrs["stride"] == 1 and op.attrs["pad"] == 0):
            pool, src = g, g.inputs[0]
        window = self.conv_window(op, src)
        pixels = window.oh * window.ow if pool is not None else 1
        acc = accumulator_range(self.g, op.attrs["layer"], self.interval(src), pixels,
                                self.interval(op.output))
        layer = self.g.layers[op.attrs["layer"]]
        p = ConvPass(op.name, op.output, n, op, op.attrs["layer"], src, window, acc,
                     acc_all=pool is not None, pool=pool,
                     bias=get_source(layer.source).bias(layer, self.g))
        r1 = self.sole_use(op.output, members, "requant")
        if r1 is not None:
            p.r1, p.out = self.requant(r1), r1.output
            self.fuse_add(p, r1, members)
        for o in p.ops():
            taken.add(id(o))
        return p

    def fuse_add(self, p: ConvPass, r1: Op, members: set) -> None:
        a = self.sole_use(r1.output, members, "add")
        if a is None or a.inputs[0] == a.inputs[1]:
            return
        other = a.inputs[1] if a.inputs[0] == r1.output else a.inputs[0]
        later = self.conv_requant(other, members)
        if later is not None and self.order[id(later[0])] > self.order[id(p.conv)]:
            return                                   # the later convolution's pass adds
        p.add = a
        po = self.producer.get(other)
        feeder = self.producer.get(po.inputs[0]) if po is not None else None
        if (po is not None and po.kind == "requant" and id(po) in members
                and self.sole_use(other, members, "add") is a
                and (feeder is None or feeder.kind != "conv")):
            p.rs, p.res = self.requant(po), po.inputs[0]
        else:
            p.res = other
        p.sum = self.interval(a.output).join(self.interval(r1.output)).join(
            self.interval(other))
        p.out = a.output
        r2 = self.sole_use(a.output, members, "requant")
        if r2 is not None:
            p.r2, p.out = self.requant(r2), r2.output

    def single(self, op: Op, members: set, taken: set, n: int) -> Pass:
        taken.add(id(op))
        if op.kind == "requant":
            return RequantPass(op.name, op.output, n, op.inputs[0], self.requant(op))
        if op.kind == "add":
            s = self.interval(op.output)
            for t in op.inputs:
                s = s.join(self.interval(t))
            p = AddPass(op.name, op.output, n, op, op.inputs[0], op.inputs[1], s)
            r2 = self.sole_use(op.output, members, "requant")
            if r2 is not None:
                taken.add(id(r2))
                p.r2, p.out = self.requant(r2), r2.output
            return p
        if op.kind == "global_sum":
            s = self.interval(op.output).join(self.interval(op.inputs[0]))
            return GlobalSumPass(op.name, op.output, n, op, op.inputs[0], s)
        if op.kind == "maxpool":
            return MaxPoolPass(op.name, op.output, n, op, op.inputs[0], self.pool_window(op))
        raise _err(self.g, op, f"unsupported op kind {op.kind!r}",
                   "the IR has conv, requant, add, maxpool, global_sum and fold ops")


def schedule(graph: Graph, passes: list[Pass], avail: set) -> list[Pass]:
    """Order passes so that each one's inputs exist (stable); adds what they write to
    ``avail``."""
    todo, done = list(passes), []
    while todo:
        p = next((p for p in todo if all(t in avail for t in p.reads())), None)
        if p is None:
            missing = sorted({t for t in todo[0].reads() if t not in avail})
            raise HfnError(f"model {graph.name!r}, op {todo[0].name}",
                           f"reads {', '.join(missing)}, which nothing before it produces",
                           "regenerate the IR")
        todo.remove(p)
        done.append(p)
        avail.add(p.out)
    return done
