"""``hfn-hls train``: train a preset with a training method (``--method``, default
``hfn``: supermask search); writes the checkpoint and metrics."""
from __future__ import annotations

import json
import os

NAME = "train"
HELP = "train a model (default: search the supermask of an HFN model)"


def add_method_options(p) -> None:
    """``--method`` and every method's own options (each flag once; an option that the
    chosen method does not take is refused when the command runs)."""
    from ..methods import DEFAULT, all_methods, names

    p.add_argument("--method", default=DEFAULT, choices=names(),
                   help="training method (default %(default)s): " +
                   "; ".join(f"{m.name}: {m.help}" for m in all_methods()))
    seen: dict[str, object] = {}
    for m in all_methods():
        for o in m.options:
            if o.flag in seen:
                if seen[o.flag] != o:
                    raise AssertionError(f"methods define {o.flag} differently")
                continue
            seen[o.flag] = o
            users = [x.name for x in all_methods() if o in x.options]
            p.add_argument(o.flag, type=o.type, metavar=o.metavar,
                           help=f"{o.help} [--method {', '.join(users)}]")


def method_options(args) -> dict:
    """The method options given on the command line (name -> value)."""
    from ..methods import all_methods

    dests = {o.dest for m in all_methods() for o in m.options}
    return {d: getattr(args, d) for d in dests if getattr(args, d, None) is not None}


def check_values(args) -> None:
    """The numeric options of train / init, in range (one HfnError naming the flag)."""
    import math

    from ..errors import HfnError
    limits = [("epochs", "--epochs", 1, 100_000), ("batch_size", "--batch-size", 1, 1 << 16),
              ("threads", "--threads", 1, 4096), ("model_seed", "--model-seed", 0, 2**32 - 1),
              ("seed", "--seed", 0, 2**32 - 1), ("act_bits", "--act-bits", 2, 8)]
    for dest, flag, lo, hi in limits:
        v = getattr(args, dest, None)
        if v is not None and not lo <= v <= hi:
            raise HfnError(f"{flag} {v}", f"must be between {lo} and {hi}",
                           f"see 'hfn-hls {args.command} --help'")
    lr = getattr(args, "lr", None)
    if lr is not None and not (math.isfinite(lr) and 0 < lr <= 100):
        raise HfnError(f"--lr {lr}", "the learning rate must be a number in (0, 100]",
                       "e.g. --lr 0.1")


def add_arguments(p) -> None:
    p.add_argument("--preset", required=True, help="network preset, e.g. digits, resnet20")
    p.add_argument("--dataset", help="digits (built in), cifar10, cifar100")
    p.add_argument("--data-dir", help="directory holding the CIFAR python archive")
    p.add_argument("-o", "--output", required=True, metavar="RUN", help="run directory")
    p.add_argument("--epochs", type=int, help="default: the preset's")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, help="learning rate (default: the method's, 0.1)")
    p.add_argument("--act-bits", type=int, help="activation width, 2-8 (default 4)")
    add_method_options(p)
    p.add_argument("--model-seed", type=int, default=2021, help="LFSR model seed")
    p.add_argument("--seed", type=int, default=0, help="seed of scores and data order")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="overwrite an existing run")


def run(args) -> int:
    from ..extras import require
    require("train")
    from ..train import CHECKPOINT, METRICS, configure, train
    from ._common import check_output_dir, quiet

    quiet()
    check_values(args)
    configure(args.preset, args.dataset, args.method, args.act_bits, method_options(args))
    out = check_output_dir(args.output, args.force, (CHECKPOINT, METRICS))
    m = train(args.preset, out, method=args.method, dataset=args.dataset,
              data_dir=args.data_dir, epochs=args.epochs, batch_size=args.batch_size,
              lr=args.lr, model_seed=args.model_seed, seed=args.seed, threads=args.threads,
              progress=not args.no_progress, act_bits=args.act_bits, **method_options(args))
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(m, indent=1, sort_keys=True))
    return 0
