"""Checks on the QONNX graph, written as qonnx transformations that never change it."""
from __future__ import annotations

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from ...errors import HfnError
from ...metadata import read_metadata

SUPPORTED_OPS = {"Quant", "Conv", "Mul", "BatchNormalization", "Relu", "Add",
                 "GlobalAveragePool", "MaxPool", "Flatten", "Reshape"}


class CheckHfnMetadata(Transformation):
    """The file must carry hfn-hls metadata whose layer list is complete."""

    def __init__(self, where: str):
        super().__init__()
        self.where = where

    def apply(self, model: ModelWrapper):
        # read_metadata checks the document against its schema (metadata.py) and each
        # layer entry by its weight source: one HfnError naming the field otherwise
        meta = read_metadata(model.model, self.where)
        if meta is None:
            raise HfnError(self.where, "ONNX file without HFN metadata (metadata_props key "
                           "'hfn')", "export it with 'hfn-hls export RUN/ -o model.onnx'")
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
