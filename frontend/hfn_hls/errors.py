"""User-facing errors: one message naming the file or layer, the reason and the fix.

The CLI turns an ``HfnError`` into that message on stderr and exit code 2, without a
traceback.  Anything else escaping is a bug in hfn-hls.
"""
from __future__ import annotations


class HfnError(Exception):
    """A problem with the user's input or environment (exit code 2)."""

    def __init__(self, where: str, reason: str, fix: str = ""):
        self.where, self.reason, self.fix = where, reason, fix
        msg = f"{where}: {reason}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)
