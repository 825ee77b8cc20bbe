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
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def _board(prj: Path, name: str | None):
    from ..boards import load_board
    if name:
        return load_board(name)
    pj = prj / "project.json"
    if pj.is_file():
        b = json.loads(pj.read_text()).get("board")
        if isinstance(b, dict):
            b = b.get("name")
        if b:
            return load_board(b)
    desc = prj / "rtl" / "rtl.json"
    if desc.is_file() and json.loads(desc.read_text()).get("board"):
        return load_board(json.loads(desc.read_text())["board"])
    raise HfnError(str(prj), "the project names no board", "give --board NAME")


def run(args: argparse.Namespace) -> int:
    prj = Path(args.project)
    if not prj.is_dir():
        raise HfnError(str(prj), "no such project directory", "run 'hfn-hls generate' first")
    if not args.open:
        try:
            from ..vendor.flow import run_vendor_synth
        except ModuleNotFoundError as e:
            if e.name not in ("hfn_hls.vendor", "hfn_hls.vendor.flow"):
                raise
            raise HfnError("vitis_hls", "vendor flow not available",
                           "use --open for Yosys") from None
        return run_vendor_synth(prj, args)
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
