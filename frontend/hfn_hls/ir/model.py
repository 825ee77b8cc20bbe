"""The HFN IR: an integer, hardware-oriented description of a network (docs/ir.md).

Tensors are integer, NHWC without the batch dimension, named; ops read and write them.
Weight values are never in the IR: a weight layer names its *source* (a key of the
weight-source registry, ``hfn_hls.weights``) and holds that source's parameters (for
``hfn``: LFSR seed, packed supermask, k); the source turns them into integer weights.
A ``fold`` op holds a body that runs ``iterations`` times; every ``requant`` carries one
parameter set per iteration (exactly one outside folds).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "hfn-ir"
VERSION = 2
READABLE = (1, 2)               # versions ``from_dict`` accepts (1 is converted on load)


@dataclass
class Layer:
    """A weight tensor of shape [co, kh, kw, ci] (canonical, channels-last) whose values
    the weight source ``source`` makes from ``params`` (docs/weight-sources.md)."""

    name: str
    shape: list[int]
    source: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def fan_in(self) -> int:
        return int(self.shape[1] * self.shape[2] * self.shape[3])

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class Tensor:
    """An integer tensor: shape [H, W, C] and a proven value range [lo, hi]."""

    name: str
    shape: list[int]
    lo: int
    hi: int
    scale: float = 1.0          # real value = scale * integer (informational)

    @property
    def bits(self) -> int:
        """Two's-complement width that holds [lo, hi] (unsigned width if lo >= 0)."""
        return range_bits(self.lo, self.hi)

    @property
    def signed(self) -> bool:
        return self.lo < 0


def range_bits(lo: int, hi: int) -> int:
    if lo >= 0:
        return max(1, int(hi).bit_length())
    return max(int(hi).bit_length(), int(-lo - 1).bit_length()) + 1


@dataclass
class Op:
    """One IR op.  ``kind`` is conv | requant | add | maxpool | global_sum | fold."""

    kind: str
    name: str
    inputs: list[str]
    output: str
    attrs: dict[str, Any] = field(default_factory=dict)
    body: list["Op"] = field(default_factory=list)   # fold only


@dataclass
class Graph:
    name: str
    input: str
    output: str
    tensors: dict[str, Tensor]
    layers: dict[str, Layer]
    ops: list[Op]
    meta: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, dict] = field(default_factory=dict)   # shared weight stores, by name

    # -- navigation -------------------------------------------------------------------
    def walk(self):
        """All ops, fold bodies included, in execution order of their first iteration."""
        for op in self.ops:
            yield op
            if op.kind == "fold":
                yield from op.body

    @property
    def input_tensor(self) -> Tensor:
        return self.tensors[self.input]

    @property
    def output_tensor(self) -> Tensor:
        return self.tensors[self.output]

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "input": self.input,
            "output": self.output,
            "meta": self.meta,
            "tensors": {k: asdict(v) for k, v in self.tensors.items()},
            "layers": {k: asdict(v) for k, v in self.layers.items()},
            "shared": self.shared,
            "ops": [_op_to_dict(o) for o in self.ops],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, d: dict, where: str = "IR document") -> "Graph":
        """A graph from an IR document, checked (``ir/schema.py``): one HfnError naming
        ``where`` and the field if the document is malformed or inconsistent."""
        from .schema import check_graph, validate_document
        validate_document(d, where)
        layer = _layer_from_v1 if d["version"] == 1 else (
            lambda v: Layer(v["name"], list(v["shape"]), v["source"], dict(v["params"])))
        g = cls(
            name=d["name"],
            input=d["input"],
            output=d["output"],
            meta=d.get("meta", {}),
            tensors={k: Tensor(v["name"], list(v["shape"]), v["lo"], v["hi"],
                               float(v.get("scale", 1.0))) for k, v in d["tensors"].items()},
            layers={k: layer(v) for k, v in d["layers"].items()},
            ops=[_op_from_dict(o) for o in d["ops"]],
            shared=d.get("shared", {}),
        )
        return check_graph(g, where)

    @classmethod
    def load(cls, path: str | Path) -> "Graph":
        """An IR JSON file, checked; HfnError naming the file otherwise."""
        from ..validate import read_json
        from .schema import FIX
        return cls.from_dict(read_json(path, "an IR JSON file", FIX), str(path))


def _layer_from_v1(d: dict) -> Layer:
    """A version-1 layer ``{name, shape, seed, mask, k, source}`` (only ``hfn`` existed)."""
    params = {"seed": d["seed"], "mask": d["mask"], "k": d.get("k", 0.0)}
    return Layer(d["name"], list(d["shape"]), d.get("source", "hfn"), params)


def _op_to_dict(op: Op) -> dict:
    d = {"kind": op.kind, "name": op.name, "inputs": op.inputs, "output": op.output,
         "attrs": op.attrs}
    if op.kind == "fold":
        d["body"] = [_op_to_dict(o) for o in op.body]
    return d


def _op_from_dict(d: dict) -> Op:
    return Op(kind=d["kind"], name=d["name"], inputs=list(d["inputs"]), output=d["output"],
              attrs=d.get("attrs", {}), body=[_op_from_dict(o) for o in d.get("body", [])])
