"""PyTorch + Brevitas models: supermasked LFSR-weight layers, stored-weight layers, residual
blocks (folded or not) and the ResNet builder of the presets.

The public pieces for building an HFN of one's own (README, "Python API"):
``SeedSource``, ``HfnConv2d``, ``ResidualBlock``, ``FoldedBlock``, ``input_quant``,
``act_quant``, ``residual_quant`` (and ``stored_conv`` for stored-weight layers).

``presets``, ``plan`` and ``seeds`` need no torch; the rest is imported lazily.
"""
from .presets import PRESETS, get_preset
from .seeds import LayerSeed, SeedSource

_LAZY = {
    "HfnResNet": "resnet", "ResNet": "resnet", "build_model": "resnet",
    "HfnConv2d": "supermask",
    "ResidualBlock": "blocks", "FoldedBlock": "blocks", "hfn_conv": "blocks",
    "stored_conv_factory": "blocks",
    "input_quant": "quant", "act_quant": "quant", "residual_quant": "quant",
    "signed_quant": "quant", "stored_conv": "quant",
}

__all__ = ["PRESETS", "get_preset", "LayerSeed", "SeedSource", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
