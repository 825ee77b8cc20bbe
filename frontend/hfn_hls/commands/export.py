"""``hfn-hls export``: QONNX with the model's metadata inside (any training method)."""
from __future__ import annotations

NAME = "export"
HELP = "export a run to QONNX (model.onnx) with its metadata (HFN seeds, folds, method)"


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", help="run directory (train/init output)")
    p.add_argument("-o", "--output", required=True, help="output .onnx file")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args) -> int:
    from ..extras import require
    require("export")
    from ..export import export_model
    from ..train import load_checkpoint
    from ._common import check_output_file, quiet

    quiet()
    out = check_output_file(args.output, args.force)
    model = load_checkpoint(args.run)
    export_model(model, out)
    print(f"wrote {out}")
    return 0

