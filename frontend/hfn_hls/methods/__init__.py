"""Training methods (``hfn-hls train --method M``): one module per method.

``REGISTRY`` maps a method's name to its module; the module defines ``METHOD``, an
instance of ``base.Method`` that says how to build a preset's model, its options, extra
loss, what runs after each optimiser step and after training, its metrics, checkpoint
contents and export metadata.  ``train.py`` is the generic loop that calls these hooks.
Adding a method = one module here + one line below (docs/methods.md).

Method modules import torch only inside their hooks, so the command line (which lists
every method's options) starts without torch.
"""
from __future__ import annotations

import importlib

from ..errors import HfnError

DEFAULT = "hfn"

# name -> module (hfn_hls.methods.<module>); the order is the order of --help.
REGISTRY: dict[str, str] = {
    "hfn": "hfn",
    "dense": "dense",
    "layerfold": "layerfold",
    "rpg": "rpg",
    "smh": "smh",
}


def names() -> list[str]:
    return list(REGISTRY)


def get_method(name: str | None):
    """The ``Method`` registered under ``name`` (default ``hfn``)."""
    name = name or DEFAULT
    if name not in REGISTRY:
        raise HfnError(f"--method {name}", "unknown training method",
                       f"choose one of: {', '.join(REGISTRY)}")
    return importlib.import_module(f"{__name__}.{REGISTRY[name]}").METHOD


def all_methods() -> list:
    return [get_method(n) for n in REGISTRY]


__all__ = ["REGISTRY", "DEFAULT", "names", "get_method", "all_methods"]
