"""The HLS writer: the Vitis HLS C++ of one IR graph for one board.

``write_hls`` writes firmware/ (hfn_top.cpp/.h, parameters.h, lib/ = a copy of
hls_templates/*.h, with the generator headers of the sources the network uses) and tb/
(testbench, ctypes bridge) into a folder and returns the HLS part of project.json
(docs/hls.md).  It consumes the shared lowering (``hfn_hls.lower``).  The project around
it (tb_data/, ir.json, build_prj.tcl, rtl/ from the RTL writer, project.json, the atomic
write) is ``hfn_hls.project.generate``'s; ``write_project`` is kept as a thin wrapper of
it.  The same input gives byte-identical files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..boards import Board
from ..ir.model import Graph
from ..lanes import Lanes
from ..lower import Fold, lower
from ..paths import HLS_TEMPLATES, fill_template
from . import codegen
from .codegen import Firmware
from .estimate import check_fits, estimate, usage

LIB_FILES = ("hfn.h", "hfn_types.h", "hfn_lfsr.h", "hfn_requant.h", "hfn_conv.h",
             "hfn_eltwise.h", "hfn_axis.h")       # + the generators' headers of the sources


def _describe(fw: Firmware, board: Board, est: dict) -> dict:
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
        "tensors": tensors, "convs": convs,
        "buffers": [{"name": b.ident, "depth": b.size, "type": fw.buffer_type(b).cpp,
                     "tensors": b.tensors} for b in prog.buffers],
        "folds": [{"op": f.name, "iterations": f.iterations, "function": fw.id(f) + "_body"}
                  for f in prog.items if isinstance(f, Fold)],
        "storage_bits": est["storage_bits"], "estimate": est,
        "usage": {k: round(v, 4) for k, v in usage(est, board).items()},
    }


def write_hls(graph: Graph, board: Board, lanes: Lanes, root: Path) -> tuple[dict, list[str]]:
    """Check that the design fits ``board``, write firmware/ and tb/ into ``root``; returns
    (the ``hls`` section of project.json, the files written relative to ``root``)."""
    program = lower(graph)
    fw = codegen.firmware(program, lanes)
    est = estimate(program, lanes)
    check_fits(program, lanes, est, board)
    files = _write_files(Path(root), fw, board)
    return _describe(fw, board, est), files


def write_project(graph: Graph, board: Board, lanes: Lanes, out: str | Path, *,
                  force: bool = False, inputs: np.ndarray | None = None,
                  vectors: int | None = None, rtl: bool = True) -> dict:
    """Compatibility wrapper of ``hfn_hls.project.generate``: the whole project (HLS, RTL
    unless ``rtl=False``, tb_data, scripts); returns project.json's content."""
    from ..project import generate
    return generate(graph, board, lanes, out, force=force, inputs=inputs, vectors=vectors,
                    rtl=rtl).to_dict()


def _write_files(root: Path, fw: Firmware, board: Board) -> list[str]:
    g = fw.graph
    files: dict[str, str] = {}
    common = {"MODEL": g.name}
    buffers, network = codegen.top_cpp(fw)
    files["firmware/parameters.h"] = codegen.parameters_h(fw)
    files["firmware/hfn_top.h"] = fill_template("hfn_top.h.in", **common)
    files["firmware/hfn_top.cpp"] = fill_template("hfn_top.cpp.in", BUFFERS=buffers, NETWORK=network,
                                          LANES=str(fw.lanes), BOARD=board.name, **common)
    for name in LIB_FILES + tuple(sorted({gen.header for gen in fw.generators.values()})):
        files[f"firmware/lib/{name}"] = (HLS_TEMPLATES / name).read_text()
    files["tb/hfn_tb.cpp"] = fill_template("hfn_tb.cpp.in", **common)
    files["tb/hfn_bridge.cpp"] = fill_template("hfn_bridge.cpp.in", **common)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return list(files)
