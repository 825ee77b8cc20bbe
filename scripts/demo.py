#!/usr/bin/env python3
"""The demo: digits from training to synthesised hardware, with one summary.

    python scripts/demo.py [OUT_DIR] [--board pynq-z2] [--lanes 16] [--force]

Runs the real commands a user would (train, export, report, ir, generate, csim, sim,
synth --open), keeps every JSON report in OUT_DIR/reports/, then writes the summary
table, the plots and OUT_DIR/report.html.  Any step that fails stops the demo with its
message and a non-zero exit code; nothing is reported that did not run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def step(title: str, cmd: list[str], out_json: Path | None = None,
         ok_codes: tuple[int, ...] = (0,)) -> dict | None:
    print(f"\n== {title}\n$ hfn-hls {' '.join(cmd)}", flush=True)
    t0 = time.time()
    full = [sys.executable, "-m", "hfn_hls.cli", *cmd]
    if out_json is None:
        r = subprocess.run(full)
        data = None
    else:
        r = subprocess.run(full, stdout=subprocess.PIPE, text=True)
        data = json.loads(r.stdout) if r.returncode in ok_codes and r.stdout.strip() else None
        if data is not None:
            out_json.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    if r.returncode not in ok_codes:
        print(f"demo: step '{title}' failed (exit {r.returncode})", file=sys.stderr)
        sys.exit(r.returncode or 1)
    print(f"   ({time.time() - t0:.1f} s)", flush=True)
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description="hfn-hls demo on the digits data set")
    ap.add_argument("out", nargs="?", default="demo_out", help="output folder (default demo_out)")
    ap.add_argument("--board", default="pynq-z2")
    # the channel engine at 16 lanes, not --lanes auto (generate's default): the pixel
    # engine auto sizes to fill the board takes Yosys 20-30 min here (README)
    ap.add_argument("--lanes", default="16",
                    help="generate --lanes (default 16, the channel engine: the demo's "
                         "Yosys run stays a few minutes; auto fills the board)")
    ap.add_argument("--sim-images", type=int, default=50, help="images for RTL simulation")
    ap.add_argument("--force", action="store_true", help="replace an earlier demo in OUT")
    args = ap.parse_args()

    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()) and not args.force:
        print(f"demo: {out}: not empty (an earlier demo?) (pass --force to replace it, or "
              "give another folder)", file=sys.stderr)
        return 2
    if out.exists() and args.force:
        import shutil
        shutil.rmtree(out)
    reports_dir = out / "reports"
    reports_dir.mkdir(parents=True)
    t_start = time.time()
    os.environ.setdefault("ORT_LOGGING_LEVEL", "3")

    run, onnx_path, prj = out / "run", out / "model.onnx", out / "prj"
    step("train the digits model (supermask search)",
         ["train", "--preset", "digits", "-o", str(run), "--threads", "2"])
    train = json.loads((run / "metrics.json").read_text())
    (reports_dir / "train.json").write_text(json.dumps(train, indent=1, sort_keys=True) + "\n")
    step("export to QONNX", ["export", str(run), "-o", str(onnx_path)])
    step("build and verify the integer IR", ["ir", str(onnx_path), "-o", str(out / "ir.json")])
    memory = step("memory report", ["report", str(onnx_path), "--json"],
                  reports_dir / "memory.json")

    # the test split as input codes, so csim and RTL simulation run on real images
    from hfn_hls.data import load_dataset
    from hfn_hls.golden import GoldenModel
    from hfn_hls.ir.model import Graph

    gm = GoldenModel(Graph.load(out / "ir.json"))
    d = load_dataset("digits")
    codes = gm.quantize_input(d.x_test.transpose(0, 2, 3, 1))
    np.save(out / "digits_test_codes.npy", codes)
    gold = gm.run(codes)
    golden = {"test_accuracy": float((gold.argmax(1) == d.y_test).mean()),
              "images": int(len(codes))}
    (reports_dir / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")

    if args.lanes == "16":
        print("\nnote: --lanes 16 (the channel engine): generate's default, --lanes auto, "
              "fills the board with the pixel engine and Yosys then takes 20-30 min here; "
              "pass --lanes auto to run it", flush=True)
    step(f"generate the HLS + RTL project for {args.board}",
         ["generate", str(onnx_path), "--board", args.board, "--lanes", args.lanes,
          "-o", str(prj), "--inputs", str(out / "digits_test_codes.npy")])
    project = json.loads((prj / "project.json").read_text())
    csim = step("C simulation (g++) against the golden model", ["csim", str(prj), "--json"],
                reports_dir / "csim.json")
    sim = step("RTL simulation (cocotb + Verilator) against the golden model",
               ["sim", str(prj), "-n", str(args.sim_images), "--json"], reports_dir / "sim.json")
    synth = step("open synthesis (Yosys synth_xilinx)", ["synth", str(prj), "--open", "--json"],
                 reports_dir / "synth_open.json")

    from hfn_hls.boards import load_board
    from hfn_hls.demo_report import format_summary_table, train_report, write_report
    from hfn_hls.lanes import parse_lanes
    from hfn_hls.lower import lower

    # per-layer shares of the measured cycles, from the engine's loop order (docs/rtl.md)
    if json.loads((prj / "rtl" / "rtl.json").read_text()).get("engine") != "pixel":
        lanes = parse_lanes(args.lanes)
        sim["layers"] = lower(Graph.load(out / "ir.json")).layer_cycles(lanes)
        sim["layers_source"] = "engine loop-order model; total measured in RTL simulation"

    board = load_board(args.board)
    est = project["hls"]["estimate"]["storage_bits"]
    hls = {"storage_bits": est["mask"] + est["lfsr_states"] + est["requant"],
           "storage_bits_by_kind": est}
    print("\n== hls4ml 1.3.0 on the same network with stored weights (write() only)", flush=True)
    try:
        from hfn_hls.hls.hls4ml_compare import hls4ml_weight_bits
        h = hls4ml_weight_bits(onnx_path, out / "hls4ml")
        hls["hls4ml_bits"] = h["total_bits"]
        hls["hls4ml"] = h
        print(f"   {h['total_bits']} bits ({', '.join(h['precision'])})")
    except Exception as e:  # reported plainly, never invented
        print(f"demo: hls4ml comparison not available: {type(e).__name__}: {e}",
              file=sys.stderr)
    reports = {"train": train_report(train, golden["test_accuracy"]),
               "memory": memory, "hls": hls, "csim": csim, "sim": sim, "synth": synth,
               "board": {"name": board.name, "clock_mhz": board.clock_mhz,
                         "resources": board.resources}}
    (reports_dir / "summary_input.json").write_text(json.dumps(reports, indent=1,
                                                               sort_keys=True) + "\n")
    res = write_report(out, reports, force=True)
    # the page must show exactly what the JSON reports on disk say
    from hfn_hls.demo_report import check_html_against
    reloaded = json.loads((reports_dir / "summary_input.json").read_text())
    problems = check_html_against(out / "report.html", reloaded)
    if problems:
        print("demo: report.html disagrees with the JSON reports:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return 1
    print("\n" + format_summary_table(reports))
    print(f"\nreport: {out / 'report.html'}  plots: "
          + ", ".join(str(out / f) for f in ("storage_per_layer.png", "cycles_per_layer.png")))
    print(f"demo finished in {time.time() - t_start:.0f} s")
    return 0 if res else 1


if __name__ == "__main__":
    sys.exit(main())
