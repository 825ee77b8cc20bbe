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

import json

import onnx

META_KEY = "hfn"
META_FORMAT = "hfn-meta"
MODEL_META_KEY = "hfn-hls"
MODEL_META_FORMAT = "hfn-hls-model"


def _read(model: onnx.ModelProto, key: str) -> dict | None:
    for p in model.metadata_props:
        if p.key == key:
            return json.loads(p.value)
    return None


def read_metadata(model: onnx.ModelProto) -> dict | None:
    """The ``hfn`` metadata of an ONNX model, or None if it has none."""
    return _read(model, META_KEY)


def read_model_metadata(model: onnx.ModelProto) -> dict | None:
    """The ``hfn-hls`` metadata of a stored-weight model, or None if it has none."""
    return _read(model, MODEL_META_KEY)
