#!/usr/bin/env python3
"""``--lanes auto`` on every board of ``boards/``: the configuration the resource model
chooses for a network, its predicted resources (in the board family's units: LUT6 /
RAMB18 on Xilinx, LUT4 / DP16KD on ECP5) against the board, and the predicted frames/s
(docs/rtl.md, "Automatic parallelism").  Model only: nothing is synthesised (the large
Xilinx boards' designs are beyond what the WebAssembly Yosys holds; the test
rtl_tests/test_rtl_pixel_auto.py checks the model against Yosys on two boards).

    python scripts/auto_boards.py                 # digits preset, untrained, k = 0.5
    python scripts/auto_boards.py --ir g.json     # an IR of yours
    python scripts/auto_boards.py --json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frontend"))

from hfn_hls.boards import available, load_board  # noqa: E402
from hfn_hls.errors import HfnError  # noqa: E402
from hfn_hls.ir.model import Graph  # noqa: E402
from hfn_hls.rtl_backend.pixel.resources import MARGIN, choose, family  # noqa: E402


def preset_graph(name: str, k: float, work: Path) -> Graph:
    """The real front end: init (untrained, mask density k) + export + IR."""
    import torch
    torch.set_num_threads(1)
    from hfn_hls.commands._common import quiet
    from hfn_hls.export import export_model
    from hfn_hls.ir.build import build_ir
    from hfn_hls.train import init_model
    quiet()
    model = init_model(name, work / name, k=k)
    return build_ir(export_model(model, work / f"{name}.onnx"))


def rows(graph: Graph) -> list[dict]:
    out = []
    for name in available():
        b = load_board(name)
        res = b.resources
        row = {"board": name, "family": b.family, "model": family(b.family).name,
               "clock_mhz": b.clock_mhz}
        try:
            e, ok = choose(graph, b)
        except HfnError as err:
            row["error"] = str(err)
            out.append(row)
            continue
        row.update(e.to_dict(b.clock_mhz))
        row["family"], row["model"] = b.family, e.family
        row["fitting_configurations"] = len(ok)
        row["use"] = {k: round(row[k2] / res[k], 3) for k, k2 in
                      (("lut", "lut"), ("ff", "ff"), ("bram_18k", "bram_18k"))}
        out.append(row)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ir", help="IR JSON (default: the digits preset, untrained, k = 0.5)")
    ap.add_argument("--k", type=float, default=0.5, help="mask density of the preset")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.ir:
        g = Graph.load(args.ir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            g = preset_graph("digits", args.k, Path(tmp))
    table = rows(g)
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    print(f"--lanes auto for {g.name} (margin {MARGIN:.0%} of every resource; units: the "
          f"family's LUT and block RAM)")
    print(f"| board | family (model) | choice | MAC lanes | cycles | frames/s | LUT | FF | BRAM |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        if "error" in r:
            print(f"| {r['board']} | {r['family']} | none: {r['error']} | | | | | | |")
            continue
        u = r["use"]
        print(f"| {r['board']} | {r['family']} ({r['model']}) | {r['config']} | {r['lanes']} | {r['cycles']} | "
              f"{r['frames_per_s']:,.0f} at {r['clock_mhz']:g} MHz | {r['lut']} ({u['lut']:.0%}) | "
              f"{r['ff']} ({u['ff']:.0%}) | {r['bram_18k']} ({u['bram_18k']:.0%}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
