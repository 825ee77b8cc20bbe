#!/usr/bin/env python3
"""Benchmark: RPG on digits — test accuracy against DoF (ring size as a fraction of the
virtual conv weights), printed as a table and plotted on a log axis (the papers' claim:
accuracy grows log-linearly with DoF).

    python scripts/bench_rpg.py [--dof 0.01 0.1 0.5] [--epochs N] [--ring-bits B]
                                [--keep DIR] [--plot rpg_dof.png] [--threads T]

Each point is ``hfn-hls train --method rpg --dof F --preset digits`` (one training at a
time), its metrics.json read back; the dense baseline (``--method dense``, 8-bit stored
weights) is trained with the same epochs for reference unless ``--no-dense``.  The plot
is a PNG made with matplotlib when it is installed, else an SVG written here.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)],
                          capture_output=True, text=True)


def train(out: Path, method: str, epochs: int, threads: int, extra: list) -> dict:
    r = cli("train", "--method", method, "--preset", "digits", "-o", out, "--epochs", epochs,
            "--threads", threads, "--no-progress", "--force", *extra)
    if r.returncode != 0:
        raise SystemExit(f"training failed: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads((out / "metrics.json").read_text())


def svg_plot(points, dense, path: Path) -> None:
    """A small log-x line plot without matplotlib."""
    w, h, m = 480, 320, 50
    xs = [math.log10(p["dof_fraction"]) for p in points]
    lo, hi = math.floor(min(xs)), math.ceil(max(xs + [0]))
    ys = [p["test_accuracy"] for p in points] + ([dense] if dense is not None else [])
    ylo, yhi = min(0.5, min(ys)), 1.0

    def px(x):
        return m + (x - lo) / (hi - lo or 1) * (w - 2 * m)

    def py(y):
        return h - m - (y - ylo) / (yhi - ylo) * (h - 2 * m)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
         'font-family="sans-serif" font-size="11">',
         f'<rect width="{w}" height="{h}" fill="white"/>',
         f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
         f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>']
    for e in range(lo, hi + 1):
        s.append(f'<text x="{px(e):.1f}" y="{h - m + 15}" text-anchor="middle">1e{e}</text>')
    for k in range(6):
        y = ylo + k * (yhi - ylo) / 5
        s.append(f'<text x="{m - 5}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    pts = " ".join(f"{px(x):.1f},{py(p['test_accuracy']):.1f}" for x, p in zip(xs, points))
    s.append(f'<polyline points="{pts}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for x, p in zip(xs, points):
        s.append(f'<circle cx="{px(x):.1f}" cy="{py(p["test_accuracy"]):.1f}" r="3" '
                 'fill="#1f77b4"/>')
    if dense is not None:
        s.append(f'<line x1="{m}" y1="{py(dense):.1f}" x2="{w - m}" y2="{py(dense):.1f}" '
                 'stroke="gray" stroke-dasharray="4"/>')
        s.append(f'<text x="{w - m}" y="{py(dense) - 4:.1f}" text-anchor="end">dense '
                 f'{dense:.3f}</text>')
    s.append(f'<text x="{w / 2}" y="{h - 10}" text-anchor="middle">DoF / virtual conv '
             'weights (log)</text>')
    s.append(f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" '
             'text-anchor="middle">digits test accuracy</text>')
    s.append(f'<text x="{w / 2}" y="20" text-anchor="middle">RPG on digits: accuracy vs '
             'DoF</text></svg>')
    path.write_text("\n".join(s) + "\n")


def plot(points, dense, path: Path) -> Path:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        path = path.with_suffix(".svg")
        svg_plot(points, dense, path)
        return path
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.semilogx([p["dof_fraction"] for p in points], [p["test_accuracy"] for p in points],
                "o-", label="rpg")
    for p in points:
        ax.annotate(f"{p['test_accuracy']:.3f}", (p["dof_fraction"], p["test_accuracy"]),
                    textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    if dense is not None:
        ax.axhline(dense, color="gray", ls="--", label="dense (8-bit)")
    ax.set_xlabel("DoF / virtual conv weights")
    ax.set_ylabel("digits test accuracy")
    ax.set_title("RPG on digits: accuracy vs DoF")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dof", type=float, nargs="+", default=[0.01, 0.1, 0.5])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--ring-bits", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", help="keep the runs in this directory")
    ap.add_argument("--plot", default="rpg_dof.png", help="plot file (.png, or .svg "
                    "without matplotlib)")
    ap.add_argument("--no-dense", action="store_true", help="skip the dense baseline")
    args = ap.parse_args()
    tmp = None
    if args.keep:
        root = Path(args.keep)
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory()
        root = Path(tmp.name)
    points = []
    for f in args.dof:
        m = train(root / f"rpg_{f:g}", "rpg", args.epochs, args.threads,
                  ["--dof", f, "--ring-bits", args.ring_bits])
        points.append(m)
        print(f"dof {f:g}: ring {m['dof']} of {m['virtual_weights']} virtual weights "
              f"({m['dof_fraction']:.4f}), test accuracy {m['test_accuracy']:.4f}",
              flush=True)
    dense = None
    if not args.no_dense:
        dense = train(root / "dense", "dense", args.epochs, args.threads, [])["test_accuracy"]
    print()
    print(f"RPG on digits, {args.epochs} epochs, ring {args.ring_bits} bits")
    print(f"{'--dof':>7} {'ring N':>8} {'virtual':>8} {'DoF frac':>9} {'test acc':>9}")
    for f, p in zip(args.dof, points):
        print(f"{f:>7g} {p['dof']:>8} {p['virtual_weights']:>8} {p['dof_fraction']:>9.4f} "
              f"{p['test_accuracy']:>9.4f}")
    if dense is not None:
        print(f"{'dense':>7} {'':>8} {points[0]['virtual_weights']:>8} {'1 (8-bit)':>9} "
              f"{dense:>9.4f}")
    out = plot(points, dense, Path(args.plot))
    print(f"plot: {out}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
