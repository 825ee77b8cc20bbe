"""Checks on the QONNX graph, written as qonnx transformations that never change it."""
from __future__ import annotations

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from ...errors import HfnError
from ...metadata import read_metadata

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
        # read_metadata checks the document against its schema (metadata.py) and each
        # layer entry by its weight source: one HfnError naming the field otherwise
        read_metadata(model.model, self.where)
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
