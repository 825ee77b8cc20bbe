"""Finding the AMD vendor tools on PATH, and refusing clearly when they are missing.

The flow checks every tool it will need before it writes anything, so a machine
without Vitis/Vivado gets one message naming the tool and the exact commands that
would have run, and the project folder stays untouched.
"""
from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HfnError


@dataclass
class Step:
    """One vendor tool invocation: which executables may run it and with which arguments.

    ``args`` follow the executable; ``by_tool`` overrides them per executable (vitis-run
    and vitis_hls spell "run this TCL" differently); ``env`` is added to the environment.
    The steps themselves are planned in ``hfn_hls.project.toolflow``.
    """

    what: str
    tools: tuple[str, ...]
    args: list[str]
    cwd: Path
    log: str
    by_tool: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, tool: str) -> list[str]:
        return [tool, *self.by_tool.get(tool, self.args)]

    def shell(self, tool: str | None = None) -> str:
        """The command as a user would type it (from ``cwd``), environment first."""
        pre = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        cmd = " ".join(shlex.quote(a) for a in self.argv(tool or self.tools[0]))
        return f"{pre} {cmd}" if pre else cmd


def which(names: tuple[str, ...]) -> str | None:
    """The first of ``names`` found on PATH (its name, so commands stay readable)."""
    for n in names:
        if shutil.which(n):
            return n
    return None


def require(steps: list[Step], where: str) -> dict[str, str]:
    """Map each step's ``what`` to the executable that will run it, or raise one HfnError
    naming every missing tool and the commands that would have run."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for s in steps:
        t = which(s.tools)
        if t is None:
            if " or ".join(s.tools) not in missing:
                missing.append(" or ".join(s.tools))
        else:
            found[s.what] = t
    if missing:
        would = "; ".join(f"[{s.what}] (cd {s.cwd.name} && {s.shell()})" for s in steps)
        raise HfnError(where, f"vendor tool not found on PATH: {', '.join(missing)}; "
                              f"would have run: {would}",
                       "install AMD Vitis/Vivado and source its settings64.sh, "
                       "or use `hfn-hls synth PRJ --open` for Yosys")
    return found
