"""Helpers for the RTL tests (imported by the test modules)."""
from __future__ import annotations

from pathlib import Path

from hfn_hls.ir.model import Graph
from hfn_hls.lanes import Lanes
from hfn_hls.rtl_backend import write_rtl
from hfn_hls.rtl_backend.design import common_floor, compile_design


def make_projects(graphs: list[Graph], lanes: Lanes, root: Path) -> list[Path]:
    """One project per graph (ir.json + rtl/), all with the same top Verilog."""
    floor = common_floor([compile_design(g, lanes) for g in graphs])
    prjs = []
    for i, g in enumerate(graphs):
        prj = root / f"prj{i}"
        prj.mkdir(parents=True, exist_ok=True)
        g.save(prj / "ir.json")
        write_rtl(g, None, lanes, prj / "rtl", floor=floor)
        prjs.append(prj)
    tops = {(p / "rtl" / "hfn_top.v").read_text() for p in prjs}
    assert len(tops) == 1, "graphs under one floor must share one top"
    return prjs
