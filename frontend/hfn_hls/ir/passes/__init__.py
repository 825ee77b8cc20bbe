"""QONNX -> IR passes, one small class per step (docs/ir.md).

- ``onnx_checks``: qonnx ``Transformation``s on the ModelWrapper that only check
  (``apply(model) -> (model, False)``): HFN metadata present and consistent, every op
  supported.
- ``extract``: ``ExtractIntegerGraph.apply(model) -> FlatResult`` turns the cleaned QONNX
  graph into a flat IR graph (integer weights through each layer's weight source).
- ``ir_passes``: IR-to-IR passes, ``apply(graph) -> (graph, changed)``: weight
  verification by the weight sources, fold detection, range inference, the compact
  requantisation form (derived from the thresholds and proven equal, ``ir/requant.py``).
"""
