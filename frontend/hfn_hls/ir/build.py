"""QONNX file -> verified HFN IR: the pass pipeline of docs/ir.md."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import onnx

from ..errors import HfnError
from ..metadata import read_metadata, read_model_metadata
from .model import Graph
from .passes.extract import ExtractIntegerGraph, tag_origins
from .passes.ir_passes import (CompactRequant, DetectFolds, InferRanges, StripCallIndices,
                                VerifyWeights)
from .passes.onnx_checks import CheckHfnMetadata, CheckSupportedOps
from .passes.sanity import SANITY, CheckInputShape


def load_onnx(path: str | Path):
    """Read an ONNX file into a qonnx ModelWrapper, or fail with a clear message."""
    from qonnx.core.modelwrapper import ModelWrapper

    p = Path(path)
    if not p.is_file():
        raise HfnError(str(p), "file not found", "give the path of a model.onnx")
    try:
        proto = onnx.load(str(p))
        onnx.checker.check_model(proto)
    except Exception as e:
        raise HfnError(str(p), f"not a valid ONNX model ({type(e).__name__})",
                       "export one with 'hfn-hls export RUN/ -o model.onnx'") from None
    if not proto.graph.node:
        raise HfnError(str(p), "the ONNX graph is empty", "export the model again")
    return ModelWrapper(proto)


def cleanup(model):
    """qonnx's own clean-up: shapes, constant folding, unique readable names."""
    from qonnx.util.cleanup import cleanup_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cleanup_model(model)


def _model_name(meta: dict | None, model_meta: dict | None, path: Path) -> str:
    for m in (meta, model_meta):
        if m and m.get("preset"):
            return str(m["preset"])
    name = re.sub(r"\W", "_", path.stem) or "model"
    return name if not name[0].isdigit() else "m" + name


def build_ir(path: str | Path) -> Graph:
    """The full pipeline: load, check, clean, extract, verify, fold, ranges, compact
    requantisation.

    A file with ``hfn`` metadata has generated layers (verified against it, folds from
    it); any other file is a stored-weight model: every Conv / Gemm / MatMul quantised in
    the graph (docs/ir.md)."""
    where = str(path)
    model = load_onnx(path)
    model = model.transform(CheckHfnMetadata(where))
    meta = read_metadata(model.model, where)
    info = read_model_metadata(model.model, where) or {}
    model = model.transform(CheckSupportedOps(where))
    # numerical sanity (ir/passes/sanity.py), on the file as exported
    for check in (*(c(where) for c in SANITY), CheckInputShape(where, meta or info or None)):
        check.apply(model)
    tag_origins(model.model)
    try:
        model = cleanup(model)
    except HfnError:
        raise
    except Exception as e:
        raise HfnError(where, f"qonnx could not clean up the graph ({type(e).__name__}: {e})",
                       "export the model again") from None
    flat = ExtractIntegerGraph(where, meta, _model_name(meta, info, Path(path))).apply(model)
    graph = flat.graph
    passes = [StripCallIndices(), InferRanges(), CompactRequant()]
    if meta is not None:
        passes = [VerifyWeights(where, meta, flat.call_weights), DetectFolds(where, meta)] + passes
    for p in passes:
        graph, _ = p.apply(graph)
    graph.input_tensor.scale = flat.input_scale
    src = meta if meta is not None else info
    graph.meta = {
        "preset": src.get("preset"), "dataset": src.get("dataset"),
        "method": src.get("method", "hfn" if meta is not None else None),
        "model_seed": src.get("model_seed"), "act_bits": src.get("act_bits"),
        "res_bits": src.get("res_bits"), "k": src.get("k"),
        "classes": src.get("classes", int(graph.output_tensor.shape[2])),
        "input_scale": flat.input_scale, "output_scale": flat.output_scale,
        "origin": Path(path).name,
    }
    return graph


def execute_qonnx(path: str | Path, x):
    """The QONNX model's float outputs for a batch ``x`` (NCHW), executed by qonnx's
    ``execute_onnx`` — the reference the golden model is compared with."""
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize

    m = cleanup(cleanup(load_onnx(path)).transform(ChangeBatchSize(len(x))))
    return execute_onnx(m, {m.graph.input[0].name: x})[m.graph.output[0].name]
