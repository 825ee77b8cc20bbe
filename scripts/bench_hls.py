#!/usr/bin/env python3
"""Benchmark of the HLS backend: generation time, csim build time, on-chip storage bits by
kind, and the weight bits hls4ml 1.3.0 stores for the same network (QONNX converted with
hls4ml, ``write()`` only, weights counted in firmware/weights/*.h), with the ratio.

    python scripts/bench_hls.py [model.onnx | --preset resnet20] [--lanes 16] [--board pynq-z2]

Without a model it makes one with the front end (``hfn-hls init`` + ``export`` through the
Python API); if the front end is not available it falls back to a random resnet20-shaped
IR graph, says so, and has no QONNX for the hls4ml comparison.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="model.onnx (default: made from --preset)")
    ap.add_argument("--preset", default="resnet20")
    ap.add_argument("--lanes", default="16")
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--vectors", type=int, default=20)
    args = ap.parse_args(argv)

    from hfn_hls.boards import load_board
    from hfn_hls.hls import run_csim, write_project
    from hfn_hls.lanes import parse_lanes

    work = Path(tempfile.mkdtemp(prefix="bench_hls_"))
    onnx_path = Path(args.model) if args.model else None
    source = str(onnx_path)
    if onnx_path is None:
        try:
            from hfn_hls.testing import preset_onnx
            onnx_path = preset_onnx(args.preset, work)
            source = f"untrained preset {args.preset} (hfn-hls init + export)"
        except ImportError as e:
            source = f"random resnet20-shaped IR graph (front end not available: {e})"
    t0 = time.perf_counter()
    if onnx_path is not None:
        from hfn_hls.ir.build import build_ir
        graph = build_ir(onnx_path)
    else:
        from hfn_hls.ir.random_graph import RESNET20, resnet_graph
        graph = resnet_graph(0, stages=RESNET20)
    t_ir = time.perf_counter() - t0
    t0 = time.perf_counter()
    prj = write_project(graph, load_board(args.board), parse_lanes(args.lanes), work / "prj",
                        vectors=args.vectors)
    t_gen = time.perf_counter() - t0
    res = run_csim(work / "prj")
    est = prj["hls"]["estimate"]
    print(f"model: {source}")
    print(f"board {args.board}, lanes {args.lanes}, work dir {work}")
    print(f"IR build time        {t_ir:8.2f} s")
    print(f"generation time      {t_gen:8.2f} s")
    print(f"csim build time      {res['build_seconds']:8.2f} s")
    print(f"csim run time        {res['run_seconds']:8.2f} s for {res['vectors']} images, "
          f"{res['mismatches']} mismatches")
    print("on-chip storage bits (exact widths):")
    for k, v in sorted(est["storage_bits"].items()):
        print(f"  {k:14s} {v:12d}")
    model_bits = est["storage_bits"]["mask"] + est["storage_bits"]["lfsr_states"] + \
        est["storage_bits"]["requant"]
    print(f"  {'total':14s} {est['storage_bits_total']:12d}   (model state without feature "
          f"maps: {model_bits})")
    print(f"unique weights       {est['unique_weights']:12d}   (floor: weight sources + 32 "
          f"per requant channel-set = {est['floor_bits']})")
    if onnx_path is None:
        print("hls4ml stored-weight bits: not measured (no QONNX model for a random graph)")
        return 0
    from hfn_hls.hls.hls4ml_compare import hls4ml_weight_bits
    try:
        h = hls4ml_weight_bits(onnx_path, work)
    except Exception as e:  # noqa: BLE001 - say plainly why there is no figure
        print(f"hls4ml 1.3.0 stored-weight bits: not available -- {type(e).__name__}: {e}")
        return 1
    print(f"hls4ml 1.3.0 stored bits ({', '.join(h['precision'])}, {h['arrays']} arrays, "
          f"write() only): weights {h['weight_bits']}, biases {h['bias_bits']}, "
          f"total {h['total_bits']}")
    print(f"ratio hls4ml total / our model state (mask+states+requant): "
          f"{h['total_bits'] / model_bits:.2f}x; hls4ml weights / our mask ROMs: "
          f"{h['weight_bits'] / est['storage_bits']['mask']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
