"""The weight-source registry: an IR layer's ``source`` names one entry here.

``SOURCES`` is the registry list: each name is a module of this package that defines one
``WeightSource`` subclass decorated with ``@register``.  Adding a source adds its module
(and its C++ header, Verilog generator and tests) and its name to ``SOURCES``; see
docs/weight-sources.md.
"""
from __future__ import annotations

import importlib

import numpy as np

from ..errors import HfnError
from .base import (GeneratorCost, HlsGenerator, RomImage, RtlGenerator, WeightQuant,
                   WeightSource)

SOURCES = ("hfn", "stored", "rpg", "smh")

REGISTRY: dict[str, WeightSource] = {}


def register(cls: type[WeightSource]) -> type[WeightSource]:
    """Class decorator: make ``cls`` the source named ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    REGISTRY[cls.name] = cls()
    return cls


def get_source(name: str) -> WeightSource:
    try:
        return REGISTRY[name]
    except KeyError:
        raise HfnError(f"weight source {name!r}", "not a registered weight source",
                       f"known sources: {', '.join(sorted(REGISTRY))}") from None


def layer_weights(layer, graph=None) -> np.ndarray:
    """The integer weights of an IR layer, int64 [co, kh, kw, ci]."""
    return get_source(layer.source).weights(layer, graph)


def layer_bias(layer, graph=None) -> np.ndarray | None:
    return get_source(layer.source).bias(layer, graph)


for _name in SOURCES:            # each module registers its source with @register
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["REGISTRY", "SOURCES", "GeneratorCost", "HlsGenerator", "RomImage", "RtlGenerator",
           "WeightQuant", "WeightSource", "get_source", "layer_bias", "layer_weights", "register"]
