#!/usr/bin/env python3
"""Benchmark: Structured Multi-Hashing on digits — test accuracy against compression for
several fractions (ranks), beside the same network trained dense (``--method dense``,
8-bit stored weights).  Goal (issue 12): ``--fraction 0.25`` within 1 point of dense,
``--fraction 0.1`` >= 0.95.

    python scripts/bench_smh.py [--fractions 0.5,0.25,0.1,0.05,0.02] [--epochs N]
                                [--threads T] [--keep DIR] [--plot smh.png] [--json out.json]

Each model is trained with ``hfn-hls train`` (one at a time), exported, compiled to the
verified IR and its golden model's test accuracy checked against the training's (the
bit-exact integer model is what is reported).  Compression = virtual conv weights /
trained variables (L, R and the per-layer scalars); bits = L and R ROM bits (the report's
shared stores) against the dense network's 8-bit and fp32 weights.
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


def run(run_dir: Path, method: str, epochs, threads, extra=()) -> dict:
    args = ["train", "--method", method, "--preset", "digits", "-o", run_dir,
            "--no-progress", "--force", *extra]
    if epochs:
        args += ["--epochs", epochs]
    if threads:
        args += ["--threads", threads]
    r = cli(*args)
    if r.returncode != 0:
        raise SystemExit(f"train {method} {' '.join(map(str, extra))}: {r.stderr.strip()}")
    return json.loads((run_dir / "metrics.json").read_text())


def golden_accuracy(run_dir: Path) -> tuple[float, int]:
    """(test accuracy of the golden model of the exported IR, on-chip shared bits)."""
    import numpy as np

    from hfn_hls.data import load_dataset
    from hfn_hls.golden import GoldenModel
    from hfn_hls.ir.build import build_ir
    from hfn_hls.weights import get_source
    onnx = run_dir / "model.onnx"
    r = cli("export", run_dir, "-o", onnx, "--force")
    if r.returncode != 0:
        raise SystemExit(f"export {run_dir}: {r.stderr.strip()}")
    g = build_ir(onnx)
    d = load_dataset("digits")
    gm = GoldenModel(g)
    codes = gm.run(gm.quantize_input(d.x_test.transpose(0, 2, 3, 1)))
    bits = sum(get_source(s).shared_bits(g).get(k, 0) for s in {l.source for l in
               g.layers.values()} for k in ("smh_L", "smh_R"))
    return float((codes.argmax(1) == d.y_test).mean()), int(bits)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fractions", default="0.5,0.25,0.1,0.05,0.02")
    ap.add_argument("--epochs", type=int, help="default: the preset's (10)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", help="keep the runs in this directory")
    ap.add_argument("--plot", default="smh_digits.png", help="plot file ('' for none)")
    ap.add_argument("--json", help="write the results as JSON")
    a = ap.parse_args()
    base = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench_smh_"))
    base.mkdir(parents=True, exist_ok=True)
    dense = run(base / "dense", "dense", a.epochs, a.threads)
    rows = []
    for f in [float(x) for x in a.fractions.split(",")]:
        m = run(base / f"smh_{f}", "smh", a.epochs, a.threads, ["--fraction", f])
        acc, bits = golden_accuracy(base / f"smh_{f}")
        rows.append({"fraction": f, "rank": m["rank"], "n": m["n"],
                     "variables": m["variables"], "virtual_weights": m["virtual_weights"],
                     "compression": m["virtual_weights"] / m["variables"],
                     "test_accuracy": m["test_accuracy"], "golden_accuracy": acc,
                     "rom_bits": bits,
                     "vs_int8": m["virtual_weights"] * 8 / bits,
                     "vs_fp32": m["virtual_weights"] * 32 / bits})
        print(f"fraction {f:5.3f}  rank {m['rank']:3d}  variables {m['variables']:7d}  "
              f"compression {rows[-1]['compression']:6.2f}x  test acc {m['test_accuracy']:.4f}"
              f"  (golden {acc:.4f})  L+R ROM {bits} bits = {rows[-1]['vs_int8']:.1f}x "
              f"smaller than int8", flush=True)
    print(f"dense (8-bit stored) test accuracy {dense['test_accuracy']:.4f}")
    for r in rows:
        r["delta_vs_dense"] = r["test_accuracy"] - dense["test_accuracy"]
    by = {r["fraction"]: r for r in rows}
    if 0.25 in by:
        ok = by[0.25]["test_accuracy"] >= dense["test_accuracy"] - 0.01
        print(f"goal fraction 0.25 within 1 point of dense: {'met' if ok else 'NOT met'} "
              f"({by[0.25]['delta_vs_dense'] * 100:+.2f} points)")
    if 0.1 in by:
        ok = by[0.1]["test_accuracy"] >= 0.95
        print(f"goal fraction 0.1 >= 0.95: {'met' if ok else 'NOT met'} "
              f"({by[0.1]['test_accuracy']:.4f})")
    if a.json:
        Path(a.json).write_text(json.dumps({"dense": dense["test_accuracy"], "smh": rows},
                                           indent=1) + "\n")
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.semilogx([r["compression"] for r in rows], [r["test_accuracy"] for r in rows],
                    "o-", label="SMH (fraction)")
        for r in rows:
            ax.annotate(f"f={r['fraction']}, r={r['rank']}", (r["compression"],
                        r["test_accuracy"]), fontsize=7)
        ax.axhline(dense["test_accuracy"], color="gray", ls="--", label="dense (8-bit)")
        from matplotlib.ticker import NullFormatter, ScalarFormatter
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("compression (virtual weights / trained variables)")
        ax.set_ylabel("digits test accuracy")
        ax.legend()
        fig.tight_layout()
        fig.savefig(a.plot, dpi=120)
        print(f"plot: {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
