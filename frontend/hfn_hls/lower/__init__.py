"""The one lowering: IR graph -> ``Program`` (docs/lowering.md).

``lower(graph)`` fuses ops into passes (``fuse``), makes each fold one loop over one body,
allocates buffers by liveness (``buffers``) and attaches to every pass the bounds its
hardware needs (accumulators, requant tables, from ``ir/ranges.py``).  The HLS writer and
the RTL design both read the Program; neither re-derives fusion, buffers or cycles.
The Program does not depend on the lanes: costs take them as an argument.
"""
from __future__ import annotations

import numpy as np

from ..errors import HfnError
from ..ir.model import Graph, Op
from ..ir.requant import compact_of
from ..weights import get_source
from .buffers import allocate
from .fuse import Fuser, schedule
from .program import (AddPass, Buffer, ConvPass, CopyPass, Fold, GlobalSumPass, MaxPoolPass,
                      Pass, PassCost, Program, Requant, RequantPass, Window)

KINDS = ("conv", "requant", "add", "maxpool", "global_sum", "fold")

__all__ = ["AddPass", "Buffer", "ConvPass", "CopyPass", "Fold", "GlobalSumPass", "KINDS",
           "MaxPoolPass", "Pass", "PassCost", "Program", "Requant", "RequantPass", "Window",
           "lower"]


def _err(graph: Graph, where: str, reason: str, fix: str = "regenerate the IR") -> HfnError:
    return HfnError(f"model {graph.name!r}, {where}", reason, fix)


def _check_requant(graph: Graph, op: Op, iters: int) -> None:
    sets = op.attrs["sets"]
    if len(sets) != iters:
        raise _err(graph, f"requant {op.name}", f"{len(sets)} parameter sets, expected {iters}",
                   "a requant has one set per iteration of its fold (1 outside folds)")
    c = graph.tensors[op.inputs[0]].shape[2]
    th = np.asarray([s["thresholds"] for s in sets])
    dr = np.asarray([s["direction"] for s in sets])
    if th.ndim != 3 or th.shape[1] not in (1, c) or dr.shape != th.shape[:2] or \
            not np.all(np.isin(dr, (-1, 1))):
        raise _err(graph, f"requant {op.name}", f"thresholds {list(th.shape)} / directions "
                   f"{list(dr.shape)} do not fit {c} channels")
    if th.size and not np.all(np.equal(np.mod(th, 1), 0)):
        raise _err(graph, f"requant {op.name}", "non-integer thresholds")
    if th.shape[2] and np.any(np.diff(th, axis=2) < 0):
        raise _err(graph, f"requant {op.name}", "thresholds are not ascending",
                   "regenerate the IR (thresholds must be sorted per row)")
    if "compact" in op.attrs:
        x = graph.tensors[op.inputs[0]]
        try:
            compact_of(op, x.lo, x.hi)
        except ValueError as e:
            raise _err(graph, f"requant {op.name}", str(e),
                       "rebuild the IR with 'hfn-hls ir' (or drop attrs.compact: the "
                       "lowering then derives it)") from None


def _check(graph: Graph) -> None:
    for name, layer in graph.layers.items():
        b = get_source(layer.source).bias(layer, graph)
        if b is not None and (b.shape != (layer.shape[0],) or np.abs(b).max(initial=0) >= 1 << 31):
            raise _err(graph, f"layer {name}", f"a bias of shape {list(b.shape)} (or beyond "
                       "32 bits)", "one 32-bit bias per output channel")
    for op in graph.ops:
        if op.kind not in KINDS:
            raise _err(graph, f"op {op.name}", f"unsupported op kind {op.kind!r}",
                       f"the IR has {', '.join(KINDS)} ops")
        n = int(op.attrs["iterations"]) if op.kind == "fold" else 1
        if op.kind == "fold":
            if n < 1:
                raise _err(graph, f"fold {op.name}", f"{n} iterations",
                           "a fold runs at least once")
            bi, bo = op.attrs["body_input"], op.attrs["body_output"]
            if graph.tensors[bi].shape != graph.tensors[bo].shape:
                raise _err(graph, f"fold {op.name}", "body input and output shapes differ")
        for b in (op.body if op.kind == "fold" else [op]):
            if b.kind not in KINDS or b.kind == "fold" and b is not op:
                raise _err(graph, f"op {b.name}", f"op kind {b.kind!r} inside a fold body",
                           "fold bodies hold conv, requant, add, maxpool and global_sum")
            if b.kind == "requant":
                _check_requant(graph, b, n)


def _reads_after(graph: Graph, ops: list[Op], i: int) -> set:
    """Tensors read by the top-level ops after position ``i`` (and the graph output)."""
    out = {graph.output}
    for op in ops[i + 1:]:
        out.update(op.inputs)
    return out


def lower(graph: Graph) -> Program:
    """Check and lower ``graph``; HfnError names what cannot be lowered."""
    _check(graph)
    try:
        return _lower(graph)
    except (KeyError, TypeError, ValueError) as e:
        raise _err(graph, "IR", f"malformed ({type(e).__name__}: {e})",
                   "regenerate the IR with hfn-hls ir / export") from None


def _lower(graph: Graph) -> Program:
    fuser = Fuser(graph)
    items: list = []
    alias: dict[str, str] = {}
    avail = {graph.input}
    chunk: list[Op] = []

    def flush() -> None:
        items.extend(schedule(graph, fuser.passes(chunk, 1), avail))
        chunk.clear()

    for i, op in enumerate(graph.ops):
        if op.kind != "fold":
            chunk.append(op)
            continue
        flush()
        n = int(op.attrs["iterations"])
        x, bi, bo = op.inputs[0], op.attrs["body_input"], op.attrs["body_output"]
        body = schedule(graph, fuser.passes(op.body, n), set(avail) | {bi})
        writer = next((k for k, p in enumerate(body) if p.out == bo), None)
        if writer is None:
            raise _err(graph, f"fold {op.name}", f"the body does not produce {bo}")
        group = [bi, op.output]
        if bi in body[writer].window_reads() or any(bi in p.reads() for p in body[writer + 1:]):
            body.append(CopyPass(f"{op.name}.next", bi, n, bo))   # cannot write in place
        else:
            group.append(bo)
        if x == graph.input or x in _reads_after(graph, graph.ops, i):
            items.append(CopyPass(f"{op.name}.enter", bi, 1, x))  # x is needed afterwards
            root = bi
        else:
            root = alias.get(x, x)
            group.append(x)
        for t in group:
            if t != root:
                alias[t] = root
        items.append(Fold(op, body))
        avail.add(op.output)
    flush()
    buffers, buffer_of = allocate(graph, items, alias)
    return Program(graph, items, buffers, buffer_of)
