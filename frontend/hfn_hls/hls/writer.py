"""The project writer: a Vitis HLS project for one board from one IR graph.

Layout (docs/hls.md): project.json, ir.json, firmware/ (hfn_top.cpp/.h, parameters.h,
lib/ = a copy of hls_templates/*.h), tb/ (testbench, ctypes bridge), tb_data/ (inputs and
golden outputs), build_prj.tcl, and rtl/ from the RTL writer when it exists.  Everything
is written into a temporary sibling directory that replaces PRJ/ only at the end, so a
failure leaves nothing half-written; the same input gives byte-identical files.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .. import stream_format
from ..boards import Board
from ..errors import HfnError
from ..golden import GoldenModel
from ..ir.model import Graph
from ..lanes import Lanes
from ..lower import Fold, lower
from ..paths import HLS_TEMPLATES
from . import codegen
from .codegen import Firmware
from .estimate import check_fits, estimate, usage

FORMAT = "hfn-hls-project"
VERSION = 1
DEFAULT_VECTORS = 200
LIB_FILES = ("hfn.h", "hfn_types.h", "hfn_lfsr.h", "hfn_requant.h", "hfn_conv.h",
             "hfn_eltwise.h", "hfn_axis.h")       # + the generators' headers of the sources


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


def _fill(template: str, **values: str) -> str:
    text = (HLS_TEMPLATES / template).read_text()
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", v)
    if "{{" in text:
        raise AssertionError(f"{template}: unfilled placeholder")
    return text


def _tool_versions() -> dict:
    from importlib import metadata
    out = {}
    for pkg in ("hfn-hls", "hls4ml"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _describe(fw: Firmware, board: Board, est: dict, files: list[str], vectors: int) -> dict:
    g = fw.graph
    prog = fw.program
    tensors = {name: {"shape": t.shape, "lo": t.lo, "hi": t.hi, "bits": t.bits,
                      "signed": t.signed, "buffer": prog.buffer(name).ident
                      if name in prog.buffer_of else None}
               for name, t in g.tensors.items()}
    convs = [{"ident": fw.id(c), "op": c.conv.name, "layer": c.layer,
              "shape": g.layers[c.layer].shape, "stride": c.window.stride, "pad": c.window.pad,
              "k": c.window.k, "kc": -(-c.window.k // fw.lanes.p_in),
              "acc_bits": codegen.ctype(c.acc.lo, c.acc.hi, True).bits, "macs": c.macs,
              "acc_all": c.acc_all, "fused": [o.name for o in c.ops()]}
             for c in prog.conv_passes()]
    return {
        "format": FORMAT, "version": VERSION, "name": g.name, "top": "hfn_top",
        "board": {"name": board.name, "part": board.part, "clock_mhz": board.clock_mhz},
        "lanes": {"p_out": fw.lanes.p_out, "p_in": fw.lanes.p_in},
        "input": {"tensor": g.input, "shape": g.input_tensor.shape,
                  "tdata_bits": stream_format.in_width(g.input_tensor.shape[2])},
        "output": {"tensor": g.output, "codes": int(np.prod(g.output_tensor.shape))},
        "tensors": tensors, "convs": convs,
        "buffers": [{"name": b.ident, "depth": b.size, "type": fw.buffer_type(b).cpp,
                     "tensors": b.tensors} for b in prog.buffers],
        "folds": [{"op": f.name, "iterations": f.iterations, "function": fw.id(f) + "_body"}
                  for f in prog.items if isinstance(f, Fold)],
        "storage_bits": est["storage_bits"], "estimate": est,
        "usage": {k: round(v, 4) for k, v in usage(est, board).items()},
        "tb_vectors": vectors, "files": sorted(files), "tools": _tool_versions(),
    }


def _refuse_existing(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise HfnError(str(out), "exists and is not a directory", "choose another -o")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise HfnError(str(out), "output directory exists and is not empty",
                       "choose another -o or pass --force to replace it")


def write_project(graph: Graph, board: Board, lanes: Lanes, out: str | Path, *,
                  force: bool = False, inputs: np.ndarray | None = None,
                  vectors: int | None = None, rtl: bool = True) -> dict:
    """Write the project; returns its description (project.json's content).

    ``rtl=False`` skips the RTL writer (HLS-only projects, e.g. lane shapes that the RTL
    engine does not support); the ``generate`` command always writes both."""
    out = Path(out)
    _refuse_existing(out, force)
    program = lower(graph)
    fw = codegen.firmware(program, lanes)
    est = estimate(program, lanes)
    check_fits(program, lanes, est, board)
    if inputs is None:
        inputs = default_inputs(graph, vectors or DEFAULT_VECTORS)
    elif vectors:
        inputs = inputs[:vectors]
    golden = GoldenModel(graph).run(inputs)

    tmp = out.parent / f".{out.name}.tmp{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        files = _write_files(tmp, fw, board, inputs, golden)
        project = _describe(fw, board, est, files, len(inputs))
        write_rtl = None
        if rtl:
            try:
                from hfn_hls.rtl_backend import write_rtl   # owned by the RTL engineer
            except ImportError as e:    # absent, or not yet providing write_rtl
                if e.name not in ("hfn_hls.rtl_backend",):
                    raise
        if write_rtl:
            project["rtl"] = write_rtl(graph, board, lanes, tmp / "rtl")
        (tmp / "project.json").write_text(json.dumps(project, indent=1, sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return project


def _write_files(root: Path, fw: Firmware, board: Board, inputs: np.ndarray,
                 golden: np.ndarray) -> list[str]:
    g = fw.graph
    files: dict[str, str] = {}
    common = {"MODEL": g.name}
    buffers, network = codegen.top_cpp(fw)
    files["firmware/parameters.h"] = codegen.parameters_h(fw)
    files["firmware/hfn_top.h"] = _fill("hfn_top.h.in", **common)
    files["firmware/hfn_top.cpp"] = _fill("hfn_top.cpp.in", BUFFERS=buffers, NETWORK=network,
                                          LANES=str(fw.lanes), BOARD=board.name, **common)
    for name in LIB_FILES + tuple(sorted({gen.header for gen in fw.generators.values()})):
        files[f"firmware/lib/{name}"] = (HLS_TEMPLATES / name).read_text()
    files["tb/hfn_tb.cpp"] = _fill("hfn_tb.cpp.in", **common)
    files["tb/hfn_bridge.cpp"] = _fill("hfn_bridge.cpp.in", **common)
    files["build_prj.tcl"] = _fill("build_prj.tcl.in", PART=board.part, BOARD=board.name,
                                   CLOCK_NS=f"{1000.0 / board.clock_mhz:g}",
                                   LIB_DIR="firmware/lib", **common)
    hexw = -(-stream_format.in_width(g.input_tensor.shape[2]) // 4)
    files["tb_data/inputs.txt"] = "".join(
        " ".join(f"{w:0{hexw}x}" for w in stream_format.pack_image(img)) + "\n"
        for img in inputs)
    files["tb_data/outputs.txt"] = "".join(" ".join(str(int(v)) for v in row) + "\n"
                                           for row in golden)
    files["ir.json"] = g.to_json() + "\n"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return list(files) + ["project.json"]
