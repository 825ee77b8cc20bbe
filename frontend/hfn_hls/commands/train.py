"""``hfn-hls train``: supermask search on a data set; writes the checkpoint and metrics."""
from __future__ import annotations

import json
import os

NAME = "train"
HELP = "train (search the supermask of) an HFN model"


def add_arguments(p) -> None:
    p.add_argument("--preset", required=True, help="network preset, e.g. digits, resnet20")
    p.add_argument("--dataset", help="digits (built in), cifar10, cifar100")
    p.add_argument("--data-dir", help="directory holding the CIFAR python archive")
    p.add_argument("-o", "--output", required=True, metavar="RUN", help="run directory")
    p.add_argument("--epochs", type=int, help="default: the preset's")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--act-bits", type=int, help="activation width, 2-8 (default 4)")
    p.add_argument("--k", type=float, help="kept fraction of the supermask")
    p.add_argument("--model-seed", type=int, default=2021, help="LFSR model seed")
    p.add_argument("--seed", type=int, default=0, help="seed of scores and data order")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="overwrite an existing run")


def run(args) -> int:
    from ..extras import require
    require("train")
    from ..train import CHECKPOINT, METRICS, train
    from ._common import check_output_dir, quiet

    quiet()
    out = check_output_dir(args.output, args.force, (CHECKPOINT, METRICS))
    m = train(args.preset, out, dataset=args.dataset, data_dir=args.data_dir,
              epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
              model_seed=args.model_seed, seed=args.seed, threads=args.threads,
              progress=not args.no_progress, act_bits=args.act_bits, k=args.k)
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(m, indent=1, sort_keys=True))
    return 0
