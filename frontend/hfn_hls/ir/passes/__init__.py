"""QONNX -> IR passes, one small class per step (qonnx's ``apply(model) -> (model, changed)``).

- ``onnx_checks``: transformations on the qonnx ModelWrapper that only check (they never
  change the graph): HFN metadata present and consistent, every op supported.
- ``extract``: ``ExtractIntegerGraph`` turns the cleaned QONNX graph into a flat IR graph.
- ``ir_passes``: IR-to-IR passes: weight verification against the LFSR, fold detection,
  range inference.
"""
