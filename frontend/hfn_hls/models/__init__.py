"""PyTorch + Brevitas models: supermasked LFSR-weight layers and the folded ResNet builder.

``presets`` and ``plan`` need no torch; ``HfnResNet`` / ``build_model`` import it lazily.
"""
from .presets import PRESETS, get_preset

__all__ = ["HfnResNet", "build_model", "PRESETS", "get_preset"]


def __getattr__(name: str):
    if name in ("HfnResNet", "build_model"):
        from . import resnet
        return getattr(resnet, name)
    raise AttributeError(name)
