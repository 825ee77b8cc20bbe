#!/usr/bin/env python3
"""Benchmark of the pixel-lane RTL engine (issue 13 items 1-3; docs/rtl.md, "pixel engine").

Prints the table of the issue: resnet20 (k = 0.3) on the xc7z020 (pynq-z2) with --lanes auto
and at the largest pixel configurations within 64 and 256 MAC lanes: cycles per inference
(RTL simulation with --sim, bit-exact against the golden model; else the cycle model),
frames/s at the board clock, LUT / FF / BRAM / DSP (Yosys synth_xilinx with --synth, else
the resource model), the zero-skipping ratio against the dense ideal (MACs / lanes) for
resnet20 and digits (k = 0.5), and the LUTs per MAC lane (with --slope: Yosys on digits at
P16S2, P64S2 and P64S4, the slopes between them: more pixel lanes, more streams, both).

    python scripts/bench_engine.py                       # models only (seconds)
    python scripts/bench_engine.py --sim                 # + RTL simulation (long)
    python scripts/bench_engine.py --sim --synth --slope # everything (an hour or more)
    python scripts/bench_engine.py --r20 r20.json --digits dg.json   # given IRs
    python scripts/bench_engine.py --sim --only "auto,digits P16S2R4"   # simulate two rows

Rows: resnet20 at --lanes auto, at the best pixel configurations within 64 and 256 MAC
lanes, digits at --lanes auto and at --digits-config (default P16S2).  The table says per
row whether the cycles are RTL simulation or the cycle model and whether the resources
are Yosys or the resource model.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from hfn_hls.boards import load_board
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.model import Graph
from hfn_hls.rtl_backend import run_system_sim, write_rtl
from hfn_hls.rtl_backend.pixel import PixelConfig
from hfn_hls.rtl_backend.pixel.resources import Analysis, choose, estimate


def preset_graph(name: str, k: float, work: Path) -> Graph:
    """The real front end: init (untrained, mask density k) + export + IR."""
    from hfn_hls.commands._common import quiet
    from hfn_hls.export import export_model
    from hfn_hls.ir.build import build_ir
    from hfn_hls.train import init_model
    quiet()
    model = init_model(name, work / name, k=k)
    return build_ir(export_model(model, work / f"{name}.onnx"))


def within(a: Analysis, board, lanes: int) -> PixelConfig:
    """The pixel configuration of at most ``lanes`` MAC lanes with the fewest model cycles."""
    best = None
    for p in (8, 16, 32, 64):
        for s in range(1, 64):
            cfg = PixelConfig(p, s)
            if cfg.lanes > lanes:
                break
            e = estimate(a, cfg)
            if best is None or e.cycles < best.cycles:
                best = e
    return best.cfg


def measure(graph: Graph, cfg: PixelConfig, board, work: Path, sim: bool, synth: bool,
            n: int) -> dict:
    a = Analysis(graph)
    e = estimate(a, cfg)
    row = {"network": graph.name, "config": str(cfg), "lanes": cfg.lanes,
           "model_cycles": e.cycles, "dense_ideal_cycles": e.dense_ideal_cycles,
           "pred_lut": e.lut, "pred_ff": e.ff, "pred_bram": e.bram}
    prj = work / f"{graph.name}_{cfg}"
    prj.mkdir(parents=True, exist_ok=True)
    graph.save(prj / "ir.json")
    write_rtl(graph, board, cfg, prj / "rtl")
    if sim:
        x = np.random.default_rng(0).integers(0, int(graph.input_tensor.hi) + 1,
                                              (n, *graph.input_tensor.shape))
        r = run_system_sim(prj, n, images=x)
        ok = np.array_equal(np.asarray(r["outputs"]), GoldenModel(graph).run(x))
        row.update(sim_cycles=r["cycles_per_inference"], mismatches=r["mismatches"],
                   bit_exact=bool(ok and r["mismatches"] == 0))
    if synth:
        from hfn_hls.rtl_backend.synth import run_open_synth
        s = run_open_synth(prj / "rtl", board, log=prj / "yosys.log")
        row.update(lut=s["lut"], ff=s["ff"], bram=s["bram"], dsp=s["dsp"], fits=s["fits"])
    cyc = row.get("sim_cycles", e.cycles)
    row["cycles"] = cyc
    row["cycles_source"] = "rtl-sim" if "sim_cycles" in row else "model"
    row["frames_per_s"] = board.clock_mhz * 1e6 / cyc
    row["ratio"] = cyc / e.dense_ideal_cycles
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--r20", help="IR JSON of resnet20 (default: the preset, k = 0.3)")
    ap.add_argument("--digits", help="IR JSON of digits (default: the preset, k = 0.5)")
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--sim", action="store_true", help="measure cycles by RTL simulation")
    ap.add_argument("--only", metavar="LABELS",
                    help="with --sim / --synth: measure only these rows (comma-separated "
                         "labels, e.g. 'auto,digits P16S2R4'); the others are the models")
    ap.add_argument("--digits-config", default="P16S2", metavar="PxSy",
                    help="an extra digits row at this configuration (default P16S2: the "
                         "zero-skipping ratio at few streams)")
    ap.add_argument("--synth", action="store_true", help="measure resources with Yosys")
    ap.add_argument("--slope", action="store_true",
                    help="LUTs per MAC lane: Yosys on digits at P16S2, P64S2, P64S4")
    ap.add_argument("-n", type=int, default=2, help="images per simulation")
    ap.add_argument("--work", help="work directory (default: a temporary one)")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args(argv)
    board = load_board(args.board)
    work = Path(args.work or tempfile.mkdtemp(prefix="hfn-bench-engine-"))
    work.mkdir(parents=True, exist_ok=True)
    r20 = Graph.load(args.r20) if args.r20 else preset_graph("resnet20", 0.3, work)
    dg = Graph.load(args.digits) if args.digits else preset_graph("digits", 0.5, work)
    rows = []
    a20 = Analysis(r20)
    auto, _ = choose(r20, board)
    plan = [("auto", auto.cfg), ("<= 64 lanes", within(a20, board, 64)),
            ("<= 256 lanes", within(a20, board, 256))]
    adg, _ = choose(dg, board)
    plan.append(("digits auto", adg.cfg))
    if args.digits_config:
        from hfn_hls.rtl_backend.pixel import parse_pixel
        cfg = parse_pixel(args.digits_config)
        plan.append((f"digits {cfg}", cfg))
    only = {x.strip() for x in args.only.split(",")} if args.only else None
    for label, cfg in plan:
        g = dg if label.startswith("digits") else r20
        on = only is None or label in only
        row = measure(g, cfg, board, work, args.sim and on, args.synth and on, args.n)
        row["label"] = label
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    slopes = {}
    if args.slope:
        # digits at P16S2, P64S2, P64S4 (same network): more pixel lanes (P), more
        # streams (S), and both; LUTs per MAC lane = the slope of Yosys LUTs between them
        from hfn_hls.rtl_backend.synth import run_open_synth
        lut = {}
        for cfg in (PixelConfig(16, 2), PixelConfig(64, 2), PixelConfig(64, 4)):
            prj = work / f"slope_{cfg}"
            write_rtl(dg, board, cfg, prj / "rtl")
            lut[cfg] = run_open_synth(prj / "rtl", board, log=prj / "yosys.log")["lut"]
            print(f"slope point digits {cfg} ({cfg.lanes} MAC lanes): {lut[cfg]} LUT",
                  file=sys.stderr, flush=True)
        a, b, c = lut
        for name, lo, hi in (("P16S2 -> P64S2 (pixel lanes)", a, b),
                             ("P64S2 -> P64S4 (streams)", b, c),
                             ("P16S2 -> P64S4 (both)", a, c)):
            slopes[name] = (lut[hi] - lut[lo]) / (hi.lanes - lo.lanes)
    # ---- the table
    print(f"{'network':10} {'config':10} {'lanes':>6} {'cycles':>9} {'source':7} "
          f"{'fps@' + format(board.clock_mhz, 'g') + 'MHz':>11} {'dense ideal':>11} "
          f"{'ratio':>6} {'LUT':>7} {'FF':>7} {'BRAM':>5} {'DSP':>4} {'res':6}")
    for r in rows:
        src = "yosys" if "lut" in r else "model"
        print(f"{r['network'][:10]:10} {r['config']:10} {r['lanes']:6d} {r['cycles']:9.0f} "
              f"{r['cycles_source']:7} {r['frames_per_s']:11.0f} {r['dense_ideal_cycles']:11d} "
              f"{r['ratio']:6.3f} {r.get('lut', r['pred_lut']):7d} {r.get('ff', r['pred_ff']):7d} "
              f"{r.get('bram', r['pred_bram']):5d} {r.get('dsp', 0):4d} {src:6}  ({r['label']}"
              + (", bit-exact" if r.get("bit_exact") else
                 (", MISMATCHES" if "bit_exact" in r else "")) + ")")
    for name, v in slopes.items():
        print(f"LUTs per MAC lane (Yosys, digits, {name}): {v:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "lut_slopes": slopes}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
