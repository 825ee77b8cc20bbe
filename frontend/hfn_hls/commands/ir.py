"""``hfn-hls ir``: build and verify the IR of a QONNX model; optionally save it as JSON."""
from __future__ import annotations

NAME = "ir"
HELP = "build the verified integer IR of a model.onnx (and save it as JSON)"


def add_arguments(p) -> None:
    p.add_argument("model", help="model.onnx")
    p.add_argument("-o", "--output", help="write the IR JSON here")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args) -> int:
    from ._common import check_output_file, load_graph

    out = check_output_file(args.output, args.force) if args.output else None
    g = load_graph(args.model)
    n_ops = sum(1 for _ in g.walk())
    folds = [f"{o.name} x{o.attrs['iterations']}" for o in g.ops if o.kind == "fold"]
    by = {}
    for layer in g.layers.values():
        by[layer.source] = by.get(layer.source, 0) + 1
    layers = ", ".join(f"{n} {src}" for src, n in sorted(by.items())) or "none"
    checked = "; generated weights verified against the LFSR" if "hfn" in by else ""
    print(f"{g.name}: {n_ops} ops, layers: {layers}, folds: {', '.join(folds) or 'none'}"
          f"{checked}")
    if out:
        g.save(out)
        print(f"wrote {out}")
    return 0
