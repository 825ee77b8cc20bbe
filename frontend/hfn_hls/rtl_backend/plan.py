"""From the IR to the engine's program: fused passes, fold loops and buffer allocation.

The RTL engine runs one kind of pass: a convolution whose accumulators go through a
requant (R1), optionally a residual addition (the residual read from a buffer and
optionally requantised by Rs, the identity shortcut) and an output requant (R2).  A
``global_sum`` followed by the 1x1 classifier is one pass that accumulates over all
pixels (exact: the sum is linear).  Fold bodies are emitted once, between loop markers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HfnError
from ..ir.model import Graph, Op


@dataclass
class Pass:
    conv: Op
    src: str                      # tensor read by the convolution
    out: str | None               # tensor written (None: the network output)
    res: str | None = None        # residual tensor (pointwise)
    r1: Op | None = None
    rs: Op | None = None
    r2: Op | None = None
    add: bool = False
    acc_all: bool = False         # classifier: accumulate over all pixels of src
    release: bool = False         # last reader of the input image
    src_buf: int = -1
    out_buf: int = -1
    res_buf: int = -1
    in_loop: bool = False
    reads: list = field(default_factory=list)


@dataclass
class Program:
    items: list                   # ("conv", Pass) | ("loop", iters) | ("endloop",)
    passes: list
    nbuf: int
    buf_tensors: dict             # buffer id -> tensor names stored there


def _consumers(graph: Graph) -> dict:
    cons: dict = {}
    for op in graph.walk():
        for t in op.inputs:
            cons.setdefault(t, []).append(op)
    return cons


def _err(op: Op, reason: str) -> HfnError:
    return HfnError(f"op {op.name}", reason,
                    "the RTL engine runs conv+requant[+add+requant] passes, folds and "
                    "global_sum+classifier; use the HLS backend for other graphs")


def _passes(graph: Graph, ops: list[Op], cons: dict) -> list[Pass]:
    prod = {op.output: op for op in graph.walk()}
    order = {op.name: i for i, op in enumerate(graph.walk())}
    used: set = set()
    out: list[Pass] = []
    for op in ops:
        if op.kind == "maxpool":
            raise _err(op, "maxpool is not supported by the RTL engine")
        if op.kind != "conv":
            continue
        used.add(op.name)
        if op.output == graph.output:
            src, acc_all = op.inputs[0], True
            p = prod.get(src)
            if p is not None and p.kind == "global_sum":
                used.add(p.name)
                src = p.inputs[0]
                if op.attrs["kernel"] != 1 or op.attrs["stride"] != 1 or op.attrs["pad"] != 0:
                    raise _err(op, "the classifier after global_sum must be a 1x1 conv")
            elif graph.tensors[op.output].shape[:2] != [1, 1]:
                raise _err(op, "the network output must be 1x1 (a classifier)")
            out.append(Pass(op, src, None, acc_all=acc_all))
            continue
        c1 = cons.get(op.output, [])
        if len(c1) != 1 or c1[0].kind != "requant":
            raise _err(op, "a convolution must be followed by exactly one requant")
        r1 = c1[0]
        used.add(r1.name)
        p = Pass(op, op.inputs[0], r1.output, r1=r1)
        c2 = cons.get(r1.output, [])
        a = c2[0] if len(c2) == 1 and c2[0].kind == "add" else None
        other = po = None
        if a is not None:
            other = a.inputs[1] if a.inputs[0] == r1.output else a.inputs[0]
            po = prod.get(other)
            pc = prod.get(po.inputs[0]) if po is not None and po.kind == "requant" else None
            if pc is not None and pc.kind == "conv" and order[pc.name] > order[op.name]:
                a = None   # the later convolution's pass does the addition
        if a is not None:
            used.add(a.name)
            if (po is not None and po.kind == "requant" and cons.get(other) == [a]
                    and (prod.get(po.inputs[0]) is None or prod[po.inputs[0]].kind != "conv")):
                used.add(po.name)
                p.rs, p.res = po, po.inputs[0]
            else:
                p.res = other
            p.add = True
            c3 = cons.get(a.output, [])
            if len(c3) == 1 and c3[0].kind == "requant":
                p.r2 = c3[0]
                used.add(p.r2.name)
                p.out = p.r2.output
            else:
                p.out = a.output
        out.append(p)
    for op in ops:
        if op.kind not in ("fold",) and op.name not in used:
            raise _err(op, f"{op.kind} op is not part of a conv pass")
    return out


def _schedule(passes: list[Pass], avail: set) -> list[Pass]:
    """Order passes so that each one's source and residual exist (stable)."""
    todo, done = list(passes), []
    while todo:
        for p in todo:
            if p.src in avail and (p.res is None or p.res in avail):
                break
        else:
            raise _err(todo[0].conv, "pass inputs are never produced")
        todo.remove(p)
        done.append(p)
        if p.out:
            avail.add(p.out)
    return done


