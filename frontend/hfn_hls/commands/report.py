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
    p.add_argument("--rpg-dof", type=float, metavar="F",
                   help="RPG figures of --preset with a ring of F (fraction of the virtual "
                        "conv weights if < 1, else entries)")
    p.add_argument("--rpg-config", metavar="NAME",
                   help="RPG figures of a configuration of the papers: resnet18-one-conv, "
                        "resnet34-resnet18-dof, resnet34-0.25pct")
    p.add_argument("--ring-bits", type=int, default=8, help="RPG ring width (default 8)")


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
    if args.rpg_dof is not None or args.rpg_config:
        return _rpg(args)
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


def _rpg(args) -> int:
    from ..errors import HfnError
    from ..models import get_preset
    from ..rpg_report import PAPER_CONFIGS, format_rpg_report, rpg_report

    if not 4 <= args.ring_bits <= 8:
        raise HfnError(f"--ring-bits {args.ring_bits}", "the ring has 4 to 8 bits", "e.g. 8")
    if args.rpg_config:
        if args.rpg_config not in PAPER_CONFIGS:
            raise HfnError(f"--rpg-config {args.rpg_config}", "unknown configuration",
                           f"choose one of: {', '.join(PAPER_CONFIGS)}")
        name, ds, _ = PAPER_CONFIGS[args.rpg_config]
        r = rpg_report(get_preset(name, args.dataset or ds), ring_bits=args.ring_bits,
                       config=args.rpg_config)
    else:
        if not args.preset or args.model:
            raise HfnError("--rpg-dof", "reports a preset", "add --preset, e.g. --preset "
                           "resnet18 --dataset imagenet")
        if args.rpg_dof <= 0:
            raise HfnError(f"--rpg-dof {args.rpg_dof}", "must be positive", "e.g. 0.1")
        r = rpg_report(get_preset(args.preset, args.dataset), args.rpg_dof, args.ring_bits)
    print(json.dumps(r, indent=1, sort_keys=True) if args.json else format_rpg_report(r))
    return 0
