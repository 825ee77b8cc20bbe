"""Buffer liveness and allocation, one allocator for both backends (docs/lowering.md).

- The input image has a buffer of its own (role ``input``), the network's output codes
  another (``output``); every other stored tensor goes to a work buffer.
- A fold's loop buffer holds its input, every iteration's body input and output and the
  fold's output (``alias`` groups; the lowering inserts copies where that cannot hold).
- Linear scan over the passes in execution order: a tensor read inside a fold but made
  before it stays live to the fold's end; a pass writes a buffer whose tensor is dead,
  or — outside folds — the buffer of a tensor it reads only pointwise and for the last
  time (in place); never a buffer it reads through a window.  Among the free buffers the
  best fit by size is taken (ties: the lowest id); a new one only when none is free.
"""
from __future__ import annotations

import numpy as np

from ..errors import HfnError
from ..ir.model import Graph
from ..ir.ranges import Interval
from .program import Buffer, Fold, Pass


def _flat(items: list) -> tuple[list[Pass], dict[int, tuple[int, int]]]:
    """Passes in execution order and, for those in a fold, the fold's (first, last) index."""
    flat: list[Pass] = []
    span: dict[int, tuple[int, int]] = {}
    for it in items:
        if isinstance(it, Fold):
            start = len(flat)
            flat += it.body
            for k in range(start, len(flat)):
                span[k] = (start, len(flat) - 1)
        else:
            flat.append(it)
    return flat, span


def allocate(graph: Graph, items: list, alias: dict[str, str]) -> tuple[list[Buffer],
                                                                           dict[str, int]]:
    """(buffers, tensor -> buffer id) for the program ``items``; ``alias`` maps every
    member of a fold's group to the group's tensor."""
    canon = lambda t: alias.get(t, t)  # noqa: E731
    size = lambda t: int(np.prod(graph.tensors[t].shape))  # noqa: E731
    flat, span = _flat(items)
    first_def: dict[str, int] = {}
    last: dict[str, int] = {canon(graph.input): -1}
    for i, p in enumerate(flat):
        for t in p.reads():
            last[canon(t)] = max(last.get(canon(t), -1), i)
        first_def.setdefault(canon(p.out), i)
    for i, p in enumerate(flat):
        if i in span:
            for t in p.reads():
                g = canon(t)
                if first_def.get(g, -1) < span[i][0]:
                    last[g] = max(last[g], span[i][1])
    out_group = canon(graph.output)
    last[out_group] = len(flat)

    groups: dict[str, list[str]] = {}
    for t in [graph.input] + [t for p in flat for t in (*p.reads(), p.out)]:
        if t not in groups.setdefault(canon(t), []):
            groups[canon(t)].append(t)

    work: list[dict] = []                       # {"size", "owner"}
    where: dict[str, int] = {}                  # group -> work index
    special: dict[str, str] = {canon(graph.input): "input"}
    if out_group not in alias.values() and out_group != canon(graph.input):
        special[out_group] = "output"
    for i, p in enumerate(flat):
        g = canon(p.out)
        if g in special:
            continue
        window = {where.get(canon(t)) for t in p.window_reads()}
        pointwise = {canon(t) for t in p.pointwise_reads()} - {canon(t) for t in
                                                                p.window_reads()}
        if g in where:
            if where[g] in window:
                raise HfnError(f"model {graph.name!r}, op {p.name}", "writes the buffer it "
                               "reads through a window", "regenerate the IR")
            continue
        need = size(p.out)
        free = []
        for b, w in enumerate(work):
            o = w["owner"]
            dead = last.get(o, -1) < i or (last.get(o, -1) == i and o in pointwise
                                           and i not in span)
            if dead and b not in window:
                free.append(b)
        if free:
            fit = [b for b in free if work[b]["size"] >= need]
            b = min(fit, key=lambda b: (work[b]["size"], b)) if fit else \
                max(free, key=lambda b: (work[b]["size"], -b))
        else:
            work.append({"size": 0, "owner": None, "groups": []})
            b = len(work) - 1
        work[b]["size"] = max(work[b]["size"], need)
        work[b]["owner"] = g
        work[b]["groups"].append(g)
        where[g] = b
    unplaced = [g for g in groups if g not in where and g not in special]
    if unplaced:                                  # read but never written: not computable
        raise HfnError(f"model {graph.name!r}", f"tensor {unplaced[0]} is read but never "
                       "produced", "regenerate the IR")

    def buffer(i: int, role: str, gs: list[str]) -> Buffer:
        ts = [t for g in gs for t in groups[g]]
        rng = Interval(min(graph.tensors[t].lo for t in ts), max(graph.tensors[t].hi for t in ts))
        return Buffer(i, role, ts, max(size(t) for t in ts), rng)

    buffers = [buffer(b, "work", w["groups"]) for b, w in enumerate(work)]
    for g, role in special.items():
        buffers.append(buffer(len(buffers), role, [g]))
    buffer_of = {t: b.id for b in buffers for t in b.tensors}
    return buffers, buffer_of
