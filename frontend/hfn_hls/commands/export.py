"""``hfn-hls export``: QONNX with the model's metadata inside (any training method)."""
from __future__ import annotations

NAME = "export"
HELP = "export a run to QONNX (model.onnx) with its metadata (HFN seeds, folds, method)"


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", help="run directory (train/init output)")
    p.add_argument("-o", "--output", required=True, help="output .onnx file")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing file written by hfn-hls export")


def run(args) -> int:
    from pathlib import Path

    from ..extras import require
    require("export")
    from ..export import export_model
    from ..train import CHECKPOINT, load_checkpoint
    from ._common import check_output_file, is_onnx_export, quiet

    quiet()
    run_dir = Path(args.run)
    ckpt = run_dir / CHECKPOINT if run_dir.is_dir() else run_dir
    out = check_output_file(args.output, args.force, is_onnx_export,
                            "an ONNX file written by hfn-hls export", inputs=(ckpt,))
    model = load_checkpoint(args.run)
    export_model(model, out)
    print(f"wrote {out}")
    return 0
