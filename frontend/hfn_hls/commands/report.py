"""``hfn-hls report``: on-chip memory per layer and in total (see hfn_hls.report)."""
from __future__ import annotations

import json

NAME = "report"
HELP = "memory report of a model.onnx or a preset (per layer, totals, reference convention)"


def add_arguments(p) -> None:
    p.add_argument("model", nargs="?", help="model.onnx (or an IR .json)")
    p.add_argument("--preset", help="report a preset instead of a model file")
    p.add_argument("--dataset", help="data set of the preset (input size, classes)")
    p.add_argument("--against", metavar="PRESET",
                   help="dense preset to compare with in the reference convention "
                        "(ratio = its dense_mb / this hidden_mb)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--list", action="store_true", help="list the presets")


def run(args) -> int:
    from ..errors import HfnError
    from ..models import PRESETS, get_preset
    from ..report import format_report, report_graph, report_preset, reference_sizes, \
        preset_layers
    from ._common import load_graph

    if args.list:
        for name, p in PRESETS.items():
            kind = "hfn" if p.hfn else "dense"
            print(f"{name:28s} {kind:5s} {p.block:10s} blocks={list(p.blocks)} "
                  f"default dataset={p.dataset}")
        return 0
    if bool(args.model) == bool(args.preset):
        raise HfnError("hfn-hls report", "give either a model file or --preset",
                       "e.g. 'hfn-hls report model.onnx' or 'hfn-hls report --preset "
                       "hfn_resnet50_3_4_ubn --dataset cifar100'")
    if args.preset:
        r = report_preset(get_preset(args.preset, args.dataset))
    else:
        g = load_graph(args.model)
        preset = None
        if g.meta.get("preset"):
            try:
                preset = get_preset(g.meta["preset"], g.meta.get("dataset"))
            except HfnError:
                preset = None
        r = report_graph(g, preset)
    if args.against:
        other = get_preset(args.against, r["dataset"] if args.dataset is None else args.dataset)
        ref = reference_sizes(preset_layers(other))
        if "hidden_mb" not in r:
            raise HfnError(str(args.model), "the model's preset is unknown, so the reference "
                           "convention cannot be computed", "use --preset")
        r["against"] = {"preset": other.name, "dense_mb": ref["dense_mb"],
                        "ratio": ref["dense_mb"] / r["hidden_mb"]}
    if args.json:
        print(json.dumps(r, indent=1, sort_keys=True))
    else:
        print(format_report(r))
        if "against" in r:
            a = r["against"]
            print(f"against {a['preset']} (dense, {a['dense_mb']:.6f} MB): "
                  f"{a['ratio']:.1f}x less memory")
    return 0
