"""``hfn-hls synth PRJ/``: synthesis.  ``--open`` runs Yosys ``synth_xilinx`` on the
project's RTL; without it the vendor flow (Vitis HLS / Vivado) runs, if available."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import HfnError

NAME = "synth"
HELP = "synthesise the project (vendor tools, or Yosys with --open)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project directory (from 'hfn-hls generate')")
    p.add_argument("--open", action="store_true",
                   help="open-source synthesis of PRJ/rtl with Yosys (synth_xilinx)")
    p.add_argument("--rtl-dir", help="with --open: RTL to synthesise instead of PRJ/rtl")
    p.add_argument("--board", help="with --open: board instead of the project's")
    p.add_argument("--force", action="store_true",
                   help="vendor flow: replace the outputs of an earlier vendor run")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def _board(prj: Path, name: str | None):
    """--board, else the board project.json was generated for, else rtl/rtl.json's."""
    from ..boards import load_board
    if name:
        return load_board(name)
    if (prj / "project.json").is_file():
        from ..project import load
        return load(prj, check_files=False).info.board
    desc = prj / "rtl" / "rtl.json"
    if desc.is_file() and json.loads(desc.read_text()).get("board"):
        return load_board(json.loads(desc.read_text())["board"])
    raise HfnError(str(prj), "the project names no board", "give --board NAME")


def run(args: argparse.Namespace) -> int:
    prj = Path(args.project)
    if not prj.is_dir():
        raise HfnError(str(prj), "no such project directory", "run 'hfn-hls generate' first")
    if not args.open:
        from ..vendor.flow import run_vendor_synth
        return run_vendor_synth(prj, args)
    from ..extras import require
    require("synth --open")
    from ..rtl_backend.synth import run_open_synth
    rtl = Path(args.rtl_dir) if args.rtl_dir else prj / "rtl"
    if not rtl.is_dir():
        raise HfnError(str(rtl), "the project has no RTL",
                       "run 'hfn-hls generate' (it writes PRJ/rtl/) or give --rtl-dir")
    board = _board(prj, args.board)
    reports = prj / "reports"
    reports.mkdir(exist_ok=True)
    r = run_open_synth(rtl, board, log=reports / "yosys.log")
    (reports / "synth_open.json").write_text(json.dumps(r, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(r, indent=1, sort_keys=True))
    else:
        c = r["capacity"]
        print(f"{board.name} ({board.family}): LUT {r['lut']}/{c['lut']}, FF {r['ff']}/{c['ff']}, "
              f"BRAM_18K {r['bram']}/{c['bram']}, DSP {r['dsp']}/{c['dsp']}: "
              f"{'fits' if r['fits'] else 'does NOT fit'}")
    return 0
