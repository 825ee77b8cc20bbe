"""The ``hfn-hls`` command: one sub-command per module in ``hfn_hls.commands``.

Each command module has ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``
(returning an exit code).  An ``HfnError`` becomes one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Order is the order of the help text: the flow from model to board.
COMMANDS = ["init", "train", "export", "report", "ir", "generate", "csim", "sim", "synth"]


def _available() -> list:
    mods = []
    for name in COMMANDS:
        try:
            mods.append(importlib.import_module(f"hfn_hls.commands.{name}"))
        except ModuleNotFoundError as e:
            if e.name != f"hfn_hls.commands.{name}":
                raise
    return mods


def main(argv: list[str] | None = None) -> int:
    from .errors import HfnError

    parser = argparse.ArgumentParser(
        prog="hfn-hls",
        description="Compile quantized Hidden-Fold Networks to FPGA hardware whose weights "
                    "are generated on chip.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners = {}
    for mod in _available():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        runners[mod.NAME] = mod.run
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(runners[args.command](args) or 0)
    except HfnError as e:
        print(f"hfn-hls {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hfn-hls {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
