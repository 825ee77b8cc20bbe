"""Export to QONNX (brevitas.export.export_qonnx) with the HFN metadata inside the file.

The metadata (ONNX ``metadata_props`` key ``hfn``, JSON) makes the file alone enough
downstream: model seed and per-layer seeds, k and the layer constants, the quantisation
widths, the order in which Conv nodes are called and the fold groups.  See docs/ir.md.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import onnx
import torch

from .models.resnet import HfnResNet
from .metadata import META_FORMAT, META_KEY, read_metadata  # noqa: F401 (re-exported)
from .models.supermask import GAIN, HfnConv2d



def conv_call_order(model: HfnResNet) -> list[str]:
    """Names of the generated layers in the order their convolutions execute."""
    names = {m: n for n, m in model.hfn_layers()}
    calls: list[str] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: calls.append(names[mod]))
             for m in names]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *model.input_shape))
    finally:
        for h in hooks:
            h.remove()
    return calls


def metadata(model: HfnResNet) -> dict:
    p = model.preset
    layers = []
    for i, (name, m) in enumerate(model.hfn_layers()):
        layers.append({"name": name, "index": i, "seed": m.seed, "k": m.k, "c": m.c,
                       "shape_oihw": [m.out_ch, m.in_ch, m.kernel, m.kernel],
                       "stride": m.stride, "pad": m.padding})
    calls = conv_call_order(model)
    folds = []
    for bi, block in enumerate(model.blocks):
        if block.plan.folded:
            folds.append({"name": block.plan.name, "iterations": block.plan.iterations,
                          "layers": [f"blocks.{bi}.convs.{i}" for i in range(len(block.convs))]})
    c, h, w = model.input_shape
    return {"format": META_FORMAT, "version": 1, "preset": p.name, "dataset": p.dataset,
            "model_seed": model.model_seed, "act_bits": p.act_bits, "res_bits": p.res_bits,
            "k": p.k, "gain": GAIN, "input_shape": [c, h, w], "classes": model.classes,
            "sign_source": "lfsr", "layers": layers, "conv_calls": calls, "folds": folds}


def export_model(model: HfnResNet, out_path: str | Path, *, verbose: bool = False) -> Path:
    """Write ``out_path`` (QONNX + metadata) atomically; returns the path."""
    from brevitas.export import export_qonnx

    out_path = Path(out_path)
    model.eval()
    if not all(m.frozen for m in model.modules() if isinstance(m, HfnConv2d)):
        model.freeze()
    meta = metadata(model)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=out_path.parent)
    os.close(fd)
    try:
        sink = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink if not verbose else io.StringIO()):
            warnings.simplefilter("ignore")
            export_qonnx(model, args=torch.zeros(1, *model.input_shape), export_path=tmp,
                         dynamo=False)
        m = onnx.load(tmp)
        del m.metadata_props[:]
        prop = m.metadata_props.add()
        prop.key, prop.value = META_KEY, json.dumps(meta, sort_keys=True)
        onnx.save(m, tmp)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_path
