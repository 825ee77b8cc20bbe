"""PyTorch + Brevitas models: supermasked LFSR-weight layers and the folded ResNet builder."""
from .resnet import HfnResNet, build_model
from .presets import PRESETS, get_preset

__all__ = ["HfnResNet", "build_model", "PRESETS", "get_preset"]
