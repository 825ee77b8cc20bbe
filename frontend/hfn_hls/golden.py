"""The golden model: integer execution of the IR in numpy, the arithmetic's specification.

docs/arithmetic.md states every rule implemented here; C++ and Verilog are checked
against this file's results, never against each other.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .arith import conv2d, maxpool2d, requant  # noqa: F401 (the spec's kernels)
from .ir.model import Graph, Op
from .weights import layer_bias, layer_weights


class GoldenModel:
    """Runs an IR graph on integer inputs.  ``run`` takes codes shaped (N, H, W, C)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self._weights = {name: layer_weights(layer, graph) for name, layer in graph.layers.items()}
        self._bias = {name: layer_bias(layer, graph) for name, layer in graph.layers.items()}

    @classmethod
    def load(cls, path: str | Path) -> "GoldenModel":
        """From an IR JSON file or a QONNX model file."""
        path = Path(path)
        if path.suffix == ".json":
            return cls(Graph.load(path))
        from .ir.build import build_ir
        return cls(build_ir(path))

    # -- public API ---------------------------------------------------------------
    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Real-valued NHWC images -> the integer input codes (round half to even)."""
        t = self.graph.input_tensor
        q = np.round(np.asarray(x, dtype=np.float64) / t.scale)
        return np.clip(q, t.lo, t.hi).astype(np.int64)

    def run(self, codes: np.ndarray, trace: dict | None = None) -> np.ndarray:
        """Integer outputs (N, classes) for integer input codes (N, H, W, C)."""
        x = np.asarray(codes)
        t = self.graph.input_tensor
        if x.ndim == 3:
            x = x[None]
        if list(x.shape[1:]) != list(t.shape):
            raise ValueError(f"input shape {list(x.shape[1:])}, expected {t.shape}")
        if x.min() < t.lo or x.max() > t.hi:
            raise ValueError(f"input codes outside [{t.lo}, {t.hi}]")
        env = {self.graph.input: x.astype(np.int64)}
        self._run_ops(self.graph.ops, env, 0, trace)
        out = env[self.graph.output]
        return out.reshape(out.shape[0], -1)

    def predict(self, codes: np.ndarray) -> np.ndarray:
        return np.argmax(self.run(codes), axis=1)

    # -- execution ----------------------------------------------------------------
    def _run_ops(self, ops: list[Op], env: dict, it: int, trace: dict | None) -> None:
        for op in ops:
            if op.kind == "fold":
                x = env[op.inputs[0]]
                for i in range(op.attrs["iterations"]):
                    env[op.attrs["body_input"]] = x
                    self._run_ops(op.body, env, i, trace)
                    x = env[op.attrs["body_output"]]
                env[op.output] = x
                continue
            args = [env[n] for n in op.inputs]
            y = getattr(self, "_" + op.kind)(op, it, *args)
            t = self.graph.tensors[op.output]
            if y.min() < t.lo or y.max() > t.hi:
                raise AssertionError(f"{op.name}: value outside the proven range of {op.output}")
            env[op.output] = y
            if trace is not None:
                trace.setdefault(op.output, []).append(y)

    def _conv(self, op: Op, it: int, x: np.ndarray) -> np.ndarray:
        layer = op.attrs["layer"]
        y = conv2d(x, self._weights[layer], op.attrs["stride"], op.attrs["pad"])
        return y if self._bias[layer] is None else y + self._bias[layer]

    def _requant(self, op: Op, it: int, x: np.ndarray) -> np.ndarray:
        s = op.attrs["sets"][it]
        return requant(x, np.asarray(s["thresholds"], np.int64),
                       np.asarray(s["direction"], np.int64), op.attrs["out_min"])

    def _add(self, op: Op, it: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def _global_sum(self, op: Op, it: int, x: np.ndarray) -> np.ndarray:
        return x.sum(axis=(1, 2), keepdims=True)

    def _maxpool(self, op: Op, it: int, x: np.ndarray) -> np.ndarray:
        return maxpool2d(x, op.attrs["kernel"], op.attrs["stride"], op.attrs["pad"])
