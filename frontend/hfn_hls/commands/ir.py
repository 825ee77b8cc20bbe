"""``hfn-hls ir``: build and verify the IR of a QONNX model; optionally save it as JSON."""
from __future__ import annotations

NAME = "ir"
HELP = "build the verified integer IR of a model.onnx (and save it as JSON)"


def add_arguments(p) -> None:
    p.add_argument("model", help="model.onnx (or an IR JSON file, to check it)")
    p.add_argument("-o", "--output", help="write the IR JSON here")
    p.add_argument("--force", action="store_true", help="overwrite an existing IR JSON file")


def run(args) -> int:
    from pathlib import Path

    from .. import atomic
    from ._common import check_output_file, is_ir_file, load_graph

    out = check_output_file(args.output, args.force, is_ir_file, "an IR JSON file",
                            inputs=(args.model,)) if args.output else None
    g = load_graph(args.model)
    n_ops = sum(1 for _ in g.walk())
    folds = [f"{o.name} x{o.attrs['iterations']}" for o in g.ops if o.kind == "fold"]
    by = {}
    for layer in g.layers.values():
        by[layer.source] = by.get(layer.source, 0) + 1
    layers = ", ".join(f"{n} {src}" for src, n in sorted(by.items())) or "none"
    if Path(args.model).suffix == ".json":
        checked = "IR JSON checked (schema, references, shapes, params, proven ranges)"
    else:
        checked = "weights verified against the model's weight sources" + (
            " (generated: the LFSR and masks)" if "hfn" in by else "")
    print(f"{g.name}: {n_ops} ops, layers: {layers}, folds: {', '.join(folds) or 'none'}; "
          f"{checked}")
    if out:
        atomic.write_file(out, g.to_json())
        print(f"wrote {out}")
    return 0
