"""``hfn-hls sim PRJ/``: the cocotb + Verilator system testbench on the project's RTL (or
any RTL with the same top ports, ``--rtl-dir``), compared with the golden model."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import atomic
from ..errors import HfnError

NAME = "sim"
HELP = "simulate the project's RTL with cocotb + Verilator against the golden model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project directory (from 'hfn-hls generate')")
    p.add_argument("-n", type=int, default=10, help="number of images (default 10)")
    p.add_argument("--rtl-dir", help="RTL to simulate instead of PRJ/rtl (top hfn_top)")
    p.add_argument("--waves", action="store_true", help="write a waveform (dump.vcd)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from ..extras import require
    require("sim")
    from ..rtl_backend.sim import run_system_sim
    prj = Path(args.project)
    if not prj.is_dir():
        raise HfnError(str(prj), "no such project directory", "run 'hfn-hls generate' first")
    if args.n < 1:
        raise HfnError(f"-n {args.n}", "need at least one image", "give -n 1 or more")
    from ..project import load
    load(prj, check_files=False)  # the CLI simulates projects (their tb_data), not bare folders
    r = run_system_sim(prj, args.n, rtl_dir=args.rtl_dir, waves=args.waves)
    r.pop("outputs", None)        # the codes themselves: for tests, not for the report
    atomic.write_file(prj / "reports" / "rtl_sim.json",
                      json.dumps(r, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(r, indent=1, sort_keys=True))
    else:
        if r.get("available") is not None and args.n > r["available"]:
            print(f"note: -n {args.n}, but tb_data holds {r['available']} images: simulated "
                  f"all {r['available']}")
        line = (f"{r['vectors']} images, {r['mismatches']} mismatches with the golden model, "
                f"{r['cycles_per_inference']:.0f} cycles per inference")
        if "utilisation" in r:
            line += (f" (ideal {r['ideal_cycles']}, utilisation "
                     f"{100 * r['utilisation']:.1f} %)")
        print(line)
        if r.get("waves"):
            print(f"waves: {r['waves']}")
    return 0 if r["mismatches"] == 0 else 1
