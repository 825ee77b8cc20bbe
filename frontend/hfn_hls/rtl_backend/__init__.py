"""The RTL backend: Verilog engine parameters, ROM images, simulation and open synthesis.

``write_rtl`` writes a project's ``rtl/``; ``run_system_sim`` streams images through it
with cocotb + Verilator and compares with the golden model; ``run_open_synth`` runs
Yosys.  See docs/rtl.md.
"""
from __future__ import annotations

from .writer import write_rtl

__all__ = ["write_rtl", "run_system_sim", "run_open_synth", "find_verilator"]


def __getattr__(name: str):
    if name in ("run_system_sim",):
        from . import sim
        return getattr(sim, name)
    if name == "run_open_synth":
        from .synth import run_open_synth
        return run_open_synth
    if name == "find_verilator":
        from .tools import find_verilator
        return find_verilator
    raise AttributeError(name)
