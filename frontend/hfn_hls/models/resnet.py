"""The folded ResNet builder (basic and bottleneck blocks) with Brevitas quantisation.

A folded stage is one projection block with its own weights followed by ONE block whose
convolutions run ``iterations`` times; each iteration has its own affine BatchNorm and
its own quantisers ("unshared BN", as in the HFN reference), everything else is
non-affine.  Both operands of every residual addition pass through one shared quantiser,
so the sum is an integer addition in hardware.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import lfsr
from .plan import BlockPlan, plan_blocks  # noqa: F401 (re-exported)
from .presets import DATASETS, Preset
from .quant import act_quant, input_quant, residual_quant
from .supermask import HfnConv2d


class _SeedSource:
    """Hands out layer seeds in construction order (= forward order)."""

    def __init__(self, model_seed: int):
        self.model_seed, self.index = model_seed, 0

    def __call__(self) -> int:
        s = lfsr.derive_seed(self.model_seed, self.index)
        self.index += 1
        return s


class ResidualBlock(nn.Module):
    """Basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1) block, possibly iterated (folded)."""

    def __init__(self, plan: BlockPlan, kind: str, p: Preset, seeds: _SeedSource):
        super().__init__()
        self.plan = plan
        k = p.k
        if kind == "basic":
            specs = [(plan.in_ch, plan.out_ch, 3, plan.stride), (plan.out_ch, plan.out_ch, 3, 1)]
        else:
            specs = [(plan.in_ch, plan.mid_ch, 1, 1), (plan.mid_ch, plan.mid_ch, 3, plan.stride),
                     (plan.mid_ch, plan.out_ch, 1, 1)]
        self.convs = nn.ModuleList(HfnConv2d(i, o, kk, s, seed=seeds(), k=k)
                                   for i, o, kk, s in specs)
        self.shortcut = (HfnConv2d(plan.in_ch, plan.out_ch, 1, plan.stride, 0, seed=seeds(), k=k)
                         if plan.projection else None)
        n, affine = plan.iterations, plan.folded
        self.iters = nn.ModuleList()
        for _ in range(n):
            it = nn.Module()
            it.bns = nn.ModuleList(nn.BatchNorm2d(c.out_ch, affine=affine) for c in self.convs)
            it.acts = nn.ModuleList(act_quant(p.act_bits) for _ in self.convs[:-1])
            it.res_quant = residual_quant(p.res_bits)
            it.shortcut_bn = (nn.BatchNorm2d(plan.out_ch, affine=affine)
                              if self.shortcut is not None else None)
            it.out_act = act_quant(p.act_bits)
            self.iters.append(it)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for it in self.iters:
            h = x
            for conv, bn, act in zip(self.convs[:-1], it.bns, it.acts):
                h = act(bn(conv(h)))
            r = it.res_quant(it.bns[-1](self.convs[-1](h)))
            if self.shortcut is not None:
                sc = it.res_quant(it.shortcut_bn(self.shortcut(x)))
            else:
                sc = it.res_quant(x)
            x = it.out_act(r + sc)
        return x


class HfnResNet(nn.Module):
    """Input quantiser, stem, stages of residual blocks, global average pool, classifier."""

    def __init__(self, p: Preset, model_seed: int = 2021):
        super().__init__()
        if not p.hfn:
            raise ValueError("dense presets are for the memory report only")
        self.preset, self.model_seed = p, int(model_seed)
        in_ch, h, w, classes, stem = DATASETS[p.dataset]
        self.input_shape, self.classes = (in_ch, h, w), classes
        seeds = _SeedSource(self.model_seed)
        self.input_quant = input_quant()
        if stem == "imagenet":
            self.stem = HfnConv2d(in_ch, p.stem_width, 7, 2, 3, seed=seeds(), k=p.k)
        else:
            self.stem = HfnConv2d(in_ch, p.stem_width, 3, 1, 1, seed=seeds(), k=p.k)
        self.maxpool = stem == "imagenet"
        self.stem_bn = nn.BatchNorm2d(p.stem_width, affine=False)
        self.stem_act = act_quant(p.act_bits)
        self.plan = plan_blocks(p)
        self.blocks = nn.ModuleList(ResidualBlock(b, p.block, p, seeds)
                                    for stage in self.plan for b in stage)
        last = self.plan[-1][-1].out_ch
        self.fc = HfnConv2d(last, classes, 1, 1, 0, seed=seeds(), k=p.k)

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
        """Unique generated layers in forward (= seed) order."""
        return [(n, m) for n, m in self.named_modules() if isinstance(m, HfnConv2d)]

    def freeze(self) -> None:
        for _, m in self.hfn_layers():
            m.freeze()

    def unfreeze(self) -> None:
        for _, m in self.hfn_layers():
            m.unfreeze()


def build_model(p: Preset, model_seed: int = 2021) -> HfnResNet:
    return HfnResNet(p, model_seed)
