"""The ``hfn`` metadata that ``hfn-hls export`` writes into a QONNX file (no torch needed).

ONNX ``metadata_props`` key ``hfn``, a JSON object (docs/ir.md).  The exporter
(``export.py``, needs torch) writes it; the IR builder (``ir/``) reads it through this
module only, so that ``ir``, ``generate`` and ``csim`` run without torch.
"""
from __future__ import annotations

import json

import onnx

META_KEY = "hfn"
META_FORMAT = "hfn-meta"


def read_metadata(model: onnx.ModelProto) -> dict | None:
    """The ``hfn`` metadata of an ONNX model, or None if it has none."""
    for p in model.metadata_props:
        if p.key == META_KEY:
            return json.loads(p.value)
    return None
