"""Checks on the QONNX graph, written as qonnx transformations that never change it."""
from __future__ import annotations

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from ...errors import HfnError
from ...metadata import META_FORMAT, read_metadata

SUPPORTED_OPS = {"Quant", "Conv", "Gemm", "MatMul", "Mul", "BatchNormalization", "Relu",
                 "LeakyRelu", "Add", "GlobalAveragePool", "AveragePool", "MaxPool", "Flatten",
                 "Reshape", "Transpose"}   # Transpose: of a linear layer's quantised weights


class CheckHfnMetadata(Transformation):
    """HFN metadata, where present (a model with generated layers), must be complete; a
    file without it is a stored-weight model (every layer quantised in the graph)."""

    def __init__(self, where: str):
        super().__init__()
        self.where = where

    def apply(self, model: ModelWrapper):
        meta = read_metadata(model.model)
        if meta is None:
            return model, False
        if meta.get("format") != META_FORMAT:
            raise HfnError(self.where, f"metadata format {meta.get('format')!r} is not "
                           f"{META_FORMAT!r}", "re-export with this version of hfn-hls")
        if meta.get("sign_source", "lfsr") != "lfsr":
            raise HfnError(self.where, "weight signs come from the torch RNG and cannot be "
                           "regenerated on chip", "re-search the masks with 'hfn-hls train'")
        for key in ("model_seed", "layers", "conv_calls", "folds", "input_shape", "classes"):
            if key not in meta:
                raise HfnError(self.where, f"HFN metadata lacks {key!r}",
                               "re-export with 'hfn-hls export'")
        names = {l["name"] for l in meta["layers"]}
        unknown = [c for c in meta["conv_calls"] if c not in names]
        if unknown:
            raise HfnError(self.where, f"metadata calls unknown layer {unknown[0]!r}",
                           "re-export with 'hfn-hls export'")
        return model, False


class CheckSupportedOps(Transformation):
    """Every node must be an op the integer extraction understands."""

    def __init__(self, where: str):
        super().__init__()
        self.where = where

    def apply(self, model: ModelWrapper):
        for n in model.graph.node:
            if n.op_type not in SUPPORTED_OPS:
                raise HfnError(f"{self.where} node {n.name!r}",
                               f"op type {n.op_type!r} is not supported",
                               f"supported: {', '.join(sorted(SUPPORTED_OPS))}")
        return model, False
