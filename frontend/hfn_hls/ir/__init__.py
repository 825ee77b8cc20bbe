"""The HFN IR: model (Graph), construction from QONNX (build), ranges, random graphs."""
