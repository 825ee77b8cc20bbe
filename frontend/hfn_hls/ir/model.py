"""The HFN IR: an integer, hardware-oriented description of a network (docs/ir.md).

Tensors are integer, NHWC without the batch dimension, named; ops read and write them.
Weights are never in the IR: a generated layer holds its LFSR seed, its shape and its
packed supermask; the ternary weights are ``sign(LFSR) * mask``.  A ``fold`` op holds a
body that runs ``iterations`` times; every ``requant`` carries one parameter set per
iteration (exactly one outside folds).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import lfsr
from .. import mask as maskpack

FORMAT = "hfn-ir"
VERSION = 1


@dataclass
class WeightLayer:
    """A generated (``source == "hfn"``) weight tensor: sign(LFSR(seed)) * mask."""

    name: str
    shape: list[int]            # [co, kh, kw, ci] (canonical, channels-last)
    seed: int
    mask: str                   # packed hex, see hfn_hls.mask
    k: float = 0.0              # kept fraction used when searching the mask
    source: str = "hfn"

    @property
    def fan_in(self) -> int:
        return int(self.shape[1] * self.shape[2] * self.shape[3])

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def mask_array(self) -> np.ndarray:
        return maskpack.unpack(self.mask, tuple(self.shape))

    def ternary(self) -> np.ndarray:
        """Weights in {-1, 0, 1}, int8, [co][kh][kw][ci]."""
        co, kh, kw, ci = self.shape
        signs = 1 - 2 * lfsr.sign_bits(self.seed, co, kh * kw * ci).astype(np.int8)
        return (signs.reshape(co, kh, kw, ci) * self.mask_array()).astype(np.int8)


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
    layers: dict[str, WeightLayer]
    ops: list[Op]
    meta: dict[str, Any] = field(default_factory=dict)

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
            "ops": [_op_to_dict(o) for o in self.ops],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, d: dict) -> "Graph":
        if d.get("format") != FORMAT or d.get("version") != VERSION:
            raise ValueError(f"not an {FORMAT} v{VERSION} document")
        return cls(
            name=d["name"],
            input=d["input"],
            output=d["output"],
            meta=d.get("meta", {}),
            tensors={k: Tensor(**v) for k, v in d["tensors"].items()},
            layers={k: WeightLayer(**v) for k, v in d["layers"].items()},
            ops=[_op_from_dict(o) for o in d["ops"]],
        )

    @classmethod
    def load(cls, path: str | Path) -> "Graph":
        return cls.from_dict(json.loads(Path(path).read_text()))


def _op_to_dict(op: Op) -> dict:
    d = {"kind": op.kind, "name": op.name, "inputs": op.inputs, "output": op.output,
         "attrs": op.attrs}
    if op.kind == "fold":
        d["body"] = [_op_to_dict(o) for o in op.body]
    return d


def _op_from_dict(d: dict) -> Op:
    return Op(kind=d["kind"], name=d["name"], inputs=list(d["inputs"]), output=d["output"],
              attrs=d.get("attrs", {}), body=[_op_from_dict(o) for o in d.get("body", [])])
