"""``hfn-hls init``: an untrained model (random scores) for hardware work without data."""
from __future__ import annotations

NAME = "init"
HELP = "create an untrained HFN model (random supermask) in a run directory"


def add_arguments(p) -> None:
    p.add_argument("--preset", required=True, help="network preset (see 'hfn-hls report --list')")
    p.add_argument("--dataset", help="input size / classes: digits, cifar10, cifar100, imagenet")
    p.add_argument("-o", "--output", required=True, metavar="RUN", help="run directory")
    p.add_argument("--model-seed", type=int, default=2021, help="LFSR model seed")
    p.add_argument("--seed", type=int, default=0, help="seed of the random scores")
    p.add_argument("--act-bits", type=int, help="activation width, 2-8 (default 4)")
    p.add_argument("--k", type=float, help="kept fraction of the supermask")
    p.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")


def run(args) -> int:
    from ..extras import require
    require("init")
    from ..errors import HfnError
    from ..models import get_preset
    from ..train import CHECKPOINT, init_model
    from ._common import check_output_dir, quiet

    quiet()
    p = get_preset(args.preset, args.dataset)
    if not p.hfn:
        raise HfnError(f"--preset {args.preset}", "dense baselines exist for the memory report "
                       "only (stored-weight hardware is not generated yet)",
                       "use an HFN preset, or 'hfn-hls report --preset "
                       f"{args.preset}'")
    out = check_output_dir(args.output, args.force, (CHECKPOINT,))
    init_model(args.preset, out, dataset=args.dataset, model_seed=args.model_seed,
               seed=args.seed, act_bits=args.act_bits, k=args.k)
    print(f"initialised {p.name} ({p.dataset}) in {out}/{CHECKPOINT}")
    return 0
