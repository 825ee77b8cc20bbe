"""``hfn-hls synth PRJ/``: synthesis.  ``--open`` runs the open flow of the board's family
on the project's RTL (Yosys ``synth_xilinx``; for ECP5 Yosys, nextpnr and ecppack, with a
bitstream and the measured Fmax: docs/open-flow.md); without it the vendor flow (Vitis
HLS / Vivado) runs, if available and if the board has one."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import HfnError

NAME = "synth"
HELP = "synthesise the project (vendor tools, or the open flow with --open)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project directory (from 'hfn-hls generate')")
    p.add_argument("--open", action="store_true",
                   help="open-source flow on PRJ/rtl: Yosys synth_xilinx, or for ECP5 boards "
                        "Yosys + nextpnr + ecppack (Fmax, bitstream in PRJ/ecp5/)")
    p.add_argument("--rtl-dir", help="with --open: RTL to synthesise instead of PRJ/rtl")
    p.add_argument("--board", help="with --open: board instead of the project's")
    p.add_argument("--force", action="store_true",
                   help="vendor flow: replace the outputs of an earlier vendor run")
    p.add_argument("--freq", type=float, metavar="MHZ",
                   help="with --open on ECP5: nextpnr's target frequency (default the board clock)")
    p.add_argument("--no-pnr", action="store_true",
                   help="with --open on ECP5: stop after Yosys (its cell counts against the "
                        "board; no place and route, Fmax or bitstream)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def _board(prj: Path, name: str | None):
    """--board, else the board project.json was generated for, else rtl/rtl.json's."""
    from ..boards import load_board
    if name:
        return load_board(name)
    if (prj / "project.json").is_file():
        from ..project import load
        return load(prj, check_files=False).info.board
    from ..rtl_backend.writer import load_rtl_desc
    desc = load_rtl_desc(prj / "rtl")
    if desc.get("board"):
        return load_board(desc["board"])
    raise HfnError(str(prj), "the project names no board", "give --board NAME")


def run(args: argparse.Namespace) -> int:
    prj = Path(args.project)
    if not prj.is_dir():
        raise HfnError(str(prj), "no such project directory", "run 'hfn-hls generate' first")
    if not args.open:
        try:
            board = _board(prj, args.board)
        except HfnError:
            board = None        # the vendor flow reports a project without a board
        if board is not None and not board.has_vendor_flow:
            raise HfnError(f"board {board.name}", "has no vendor flow (its flow is open "
                           "source: Yosys, nextpnr, ecppack)", f"run 'hfn-hls synth {prj} --open'")
        from ..vendor.flow import run_vendor_synth
        return run_vendor_synth(prj, args)
    from ..extras import require
    require("synth --open")
    from ..rtl_backend.synth import add_performance, run_open_synth
    rtl = Path(args.rtl_dir) if args.rtl_dir else prj / "rtl"
    if not rtl.is_dir():
        raise HfnError(str(rtl), "the project has no RTL",
                       "run 'hfn-hls generate' (it writes PRJ/rtl/) or give --rtl-dir")
    board = _board(prj, args.board)
    if args.no_pnr and board.family != "ecp5":
        raise HfnError("--no-pnr", f"board {board.name} is {board.family}: its open flow is "
                       "Yosys only already", "drop --no-pnr")
    if args.freq is not None and (board.family != "ecp5" or not 0 < args.freq <= 5000):
        raise HfnError(f"--freq {args.freq:g}", "needs an ECP5 board and a positive frequency",
                       "drop --freq (Xilinx boards have no place and route here)")
    reports = prj / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "synth_open.json").unlink(missing_ok=True)
    r = run_open_synth(rtl, board, log=reports / "yosys.log", out_dir=prj / "ecp5",
                       target_mhz=args.freq, pnr=not args.no_pnr)
    add_performance(r, prj)
    desc = rtl / "rtl.json"
    pred = json.loads(desc.read_text()).get("predicted") if desc.is_file() else None
    if pred:                     # the pixel engine's resource model, against Yosys
        r["predicted"] = pred
    from .. import atomic
    atomic.write_file(reports / "synth_open.json", json.dumps(r, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(r, indent=1, sort_keys=True))
    else:
        _print(r, board)
    if not r["fits"]:
        if r["clock_source"] == "nextpnr":
            from ..rtl_backend.ecp5 import not_fit_error
            raise not_fit_error(board, r["over"], r["over_resources"],
                                f"nextpnr, against {board.name}'s board file")
        raise HfnError(f"board {board.name} ({board.part})",
                       f"the design does not fit: {', '.join(r['over'])} (Yosys)",
                       "use fewer lanes (hfn-hls generate --lanes) or a bigger board")
    return 0


def _print(r: dict, board) -> None:
    c = r["capacity"]

    def use(k: str, label: str) -> str:
        pct = f" ({100 * r[k] / c[k]:.1f} %)" if c[k] else ""
        return f"{label} {r[k]}/{c[k]}{pct}"

    bram = "BRAM (DP16KD)" if board.family == "ecp5" else "BRAM_18K"
    dsp = "DSP (MULT18X18D)" if board.family == "ecp5" else "DSP"
    print(f"{board.name} ({board.family}, {board.part}): {use('lut', 'LUT')}, {use('ff', 'FF')}, "
          f"{use('bram', bram)}, {use('dsp', dsp)}: {'fits' if r['fits'] else 'does NOT fit'}")
    if r["clock_source"] == "nextpnr":
        print(f"  Fmax {r['fmax_mhz']:.2f} MHz (nextpnr timing analysis of ap_clk; target "
              f"{r['target_mhz']:g} MHz {'met' if r['timing_met'] else 'NOT met'}; board "
              f"oscillator {r['nominal_clock_mhz']:g} MHz)")
        roms = r["roms"]
        total = sum(v["bits"] for v in roms.values())
        print(f"  ROM bits {total}: {roms['bram']['bits']} in {roms['bram']['cells']} DP16KD "
              f"({roms['bram']['roms']} ROMs), {roms['lutram']['bits']} in LUT RAM, "
              f"{roms['logic']['bits']} in logic ({roms['logic']['roms']} ROMs)")
        print(f"  bitstream: {r['bitstream']} ({r['bitstream_bytes']} bytes); "
              f"seconds: " + ", ".join(f"{k} {v:g}" for k, v in r["seconds"].items()))
    else:
        tool = "synth_ecp5 (--no-pnr)" if board.family == "ecp5" else "synth_xilinx"
        print(f"  clock: {r['clock_mhz']:g} MHz nominal (the board file's; Yosys {tool} "
              f"does no place and route, so there is no timing figure)")
    if r.get("predicted"):
        p = r["predicted"]
        print(f"  predicted by the resource model ({p['config']}): LUT {p['lut']}, FF {p['ff']}, "
              f"BRAM_18K {p['bram_18k']}, {p['cycles']} cycles per inference "
              f"({p['frames_per_s']:,.0f} frames/s) against measured LUT {r['lut']}, "
              f"FF {r['ff']}, BRAM {r['bram']}")
    if r.get("frames_per_s"):
        print(f"  {r['frames_per_s']:,.1f} frames/s at {r['clock_mhz']:g} MHz "
              f"({r['clock_source']}), {r['cycles_per_inference']:.0f} cycles per inference "
              f"(reports/rtl_sim.json)")