def plan(graph: Graph) -> Program:
    cons = _consumers(graph)
    alias: dict = {}
    for op in graph.ops:
        if op.kind == "fold":
            if any(b.kind == "fold" for b in op.body):
                raise _err(op, "nested folds are not supported")
            x = alias.get(op.inputs[0], op.inputs[0])
            for t in (op.attrs["body_input"], op.attrs["body_output"], op.output):
                alias[t] = x
    # top-level passes, scheduled in order with the folds kept where they are
    items = []
    avail = {graph.input}
    chunk: list[Op] = []

    def flush():
        for p in _schedule(_passes(graph, chunk, cons), avail):
            items.append(("conv", p))
        chunk.clear()

    for op in graph.ops:
        if op.kind == "fold":
            flush()
            bi = op.attrs["body_input"]
            body = _schedule(_passes(graph, op.body, cons), avail | {bi})
            items.append(("loop", int(op.attrs["iterations"])))
            for p in body:
                p.in_loop = True
                items.append(("conv", p))
            items.append(("endloop",))
            avail.add(op.output)
        else:
            chunk.append(op)
    flush()
    passes = [it[1] for it in items if it[0] == "conv"]
    if not passes or passes[-1].out is not None:
        raise HfnError(graph.name, "the last op is not a classifier conv",
                       "the RTL engine needs global_sum + 1x1 classifier at the end")
    _allocate(graph, items, passes, alias)
    return Program(items, passes, 1 + max([p.out_buf for p in passes] + [0]), {})


def _allocate(graph: Graph, items: list, passes: list[Pass], alias: dict) -> None:
    """Give every stored tensor a work buffer (the input image has its own)."""
    canon = lambda t: alias.get(t, t)  # noqa: E731
    loop_span = {}
    idx, start = 0, None
    for it in items:
        if it[0] == "loop":
            start = idx
        elif it[0] == "endloop":
            for k in range(start, idx):
                loop_span[k] = (start, idx - 1)
            start = None
        else:
            idx += 1
    last: dict = {}
    first_def: dict = {}
    for i, p in enumerate(passes):
        for t in (p.src, p.res):
            if t is not None:
                last[canon(t)] = max(last.get(canon(t), -1), i)
        if p.out is not None:
            first_def.setdefault(canon(p.out), i)
    for i, p in enumerate(passes):
        for t in (p.src, p.res):
            if t is None:
                continue
            g = canon(t)
            if i in loop_span and first_def.get(g, -1) < loop_span[i][0]:
                last[g] = max(last[g], loop_span[i][1])
    inp = graph.input
    readers = [i for i, p in enumerate(passes) if canon(p.src) == inp or
               (p.res is not None and canon(p.res) == inp)]
    if any(i in loop_span for i in readers) or any(
            p.res is not None and canon(p.res) == inp for p in passes):
        raise HfnError(graph.name, "the input image is read inside a fold or as a residual",
                       "the RTL engine reads the input image only in convolutions before folds")
    passes[readers[-1]].release = True
    owner: dict = {}       # buffer -> group stored there
    buf_of: dict = {}
    for i, p in enumerate(passes):
        p.src_buf = -2 if canon(p.src) == inp else buf_of[canon(p.src)]
        if p.res is not None:
            p.res_buf = buf_of[canon(p.res)]
            if p.res_buf == p.src_buf:
                raise _err(p.conv, "residual and source share a buffer")
        if p.out is None:
            continue
        g = canon(p.out)
        if g in buf_of:
            b = buf_of[g]
            if b == p.src_buf:
                raise _err(p.conv, "fold body writes the buffer it convolves")
        else:
            b = 0
            while True:
                o = owner.get(b)
                free = o is None or last.get(o, -1) < i or (
                    last.get(o, -1) == i and p.res is not None and canon(p.res) == o
                    and canon(p.src) != o and i not in loop_span)
                if free and b != p.src_buf:
                    break
                b += 1
            buf_of[g] = b
            owner[b] = g
        p.out_buf = b
