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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), like every other refusal."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} "
                     f"(see '{self.prog} --help')\n")


def os_error_text(e: OSError) -> str:
    """One line for an OS error: the path, the reason, the fix."""
    import errno
    path = e.filename if e.filename is not None else None
    reason = e.strerror or type(e).__name__
    fix = {
        errno.EACCES: "check the permissions, or choose another location",
        errno.EPERM: "check the permissions, or choose another location",
        errno.EROFS: "the file system is read-only: choose another location",
        errno.ENOSPC: "the disk is full: free some space",
        errno.EDQUOT: "the disk quota is exhausted: free some space",
        errno.ENOTDIR: "a file stands where a folder is expected in this path",
        errno.EISDIR: "a folder stands where a file is expected",
        errno.ENOENT: "check the path",
        errno.EEXIST: "remove it or choose another location",
        errno.ENAMETOOLONG: "use a shorter path",
    }.get(e.errno, "check the path and the disk")
    where = str(path) if path is not None else "operating system"
    if e.filename2 is not None:
        where += f" -> {e.filename2}"
    return f"{where}: {reason} ({fix})"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    from .errors import HfnError

    parser = _Parser(
        prog="hfn-hls",
        description="Compile quantized Hidden-Fold Networks to FPGA hardware whose weights "
                    "are generated on chip.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
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
        print(f"hfn-hls {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:              # permissions, a file where a folder is expected, ...
        print(f"hfn-hls {args.command}: error: {_one_line(os_error_text(e))}",
              file=sys.stderr)
        return 2
    except MemoryError:
        print(f"hfn-hls {args.command}: error: out of memory (use a smaller model, fewer "
              "vectors or a bigger machine)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hfn-hls {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
