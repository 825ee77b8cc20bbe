"""``--method dense``: the preset trained with ordinary stored weights — the baseline of
Layer Folding, RPG, SMH and the hls4ml comparison.

Every conv (stem, blocks, projection shortcuts, the 1x1 classifier) is a Brevitas
``QuantConv2d`` without bias whose weights are narrow signed ``--weight-bits``-bit
integers (default 8) times one power-of-two scale per tensor
(``Int8WeightPerTensorFixedPoint``).  Activations and residual quantisers are those of
the HFN models (power-of-two scales, docs/arithmetic.md); every BatchNorm is affine.  The
preset's stages are built unfolded: each block has its own weights.
"""
from __future__ import annotations

from .base import Method, Option, TrainSettings

DEFAULT_WEIGHT_BITS = 8


def check_weight_bits(v):
    return None if v == int(v) and 2 <= v <= 8 else "stored weights have 2 to 8 bits"


WEIGHT_BITS = Option("--weight-bits", f"stored weight width, 2-8 bits (default "
                     f"{DEFAULT_WEIGHT_BITS})", int, check=check_weight_bits)


class Dense(Method):
    name = "dense"
    help = "ordinary stored Brevitas-quantised weights (the baseline)"
    options = (WEIGHT_BITS,)
    settings = TrainSettings(lr=0.1, weight_decay=5e-4)

    def configure(self, preset, given):
        preset, config = super().configure(preset, given)
        if config["weight_bits"] is None:
            config["weight_bits"] = DEFAULT_WEIGHT_BITS
        config["weight_bits"] = int(config["weight_bits"])
        return preset, config

    def build(self, preset, config, model_seed):
        from ..models.blocks import stored_conv_factory
        from ..models.resnet import ResNet
        return ResNet(preset, stored_conv_factory(config["weight_bits"]), folded=False)


METHOD = Dense()
