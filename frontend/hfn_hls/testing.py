"""Helpers for tests and benchmarks that need the real front end (torch, Brevitas).

Graphs without torch are in ``hfn_hls.ir.random_graph``.
"""
from __future__ import annotations

from pathlib import Path


def preset_onnx(preset: str, out_dir, seed: int = 0):
    """model.onnx of an untrained preset (``hfn-hls init`` + ``hfn-hls export`` through the
    Python API), for tests and benchmarks on the real front end's output."""
    from .commands._common import quiet
    from .export import export_model
    from .train import init_model

    quiet()
    out_dir = Path(out_dir)
    model = init_model(preset, out_dir / preset, seed=seed)
    return export_model(model, out_dir / f"{preset}.onnx")
