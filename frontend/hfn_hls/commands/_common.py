"""Helpers shared by the sub-commands: safe output paths, quiet heavy imports."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..errors import HfnError


def quiet() -> None:
    """Silence library chatter (Brevitas/onnxruntime warnings) on the terminal."""
    warnings.filterwarnings("ignore")
    os.environ.setdefault("ORT_LOGGING_LEVEL", "3")
    try:
        import onnxruntime as ort
        ort.set_default_logger_severity(3)
    except Exception:  # pragma: no cover - onnxruntime is a dependency
        pass


def check_output_file(path: str | Path, force: bool) -> Path:
    p = Path(path)
    if p.exists() and not force:
        raise HfnError(str(p), "exists already", "pass --force to overwrite it")
    if p.exists() and p.is_dir():
        raise HfnError(str(p), "is a directory", "give a file name")
    return p


def check_output_dir(path: str | Path, force: bool, protected: tuple[str, ...]) -> Path:
    """A run directory may exist, but not with the files we would overwrite."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise HfnError(str(p), "exists and is not a directory", "choose another -o")
    clash = [n for n in protected if (p / n).exists()]
    if clash and not force:
        raise HfnError(str(p / clash[0]), "exists already", "pass --force to overwrite it")
    return p


def load_graph(path: str | Path):
    """An IR graph from an IR JSON file or a QONNX model (built and verified)."""
    from ..ir.model import Graph

    p = Path(path)
    if p.suffix == ".json":
        if not p.is_file():
            raise HfnError(str(p), "file not found", "give an IR JSON or a model.onnx")
        try:
            g = Graph.load(p)
        except (ValueError, KeyError, TypeError) as e:
            raise HfnError(str(p), f"not an HFN IR document ({e})",
                           "make one with 'hfn-hls ir model.onnx -o ir.json'") from None
        from ..weights import get_source
        for name, layer in g.layers.items():     # each source checks its own params
            try:
                get_source(layer.source).validate_params(layer.params, layer.shape)
            except ValueError as e:
                raise HfnError(f"{p} layer {name}", f"invalid {layer.source} params: {e}",
                               "make the IR again with 'hfn-hls ir model.onnx'") from None
        return g
    from ..ir.build import build_ir
    quiet()
    return build_ir(p)
