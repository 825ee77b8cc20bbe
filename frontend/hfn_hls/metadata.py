"""The metadata that ``hfn-hls export`` writes into a QONNX file (no torch needed).

ONNX ``metadata_props``, JSON objects (docs/ir.md, "Metadata"):
- key ``hfn`` (format ``hfn-meta``): models with generated (LFSR x mask) layers;
- key ``hfn-hls`` (format ``hfn-hls-model``): models without generated layers (stored
  weights: ``--method dense``, ``layerfold``): method, preset, data set, input shape,
  classes, widths.  Informational: such a model compiles from its graph alone.
The exporter (``export.py``, needs torch) writes them; the IR builder (``ir/``) reads them
through this module only, so that ``ir``, ``generate`` and ``csim`` run without torch.
"""
from __future__ import annotations

from typing import Literal, Optional

import onnx
from pydantic import Field, model_validator

from .errors import HfnError
from .validate import Dim, Doc, Finite, Name, NonNegInt, PosInt, U32, check, parse_json

META_KEY = "hfn"
META_FORMAT = "hfn-meta"
MODEL_META_KEY = "hfn-hls"
MODEL_META_FORMAT = "hfn-hls-model"

# Widths the compiler supports (``train --act-bits`` takes the same range): a requant
# keeps 2^b - 1 thresholds per channel, so activation widths are small by design.
ACT_BITS = (2, 8)
RES_BITS = (2, 9)                  # act_bits + 1 at most
WEIGHT_BITS = (1, 8)
REEXPORT = "re-export the model with 'hfn-hls export RUN/ -o model.onnx'"


def _in(v, lo_hi, what: str) -> None:
    lo, hi = lo_hi
    if v is not None and not lo <= v <= hi:
        raise ValueError(f"{what} {v} is outside the supported {lo}..{hi}")


class LayerMeta(Doc):
    """A metadata layer: what every weight source's entry has; the source checks the
    rest (``WeightSource.check_metadata``)."""

    name: Name
    shape_oihw: list[Dim] = Field(min_length=4, max_length=4)
    source: Name = "hfn"
    stride: Optional[PosInt] = None
    pad: Optional[NonNegInt] = None


class FoldMeta(Doc):
    name: Name
    iterations: int = Field(ge=1, le=1 << 16)
    layers: list[Name] = Field(min_length=1)


class _Common(Doc):
    version: Literal[1]
    preset: Optional[Name] = None
    dataset: Optional[Name] = None
    method: Optional[Name] = None
    input_shape: list[Dim] = Field(min_length=3, max_length=3)      # C, H, W
    classes: int = Field(ge=1, le=1 << 20)
    act_bits: Optional[int] = None
    res_bits: Optional[int] = None

    @model_validator(mode="after")
    def _widths(self):
        _in(self.act_bits, ACT_BITS, "act_bits")
        _in(self.res_bits, RES_BITS, "res_bits")
        return self


class HfnMeta(_Common):
    """The ``hfn`` metadata (docs/ir.md, "Metadata")."""

    format: Literal["hfn-meta"]
    model_seed: U32
    sign_source: Literal["lfsr"] = "lfsr"
    layers: list[LayerMeta] = Field(min_length=1)
    conv_calls: list[Name] = Field(min_length=1)
    folds: list[FoldMeta]
    k: Optional[Finite] = None
    gain: Optional[Finite] = None

    @model_validator(mode="after")
    def _refs(self):
        names = [l.name for l in self.layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate layer name {dup[0]!r}")
        if self.k is not None and not 0 < self.k <= 1:
            raise ValueError(f"k {self.k} is not a kept fraction in (0, 1]")
        known = set(names)
        for i, c in enumerate(self.conv_calls):
            if c not in known:
                raise ValueError(f"conv_calls[{i}] calls unknown layer {c!r}")
        fnames = [f.name for f in self.folds]
        if len(set(fnames)) != len(fnames):
            raise ValueError("duplicate fold name")
        for f in self.folds:
            bad = [l for l in f.layers if l not in known]
            if bad:
                raise ValueError(f"fold {f.name!r} names unknown layer {bad[0]!r}")
        return self


class ModelMeta(_Common):
    """The ``hfn-hls`` metadata of a stored-weight model (informational)."""

    format: Literal["hfn-hls-model"]
    weight_bits: Optional[int] = None
    convs: Optional[NonNegInt] = None

    @model_validator(mode="after")
    def _weights(self):
        _in(self.weight_bits, WEIGHT_BITS, "weight_bits")
        return self


def _read(model: onnx.ModelProto, key: str, where: str) -> dict | None:
    for p in model.metadata_props:
        if p.key == key:
            return parse_json(p.value, f"{where} metadata {key!r}", "a JSON object", REEXPORT)
    return None


def check_hfn_metadata(meta, where: str) -> dict:
    """``meta`` (the parsed ``hfn`` JSON) checked against its schema and each layer by its
    weight source; returns it.  One HfnError naming the file and the field otherwise."""
    if isinstance(meta, dict) and meta.get("format") != META_FORMAT:
        raise HfnError(where, f"metadata format {meta.get('format')!r} is not "
                       f"{META_FORMAT!r}", "re-export with this version of hfn-hls")
    if isinstance(meta, dict) and meta.get("sign_source", "lfsr") != "lfsr":
        raise HfnError(where, "weight signs come from the torch RNG and cannot be "
                       "regenerated on chip", "re-search the masks with 'hfn-hls train'")
    check(HfnMeta, meta, f"{where} metadata {META_KEY!r}", REEXPORT)
    from .weights import get_source
    for i, info in enumerate(meta["layers"]):
        reason = get_source(info.get("source", "hfn")).check_metadata(info, meta)
        if reason:
            raise HfnError(f"{where} metadata {META_KEY!r} layers[{i}] ({info['name']})",
                           reason, "the metadata was edited or belongs to another model; "
                           + REEXPORT)
    return meta


def read_metadata(model: onnx.ModelProto, where: str = "model") -> dict | None:
    """The ``hfn`` metadata of an ONNX model, checked (``check_hfn_metadata``), or None if
    it has none."""
    meta = _read(model, META_KEY, where)
    return None if meta is None else check_hfn_metadata(meta, where)


def read_model_metadata(model: onnx.ModelProto, where: str = "model") -> dict | None:
    """The ``hfn-hls`` metadata of a stored-weight model, checked, or None if it has
    none."""
    meta = _read(model, MODEL_META_KEY, where)
    if meta is None:
        return None
    if isinstance(meta, dict) and meta.get("format") != MODEL_META_FORMAT:
        raise HfnError(where, f"metadata format {meta.get('format')!r} is not "
                       f"{MODEL_META_FORMAT!r}", "re-export with this version of hfn-hls")
    check(ModelMeta, meta, f"{where} metadata {MODEL_META_KEY!r}", REEXPORT)
    return meta
