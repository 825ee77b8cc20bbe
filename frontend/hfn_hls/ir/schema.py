"""The schema of an IR JSON document (format ``hfn-ir``, versions 1 and 2) and the
checks of a loaded graph (docs/ir.md, "Checks on load").

``validate_document(d, where)`` checks the document's shape and types (pydantic models
below); ``check_graph(graph, where)`` checks what the types cannot say: references
(tensors, layers, fold body tensors), op order, the shapes each op kind implies, each
layer's params by its weight source (``WeightSource.validate_params``), and that every
tensor's ``[lo, hi]`` is what the range analysis proves (``ir/ranges.py``), so widths
derived from an edited range can never be wrong.  Each problem is one HfnError naming the
file and the field, op, tensor or layer.  Graphs built in Python go through
``check_graph`` too before a project is generated (``project/writer.py``).
"""
from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import Field

from ..errors import HfnError
from ..validate import Dim, Doc, Finite, Name, NonNegInt, PosInt, check
from .model import Graph, Op

FIX = "make the IR again with 'hfn-hls ir model.onnx -o ir.json'"
BIG = 1 << 62                                  # |integers| in an IR (int64 arithmetic)
Int = Annotated[int, Field(ge=-BIG, le=BIG)]
KINDS = ("conv", "requant", "add", "maxpool", "global_sum", "fold")
ARITY = {"conv": 1, "requant": 1, "add": 2, "maxpool": 1, "global_sum": 1, "fold": 1}
MAX_LEVELS = 1 << 16                           # thresholds per requant row


class TensorDoc(Doc):
    name: Name
    shape: list[Dim] = Field(min_length=3, max_length=3)
    lo: Int
    hi: Int
    scale: Finite = 1.0


class LayerDoc(Doc):
    name: Name
    shape: list[Dim] = Field(min_length=4, max_length=4)
    source: Name
    params: dict[str, Any]


class LayerV1Doc(Doc):
    name: Name
    shape: list[Dim] = Field(min_length=4, max_length=4)
    seed: Any
    mask: Any
    source: Name = "hfn"


class OpDoc(Doc):
    kind: Literal["conv", "requant", "add", "maxpool", "global_sum", "fold"]
    name: Name
    inputs: list[Name]
    output: Name
    attrs: dict[str, Any] = {}
    body: list["OpDoc"] = []


class GraphDoc(Doc):
    format: Literal["hfn-ir"]
    version: Literal[1, 2]
    name: Name
    input: Name
    output: Name
    meta: dict[str, Any] = {}
    tensors: dict[str, TensorDoc]
    layers: dict[str, dict[str, Any]]
    shared: dict[str, dict[str, Any]] = {}
    ops: list[OpDoc] = Field(min_length=1)


# -- op attributes, by kind (unknown keys are allowed: passes may add their own) ---------
class ConvAttrs(Doc):
    layer: Name
    kernel: PosInt
    stride: PosInt
    pad: NonNegInt


class RequantSet(Doc):
    thresholds: list[list[Int]] = Field(min_length=1)
    direction: list[Int] = Field(min_length=1)


class RequantAttrs(Doc):
    out_min: Int
    sets: list[RequantSet] = Field(min_length=1)


class MaxPoolAttrs(Doc):
    kernel: PosInt
    stride: PosInt
    pad: NonNegInt


class FoldAttrs(Doc):
    iterations: int = Field(ge=1, le=1 << 16)
    body_input: Name
    body_output: Name


ATTRS = {"conv": ConvAttrs, "requant": RequantAttrs, "maxpool": MaxPoolAttrs,
         "fold": FoldAttrs}


def validate_document(d: Any, where: str) -> None:
    """The document's shape and types; HfnError naming the field otherwise."""
    if isinstance(d, dict) and d.get("format") == "hfn-ir" and d.get("version") not in (1, 2):
        raise HfnError(where, f"hfn-ir version {d.get('version')!r} (this hfn-hls reads "
                       "versions 1 and 2)", FIX)
    check(GraphDoc, d, where, FIX)
    layer_doc = LayerV1Doc if d["version"] == 1 else LayerDoc
    for key, v in d["layers"].items():
        check(layer_doc, v, f"{where} layers.{key}", FIX)


def _err(where: str, what: str, reason: str) -> HfnError:
    return HfnError(f"{where} {what}", reason, FIX)


def check_graph(graph: Graph, where: str) -> Graph:
    """What the types cannot say (module docstring); returns the graph."""
    from ..weights import get_source
    t = graph.tensors
    for key, ten in t.items():
        if key != ten.name:
            raise _err(where, f"tensor {key}", f"is named {ten.name!r}")
        if ten.lo > ten.hi:
            raise _err(where, f"tensor {key}", f"range [{ten.lo}, {ten.hi}] is empty")
    for key, lay in graph.layers.items():
        if key != lay.name:
            raise _err(where, f"layer {key}", f"is named {lay.name!r}")
        try:
            src = get_source(lay.source)
        except HfnError as e:
            raise _err(where, f"layer {key}", f"source {lay.source!r}: {e.reason}") from None
        reason = src.validate_params(lay, graph)
        if reason:
            raise _err(where, f"layer {key}", reason)
    for name in (graph.input, graph.output):
        if name not in t:
            raise _err(where, f"tensor {name}", "the graph's input/output is not a tensor")
    inp = t[graph.input]
    if inp.lo < 0 or inp.hi > 255:
        raise _err(where, f"input {graph.input}", f"codes [{inp.lo}, {inp.hi}] are not 8-bit "
                   "unsigned")
    names: set[str] = set()
    produced = {graph.input}
    _check_ops(graph, graph.ops, produced, names, set(produced), where, 1)
    if graph.output not in produced:
        raise _err(where, f"output {graph.output}", "no op produces the graph's output")
    _check_ranges(graph, where)
    return graph


