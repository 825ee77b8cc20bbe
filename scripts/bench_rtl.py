#!/usr/bin/env python3
"""Benchmark of the RTL engine on a ResNet-20-sized network.

For each lane count: cycles per inference measured by RTL simulation (cocotb +
Verilator, outputs checked against the golden model) beside the ideal MACs / lanes,
and the utilisation (ideal / measured; goal >= 90 %).  With --synth, open synthesis
(Yosys synth_xilinx) for a board: LUT / FF / BRAM / DSP against its capacity.

    python scripts/bench_rtl.py                     # resnet20 preset, 64 and 256 lanes
    python scripts/bench_rtl.py --ir PRJ/ir.json    # any IR (e.g. a trained resnet20)
    python scripts/bench_rtl.py --synthetic         # random_graph.resnet_graph (no torch)
    python scripts/bench_rtl.py --no-sim --synth 64 --board pynq-z2
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from hfn_hls.boards import load_board
from hfn_hls.errors import HfnError
from hfn_hls.ir.model import Graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.rtl_backend import run_system_sim, write_rtl
from hfn_hls.ir.random_graph import resnet_graph


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ir", help="IR JSON of the network (default: the resnet20 preset)")
    ap.add_argument("--synthetic", action="store_true",
                    help="use random_graph.resnet_graph (ResNet-20 shapes, random masks)")
    ap.add_argument("--lanes", nargs="+", default=["64", "256"])
    ap.add_argument("-n", type=int, default=3, help="images per simulation (>= 2)")
    ap.add_argument("--synth", metavar="LANES", help="also synthesise at this lane count")
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--no-sim", action="store_true", help="skip the simulations")
    ap.add_argument("--work", help="work directory (default: a temporary one)")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args(argv)
    board = load_board(args.board)
    work = Path(args.work or tempfile.mkdtemp(prefix="hfn-bench-rtl-"))
    if args.ir:
        graph = Graph.load(args.ir)
    elif args.synthetic:
        graph = resnet_graph(0)
    else:   # the real front end: hfn-hls init + export of the untrained preset -> IR
        from hfn_hls.testing import preset_onnx
        from hfn_hls.ir.build import build_ir
        graph = build_ir(preset_onnx("resnet20", work / "model"))
    results = {"network": graph.name, "runs": []}
    print(f"network {graph.name}: work dir {work}")
    for lanes_s in ([] if args.no_sim else args.lanes):
        lanes = parse_lanes(lanes_s)
        prj = work / f"lanes{lanes.total}"
        prj.mkdir(parents=True, exist_ok=True)
        graph.save(prj / "ir.json")
        desc = write_rtl(graph, board, lanes, prj / "rtl")
        r = run_system_sim(prj, max(2, args.n))
        row = {"lanes": str(lanes), "macs": desc["macs"], "ideal_cycles": desc["ideal_cycles"],
               "cycles_per_inference": r["cycles_per_inference"],
               "utilisation": desc["ideal_cycles"] / r["cycles_per_inference"],
               "vectors": r["vectors"], "mismatches": r["mismatches"]}
        results["runs"].append(row)
        print(f"lanes {lanes.total:4d} ({lanes}): {row['cycles_per_inference']:.0f} cycles/inference, "
              f"ideal {row['ideal_cycles']} (MACs {row['macs']} / {lanes.total}), "
              f"utilisation {100 * row['utilisation']:.1f} %, "
              f"{row['mismatches']} mismatches in {row['vectors']} images")
    if args.synth:
        from hfn_hls.rtl_backend import run_open_synth
        lanes = parse_lanes(args.synth)
        prj = work / f"synth{lanes.total}"
        desc = write_rtl(graph, board, lanes, prj / "rtl")
        s = run_open_synth(prj / "rtl", board, log=prj / "yosys.log")
        s.pop("cells", None)
        s["lanes"] = str(lanes)
        s["rom_bits"] = desc["rom_bits"]
        results["synth"] = s
        c = s["capacity"]
        print(f"synth {board.name} ({board.part}), {lanes.total} lanes: LUT {s['lut']}/{c['lut']}, "
              f"FF {s['ff']}/{c['ff']}, BRAM_18K {s['bram']}/{c['bram']}, "
              f"DSP {s['dsp']}/{c['dsp']}: {'fits' if s['fits'] else 'does NOT fit'}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    bad = [r for r in results["runs"] if r["mismatches"]]
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HfnError as e:
        print(f"bench_rtl: error: {e}", file=sys.stderr)
        sys.exit(2)
