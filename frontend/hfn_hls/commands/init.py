"""``hfn-hls init``: an untrained model for hardware work without data."""
from __future__ import annotations

NAME = "init"
HELP = "create an untrained model (default: HFN with a random supermask) in a run directory"


def add_arguments(p) -> None:
    from .train import add_method_options

    p.add_argument("--preset", required=True, help="network preset (see 'hfn-hls report --list')")
    p.add_argument("--dataset", help="input size / classes: digits, cifar10, cifar100, imagenet")
    p.add_argument("-o", "--output", required=True, metavar="RUN", help="run directory")
    p.add_argument("--model-seed", type=int, default=2021, help="LFSR model seed")
    p.add_argument("--seed", type=int, default=0, help="seed of the random scores / weights")
    p.add_argument("--act-bits", type=int, help="activation width, 2-8 (default 4)")
    add_method_options(p)
    p.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")


def run(args) -> int:
    from ..extras import require
    require("init")
    from ..train import CHECKPOINT, configure, init_model
    from ._common import check_output_dir, quiet
    from .train import check_values, method_options

    quiet()
    check_values(args)
    _, p, _ = configure(args.preset, args.dataset, args.method, args.act_bits,
                        method_options(args))
    out = check_output_dir(args.output, args.force, (CHECKPOINT,))
    init_model(args.preset, out, dataset=args.dataset, model_seed=args.model_seed,
               seed=args.seed, act_bits=args.act_bits, method=args.method,
               **method_options(args))
    print(f"initialised {p.name} ({p.dataset}, --method {args.method}) in "
          f"{out}/{CHECKPOINT}")
    return 0