def _check_ops(graph: Graph, ops: list[Op], produced: set, names: set, written: set,
               where: str, iters: int) -> None:
    """``produced``: the tensors the ops may read; ``written``: every tensor written so
    far (fold bodies included: a tensor is written by one op only)."""
    t = graph.tensors
    for op in ops:
        what = f"op {op.name}"
        if op.name in names:
            raise _err(where, what, "duplicate op name")
        names.add(op.name)
        if len(op.inputs) != ARITY[op.kind]:
            raise _err(where, what, f"{op.kind} takes {ARITY[op.kind]} input(s), has "
                       f"{len(op.inputs)}")
        for i in [*op.inputs, op.output]:
            if i not in t:
                raise _err(where, what, f"tensor {i!r} is not in tensors")
        for i in op.inputs:
            if i not in produced:
                raise _err(where, what, f"reads {i!r} before any op writes it")
        if op.output in written:
            raise _err(where, what, f"writes {op.output!r}, which another op writes too")
        schema = ATTRS.get(op.kind)
        a = check(schema, op.attrs, f"{where} {what} attrs", FIX) if schema else None
        if op.kind != "fold" and op.body:
            raise _err(where, what, f"a {op.kind} op has a body")
        x, y = t[op.inputs[0]].shape, t[op.output].shape
        if op.kind == "conv":
            lay = graph.layers.get(a.layer)
            if lay is None:
                raise _err(where, what, f"layer {a.layer!r} is not in layers")
            co, kh, kw, ci = lay.shape
            if kh != a.kernel or kw != a.kernel or ci != x[2]:
                raise _err(where, what, f"layer {a.layer} {lay.shape} does not fit kernel "
                           f"{a.kernel} on {x[2]} input channels")
            _same(where, what, y, _window(x, a.kernel, a.stride, a.pad, co, where, what))
        elif op.kind == "requant":
            _check_requant(where, what, a, x, y, iters)
        elif op.kind == "add":
            for i in op.inputs:
                _same(where, what, t[i].shape, y)
        elif op.kind == "maxpool":
            if a.pad >= a.kernel:
                raise _err(where, what, f"padding {a.pad} is not below the kernel {a.kernel}")
            _same(where, what, y, _window(x, a.kernel, a.stride, a.pad, x[2], where, what))
        elif op.kind == "global_sum":
            _same(where, what, y, [1, 1, x[2]])
        elif op.kind == "fold":
            if iters != 1:
                raise _err(where, what, "a fold inside a fold body")
            if not op.body:
                raise _err(where, what, "a fold without a body")
            for b in (a.body_input, a.body_output):
                if b not in t:
                    raise _err(where, what, f"tensor {b!r} is not in tensors")
                _same(where, what, t[b].shape, x)
            _same(where, what, y, x)
            if a.body_input in written or a.body_input == op.output:
                raise _err(where, what, f"body input {a.body_input!r} is written elsewhere")
            written.add(a.body_input)
            inner = set(produced) | {a.body_input}
            _check_ops(graph, op.body, inner, names, written, where, a.iterations)
            if a.body_output not in inner or a.body_output == a.body_input:
                raise _err(where, what, f"no op of the body writes {a.body_output!r}")
        produced.add(op.output)
        written.add(op.output)


def _window(x, k, s, p, c, where, what) -> list[int]:
    ho, wo = (x[0] + 2 * p - k) // s + 1, (x[1] + 2 * p - k) // s + 1
    if ho < 1 or wo < 1:
        raise _err(where, what, f"a {k}x{k} window does not fit the {x[0]}x{x[1]} input")
    return [ho, wo, c]


def _same(where, what, got, want) -> None:
    if list(got) != list(want):
        raise _err(where, what, f"shape {list(got)} where {list(want)} follows from its "
                   "inputs")


def _check_requant(where: str, what: str, a: RequantAttrs, x, y, iters: int) -> None:
    _same(where, what, y, x)
    if len(a.sets) != iters:
        raise _err(where, what, f"{len(a.sets)} parameter sets, expected {iters} (one per "
                   "iteration of its fold, 1 outside folds)")
    levels = len(a.sets[0].thresholds[0])
    if not 1 <= levels <= MAX_LEVELS:
        raise _err(where, what, f"{levels} thresholds per row (1..{MAX_LEVELS})")
    for i, s in enumerate(a.sets):
        rows = len(s.thresholds)
        if rows not in (1, x[2]) or len(s.direction) != rows:
            raise _err(where, what, f"sets[{i}]: {rows} threshold rows and "
                       f"{len(s.direction)} directions for {x[2]} channels")
        if any(len(r) != levels for r in s.thresholds):
            raise _err(where, what, f"sets[{i}]: rows of different lengths")
        if any(d not in (-1, 1) for d in s.direction):
            raise _err(where, what, f"sets[{i}]: directions must be 1 or -1")


def _check_ranges(graph: Graph, where: str) -> None:
    """Every tensor's [lo, hi] must be what ir/ranges.py proves for it."""
    from .ranges import infer_ranges
    g = copy.deepcopy(graph)
    try:
        infer_ranges(g)
    except ValueError as e:
        raise HfnError(where, f"ranges cannot be inferred ({e})", FIX) from None
    for name, ten in graph.tensors.items():
        want = g.tensors[name]
        if (ten.lo, ten.hi) != (want.lo, want.hi):
            raise _err(where, f"tensor {name}", f"range [{ten.lo}, {ten.hi}] is not the proven "
                       f"[{want.lo}, {want.hi}]")


__all__ = ["FIX", "GraphDoc", "check_graph", "validate_document"]


OpDoc.model_rebuild()            # the forward reference: a fold's body holds OpDocs
