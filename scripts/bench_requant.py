#!/usr/bin/env python3
"""Benchmark of the compact requantisation (issue 13.4, docs/arithmetic.md): per network
the requant channel × parameter-set pairs, the bits the compact form stores per pair,
the exception points, what the thresholds themselves would take, and the on-chip total
against the floor (weight sources + 32 bits per channel-set), as ``hfn-hls report
--json`` gives them.

    python scripts/bench_requant.py [--digits model.onnx] [--resnet20 model.onnx]

Without ``--digits`` the digits preset is trained with its defaults (one thread, a few
minutes); without ``--resnet20`` the resnet20 preset is initialised untrained
(``hfn-hls init`` + ``export`` through the Python API).  Goals (issue 13): at most 40 bits
per channel-set, on chip at most 1.15x the floor.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def _digits(work: Path) -> Path:
    import torch

    from hfn_hls.export import export_model
    from hfn_hls.train import load_checkpoint, train

    torch.set_num_threads(1)
    run = work / "digits_run"
    train("digits", run, threads=1, progress=False)
    return export_model(load_checkpoint(run), work / "digits.onnx")


def _threshold_bits(graph) -> int:
    """What the thresholds themselves would take (the form before issue 13.4): per set
    and row L thresholds of the clipped input range's width and a direction bit."""
    from hfn_hls.ir.ranges import Interval, threshold_width
    from hfn_hls.ir.requant import channel_sets, levels

    n = 0
    for op in graph.walk():
        if op.kind == "requant":
            x = graph.tensors[op.inputs[0]]
            n += channel_sets(op) * (levels(op) * threshold_width(Interval(x.lo, x.hi)) + 1)
    return n


def measure(name: str, onnx: Path) -> dict:
    from hfn_hls.ir.build import build_ir
    from hfn_hls.report import report_graph

    t0 = time.perf_counter()
    g = build_ir(onnx)
    t_ir = time.perf_counter() - t0
    t = report_graph(g, None)["totals"]
    ops = [o for o in g.walk() if o.kind == "requant"]
    exc = sum(len(s["exceptions"]) for o in ops for s in o.attrs["compact"]["sets"])
    return {"model": name, "onnx": str(onnx), "requant_ops": len(ops),
            "requant_channel_sets": t["requant_channel_sets"],
            "requant_bits": t["requant_bits"],
            "bits_per_channel_set": t["requant_bits_per_channel_set"],
            "exception_points": exc, "threshold_bits": _threshold_bits(g),
            "on_chip_bits": t["on_chip_bits"], "floor_bits": t["floor_bits"],
            "ratio_floor": t["ratio_floor"], "ir_seconds": round(t_ir, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=Path, help="trained digits model.onnx")
    ap.add_argument("--resnet20", type=Path, help="resnet20 model.onnx")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_requant_"))
    digits = args.digits or _digits(work)
    if args.resnet20:
        r20, r20_name = args.resnet20, "resnet20"
    else:
        from hfn_hls.testing import preset_onnx
        r20, r20_name = preset_onnx("resnet20", work), "resnet20 (untrained)"
    rows = [measure("digits" + ("" if args.digits else " (trained here)"), digits),
            measure(r20_name, r20)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    hdr = (f"{'network':24s} {'ops':>4s} {'ch-sets':>8s} {'bits':>8s} {'bits/set':>9s} "
           f"{'exc':>4s} {'thresholds':>11s} {'on chip':>9s} {'floor':>9s} {'ratio':>6s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['model']:24s} {r['requant_ops']:4d} {r['requant_channel_sets']:8d} "
              f"{r['requant_bits']:8d} {r['bits_per_channel_set']:9.1f} "
              f"{r['exception_points']:4d} {r['threshold_bits']:11d} {r['on_chip_bits']:9d} "
              f"{r['floor_bits']:9d} {r['ratio_floor']:6.3f}")
    ok = all(r["bits_per_channel_set"] <= 40 and r["ratio_floor"] <= 1.15 for r in rows)
    print(f"goals (<= 40 bits per channel-set, on chip <= 1.15x floor): "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
