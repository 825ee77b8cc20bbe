"""The ResNet builder of the presets (basic and bottleneck blocks), Brevitas-quantised.

``ResNet`` takes a conv-layer factory (``models/blocks.py``), so one builder serves every
training method; ``HfnResNet`` is the HFN network (LFSR x supermask layers, stages folded
as the preset says, affine BatchNorm only inside folded blocks).  Other methods build a
preset's stages unfolded (``folded=False``: every block has its own weights).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import ConvFactory, ResidualBlock, hfn_conv
from .plan import BlockPlan, plan_blocks  # noqa: F401 (re-exported)
from .presets import DATASETS, Preset
from .quant import act_quant, input_quant
from .seeds import SeedSource
from .supermask import HfnConv2d

_SeedSource = SeedSource   # the old private name


class ResNet(nn.Module):
    """Input quantiser, stem, stages of residual blocks, global average pool, classifier
    (a 1x1 conv without bias).

    ``bn_affine(folded) -> bool`` says which BatchNorms learn γ, β (HFN: folded blocks
    only; default: all); ``act`` / ``out_act`` make the block activations (default ReLU +
    unsigned quantiser; the stem's is always that); ``merged[block name]`` lists the inner
    activations Layer Folding removed in that block."""

    def __init__(self, p: Preset, conv: ConvFactory, *, folded: bool = True,
                 bn_affine: Callable[[bool], bool] = lambda folded: True,
                 act: Callable[[], nn.Module] | None = None,
                 out_act: Callable[[], nn.Module] | None = None,
                 merged: dict[str, tuple[int, ...]] | None = None):
        super().__init__()
        self.preset = p
        in_ch, h, w, classes, stem = DATASETS[p.dataset]
        self.input_shape, self.classes = (in_ch, h, w), classes
        self.input_quant = input_quant()
        if stem == "imagenet":
            self.stem = conv(in_ch, p.stem_width, 7, 2, 3)
        else:
            self.stem = conv(in_ch, p.stem_width, 3, 1, 1)
        self.maxpool = stem == "imagenet"
        self.stem_bn = nn.BatchNorm2d(p.stem_width, affine=bn_affine(False))
        self.stem_act = act_quant(p.act_bits)
        self.plan = plan_blocks(p if folded else replace(p, folded=(False,) * len(p.folded)))
        merged = merged or {}
        blocks = []
        for stage in self.plan:
            for b in stage:
                blk = ResidualBlock(b.in_ch, b.out_ch, b.stride, conv=conv,
                                    iterations=b.iterations, folded=b.folded, kind=p.block,
                                    mid_ch=b.mid_ch, projection=b.projection,
                                    act_bits=p.act_bits, res_bits=p.res_bits, act=act,
                                    out_act=out_act, bn_affine=bn_affine(b.folded),
                                    merged=merged.get(b.name, ()), name=b.name)
                blk.plan = b
                blocks.append(blk)
        self.blocks = nn.ModuleList(blocks)
        last = self.plan[-1][-1].out_ch
        self.fc = conv(last, classes, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_quant(x)
        x = self.stem_act(self.stem_bn(self.stem(x)))
        if self.maxpool:
            x = F.max_pool2d(x, 3, 2, 1)
        for b in self.blocks:
            x = b(x)
        x = F.adaptive_avg_pool2d(x, 1)
        return torch.flatten(self.fc(x), 1)

    # -- helpers ------------------------------------------------------------------
    def hfn_layers(self) -> list[tuple[str, HfnConv2d]]:
        """Unique generated layers in construction (= seed) order."""
        return [(n, m) for n, m in self.named_modules() if isinstance(m, HfnConv2d)]

    def freeze(self) -> None:
        for _, m in self.hfn_layers():
            m.freeze()

    def unfreeze(self) -> None:
        for _, m in self.hfn_layers():
            m.unfreeze()


class HfnResNet(ResNet):
    """The HFN network of a preset: generated layers seeded in forward order from
    ``model_seed``, stages folded as the preset says, BN affine only in folded blocks."""

    def __init__(self, p: Preset, model_seed: int = 2021):
        if not p.hfn:
            raise ValueError("dense presets are for the memory report only")
        seeds = SeedSource(int(model_seed))
        super().__init__(p, hfn_conv(seeds, p.k), folded=True,
                         bn_affine=lambda folded: folded)
        self.model_seed = int(model_seed)


def build_model(p: Preset, model_seed: int = 2021) -> HfnResNet:
    return HfnResNet(p, model_seed)
