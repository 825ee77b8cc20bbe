"""Helpers shared by the sub-commands: safe output paths, quiet heavy imports."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from .. import atomic
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


def check_output_file(path: str | Path, force: bool, owned=None, what: str = "",
                      inputs: tuple = ()) -> Path:
    """An output file that may be written: not an input, not a folder; an existing one
    only with ``force`` and (if ``owned`` is given) only if it is a previous output."""
    return atomic.check_output_file(path, force, owned or (lambda p: True), what, inputs)


def is_ir_file(p: Path) -> bool:
    """A previous output of ``hfn-hls ir -o``: a JSON document of format hfn-ir."""
    try:
        import json
        return json.loads(p.read_text()).get("format") == "hfn-ir"
    except (OSError, ValueError, AttributeError):
        return False


def is_onnx_export(p: Path) -> bool:
    """A previous output of ``hfn-hls export``: an ONNX file with hfn-hls metadata."""
    try:
        import onnx
        m = onnx.load(str(p), load_external_data=False)
    except Exception:
        return False
    return any(q.key in ("hfn", "hfn-hls") for q in m.metadata_props)


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
    """An IR graph from an IR JSON file or a QONNX model (built and verified); every
    problem is one HfnError naming the file (ir/schema.py, ir/build.py)."""
    from ..ir.model import Graph

    p = Path(path)
    if not p.exists():
        raise HfnError(str(p), "file not found", "give a model.onnx or an IR JSON file")
    if p.is_dir():
        raise HfnError(str(p), "is a directory", "give a model.onnx or an IR JSON file")
    if p.suffix == ".json":
        return Graph.load(p)
    from ..ir.build import build_ir
    quiet()
    return build_ir(p)
