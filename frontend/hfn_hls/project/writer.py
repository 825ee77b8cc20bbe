"""The project writer, ``generate()``: one project folder from one IR graph, for one board and lane shape.

The HLS writer (``hls/writer.py``) and the RTL writer (``rtl_backend/writer.py``) are
called as peers, each into its own part of the folder; this module writes what belongs
to the project as a whole: ``tb_data/`` (input codes and the golden model's outputs),
``ir.json``, ``build_prj.tcl`` (``toolflow``) and ``project.json`` (``schema``).

Atomic (``hfn_hls.atomic``): everything is written into a hidden sibling folder which is
exchanged with the destination in one rename when complete, so a failure or a kill at
any point leaves the complete old or the complete new project, and leftovers of a killed
run are cleaned up by the next.  An existing non-empty folder is replaced only with
``force``, and only if it is a project (``project.json``).  Deterministic: the same inputs give
byte-identical files.
"""
from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import atomic, stream_format
from ..boards import Board
from ..errors import HfnError
from ..golden import GoldenModel
from ..hls.writer import write_hls
from ..ir.model import Graph
from ..ir.schema import check_graph, validate_document
from ..lanes import Lanes
from ..rtl_backend.writer import write_rtl
from ..validate import is_name
from . import toolflow
from .schema import FILE, ProjectInfo, StreamIn, StreamOut, Vendor, is_project

DEFAULT_VECTORS = 200
PROJECT = "an hfn-hls project (project.json)"     # what --force may replace
LIB_DIR = "firmware/lib"          # where the HLS writer puts the header library


def default_inputs(graph: Graph, n: int) -> np.ndarray:
    """n pseudo-random input codes (N, H, W, C), seeded from the model's name."""
    seed = int.from_bytes(hashlib.sha256(graph.name.encode()).digest()[:8], "little")
    t = graph.input_tensor
    rng = np.random.default_rng(seed)
    return rng.integers(t.lo, t.hi + 1, size=(n, *t.shape), dtype=np.int64)


def load_inputs(path: Path, graph: Graph) -> np.ndarray:
    """Input codes from a .npy file, checked against the graph's input tensor."""
    t = graph.input_tensor
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise HfnError(str(path), f"cannot read input codes ({e})",
                       "give a .npy file of integer codes shaped (N, H, W, C)") from None
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or list(a.shape[1:]) != list(t.shape) or a.shape[0] == 0 or \
            not np.issubdtype(a.dtype, np.integer):
        raise HfnError(str(path), f"input codes {a.dtype} {list(a.shape)} do not match the "
                       f"model's input {t.shape}", "give integer codes shaped (N, H, W, C)")
    if a.min() < t.lo or a.max() > t.hi:
        raise HfnError(str(path), f"input codes outside [{t.lo}, {t.hi}]",
                       "quantise the images with GoldenModel.quantize_input")
    return a.astype(np.int64)


def vendor_section(board: Board) -> Vendor:
    t = toolflow.target(board)
    return Vendor(flow=t.flow, flow_target=t.flow_target, export_format=t.export_format,
                  export=t.export, vlnv=t.vlnv, hls_project=toolflow.HLS_PROJECT,
                  solution=toolflow.SOLUTION, switch_env=toolflow.SWITCH_ENV)


def _tool_versions() -> dict:
    out = {}
    for pkg in ("hfn-hls", "hls4ml"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _tb_data(graph: Graph, inputs: np.ndarray, golden: np.ndarray) -> dict[str, str]:
    hexw = -(-stream_format.in_width(graph.input_tensor.shape[2]) // 4)
    return {
        "tb_data/inputs.txt": "".join(
            " ".join(f"{w:0{hexw}x}" for w in stream_format.pack_image(img)) + "\n"
            for img in inputs),
        "tb_data/outputs.txt": "".join(" ".join(str(int(v)) for v in row) + "\n"
                                       for row in golden),
    }


def generate(graph: Graph, board: Board, lanes: Lanes, out: str | Path, *,
             force: bool = False, inputs: np.ndarray | None = None,
             vectors: int | None = None, rtl: bool = True,
             notes_to: list | None = None, rtl_lanes=None) -> ProjectInfo:
    """Write the project folder ``out``; returns its description (project.json).

    ``inputs``: input codes for tb_data (default: ``vectors`` or 200 seeded random images);
    ``rtl=False`` leaves out the RTL (HLS-only projects, e.g. lane shapes the RTL engine
    does not support); ``notes_to``: a list that receives what was cleaned up after an
    interrupted earlier run (else it is printed); ``rtl_lanes``: the RTL engine's
    parallelism if it differs from the HLS lanes (a ``PixelConfig``: the pixel engine;
    rtl_backend/pixel/select.py)."""
    out = Path(out)
    where = f"model {graph.name!r}" if is_name(graph.name) else "model"
    validate_document(graph.to_dict(), where)     # graphs built in Python are checked too
    check_graph(graph, where)
    if board.has_vendor_flow:
        toolflow.target(board)                   # an unknown vendor flow is refused up front
    if inputs is None:
        inputs = default_inputs(graph, vectors or DEFAULT_VECTORS)
    elif vectors:
        inputs = inputs[:vectors]

    def fill(tmp: Path) -> ProjectInfo:
        # the two backends, as peers (the HLS writer refuses what does not fit the board)
        hls, files = write_hls(graph, board, lanes, tmp)
        rtl_desc = None
        if rtl:
            rtl_desc = write_rtl(graph, board, rtl_lanes or lanes, tmp / "rtl")
            files += [f"rtl/{f}" for f in rtl_desc["verilog"] + rtl_desc["mem"] + ["rtl.json"]]
        # what belongs to the project as a whole
        golden = GoldenModel(graph).run(inputs)
        own = _tb_data(graph, inputs, golden)
        own["ir.json"] = graph.to_json() + "\n"
        if board.has_vendor_flow:          # open-flow boards (ECP5) have no Vitis script
            own[toolflow.SCRIPT] = toolflow.build_prj_tcl(graph.name, board, LIB_DIR)
        for rel, text in own.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)
        t = graph.input_tensor
        info = ProjectInfo(
            name=graph.name, top=toolflow.TOP, board=board, lanes=lanes,
            input=StreamIn(graph.input, list(t.shape), stream_format.in_width(t.shape[2])),
            output=StreamOut(graph.output, int(np.prod(graph.output_tensor.shape))),
            tb_vectors=len(inputs), vendor=vendor_section(board) if board.has_vendor_flow else None,
            hls=hls, rtl=rtl_desc,
            files=tuple(sorted(files + list(own) + [FILE])), tools=_tool_versions())
        (tmp / FILE).write_text(info.dumps())
        return info

    # written beside ``out`` and swapped in (atomic.py): a kill at any point leaves the
    # complete old or the complete new project; --force replaces only a project
    info, notes = atomic.write_dir(out, fill, force=force, owned=is_project, what=PROJECT)
    if notes_to is not None:
        notes_to.extend(notes)
    else:
        for n in notes:
            print(f"note: {n}")
    return info
