"""The HLS C++ backend: IR -> Vitis HLS project (writer), g++ C simulation (csim).

``write_project(graph, board, lanes, out)`` writes a project; ``run_csim(prj)`` runs its
testbench; ``HlsModel(prj).compile().predict(codes)`` calls the C++ through ctypes.
See docs/hls.md.
"""
from __future__ import annotations

from .csim import HlsModel, run_csim
from .estimate import estimate
from .writer import write_project

__all__ = ["HlsModel", "estimate", "run_csim", "write_project"]
