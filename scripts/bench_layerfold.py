#!/usr/bin/env python3
"""Benchmark: Layer Folding on digits — accuracy and conv layers before and after folding,
and RTL cycles per inference before and after, measured by simulation when the compiler
takes the models (goal: after fine-tuning within 1 point of before).

    python scripts/bench_layerfold.py [--keep DIR] [--epochs N] [--finetune-epochs N]
                                      [--lanes L] [-n IMAGES] [--threads T]

"Before" is the pre-fold network (every σ_α as the ReLU / LeakyReLU it is, no conv
merged), "after" the folded and fine-tuned one.  Both are stored-weight networks (the
``stored`` weight source): each is compiled with ``hfn-hls generate`` and simulated with
``hfn-hls sim`` (RTL, Verilator) on the project's test vectors, which checks every output
against the golden model; the cycles per inference are measured there.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)],
                          capture_output=True, text=True)


def last_line(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no message)"


def cycles(onnx_path: Path, prj: Path, lanes: str, n: int) -> tuple[float | None, str]:
    """(cycles per inference, note) from hfn-hls generate + sim, or (None, why not); None
    too when the simulation disagrees with the golden model."""
    r = cli("generate", onnx_path, "-o", prj, "--lanes", lanes, "--force")
    if r.returncode != 0:
        why = last_line(r.stderr).replace("hfn-hls generate: error: ", "")
        return None, f"not measured: hfn-hls generate says: {why}"
    r = cli("sim", prj.resolve(), "-n", n, "--json")
    if r.returncode not in (0, 1) or not r.stdout.strip().startswith("{"):
        return None, f"not measured: hfn-hls sim failed ({last_line(r.stderr)})"
    res = json.loads(r.stdout)
    note = (f"{res['vectors']} images, {res['mismatches']} mismatches with the golden "
            f"model; ideal {res['ideal_cycles']} = MACs / lanes")
    if res["mismatches"]:
        return None, "not measured: " + note
    return float(res["cycles_per_inference"]), note


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="keep the run and the exported models in this directory")
    ap.add_argument("--epochs", type=int, help="pre-fold epochs (default: the preset's)")
    ap.add_argument("--finetune-epochs", type=int, help="default: the pre-fold epochs")
    ap.add_argument("--lanes", default="16", help="lanes for generate (default 16)")
    ap.add_argument("-n", type=int, default=10, help="images in the RTL simulation")
    ap.add_argument("--threads", type=int, help="torch threads for training")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        run = work / "run"
        cmd = ["train", "--method", "layerfold", "--preset", "digits", "-o", run, "--force"]
        if args.epochs:
            cmd += ["--epochs", args.epochs]
        if args.finetune_epochs is not None:
            cmd += ["--finetune-epochs", args.finetune_epochs]
        if args.threads:
            cmd += ["--threads", args.threads]
        r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, cmd)],
                           stdout=subprocess.DEVNULL)     # progress bars on stderr
        if r.returncode != 0:
            print("training failed", file=sys.stderr)
            return 2
        m = json.loads((run / "metrics.json").read_text())
        after = work / "after.onnx"
        r = cli("export", run, "-o", after, "--force")
        if r.returncode != 0:
            print(f"export failed: {last_line(r.stderr)}", file=sys.stderr)
            return 2
        from hfn_hls.commands._common import quiet
        from hfn_hls.export import export_model
        from hfn_hls.methods.layerfold import load_prefold
        quiet()
        before = export_model(load_prefold(run), work / "before.onnx")

        b, a = m["test_accuracy_before_fold"], m["test_accuracy"]
        print(f"layerfold on digits ({m['test_images']} test images, {m['epochs']} pre-fold + "
              f"{m['finetune_epochs']} fine-tuning epochs, {m['weight_bits']}-bit weights)")
        print(f"  test accuracy  before folding {b:.4f}   folded, not fine-tuned "
              f"{m['test_accuracy_folded']:.4f}   after fine-tuning {a:.4f} "
              f"({100 * (a - b):+.2f} points; goal: within 1 point)")
        print(f"  conv layers    before {m['convs_before']}   after {m['convs_after']}   "
              f"merged: {', '.join(m['merged']) or 'none'}")
        print(f"  activations    linear after the addition (dropped): "
              f"{', '.join(m['dropped']) or 'none'}")
        print("  alpha          " + ", ".join(f"{k} {v:.3f}" for k, v in m["alphas"].items()))
        measured = []
        for label, path in (("before", before), ("after", after)):
            c, note = cycles(path, work / f"prj_{label}", args.lanes, args.n)
            fig = f"{c:.0f}" if c is not None else "-"
            print(f"  RTL cycles per inference {label:6s} {fig}   ({note}; lanes {args.lanes})")
            measured.append(c)
        if None not in measured:
            print(f"  RTL cycles after / before  {measured[1] / measured[0]:.3f}")
        ok = a >= b - 0.01 and None not in measured
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
