"""Residual blocks built from pluggable conv layers: the pieces of every network here.

A block is basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1) and may be *folded*: its convs
run ``iterations`` times, each iteration with its own BatchNorm and quantisers
("unshared BN", as in the HFN reference), always with an identity shortcut.  Both
operands of the residual addition pass through one shared signed quantiser, so the sum is
an integer addition in hardware.

The conv layers come from a factory ``conv(in_ch, out_ch, kernel, stride, pad)``, so the
same block serves every training method: ``hfn_conv(seeds, k)`` (LFSR x supermask),
``stored_conv_factory(bits)`` (Brevitas integers), and later RPG / SMH layers.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn as nn

from .quant import act_quant, residual_quant, stored_conv
from .seeds import SeedSource
from .supermask import HfnConv2d

ConvFactory = Callable[[int, int, int, int, int], nn.Module]


def hfn_conv(seeds: SeedSource, k: float) -> ConvFactory:
    """Generated layers: each conv takes the next seed of ``seeds`` and keeps fraction k."""
    def make(in_ch: int, out_ch: int, kernel: int, stride: int, pad: int) -> HfnConv2d:
        return HfnConv2d(in_ch, out_ch, kernel, stride, pad, seed=seeds(), k=k)
    return make


def stored_conv_factory(weight_bits: int) -> ConvFactory:
    """Ordinary stored layers: ``weight_bits``-bit integers, power-of-two per-tensor scale."""
    def make(in_ch: int, out_ch: int, kernel: int, stride: int, pad: int) -> nn.Module:
        return stored_conv(in_ch, out_ch, kernel, stride, pad, weight_bits=weight_bits)
    return make


def merged_spec(a: tuple, b: tuple) -> tuple:
    """(in, out, kernel, stride, pad) of conv ``a`` followed by conv ``b`` as ONE conv:
    kernel ``ka + sa (kb - 1)``, stride ``sa sb``, pad ``pa + sa pb`` (Layer Folding)."""
    ia, _, ka, sa, pa = a
    _, ob, kb, sb, pb = b
    return (ia, ob, ka + sa * (kb - 1), sa * sb, pa + sa * pb)


class ResidualBlock(nn.Module):
    """A residual block, possibly folded (one set of convs run ``iterations`` times).

    Give either ``conv`` (a factory) or ``seeds`` (+ ``k``) for generated HFN layers.
    ``act`` / ``out_act`` make the activation + quantiser after an inner BatchNorm / after
    the addition (default: ReLU + unsigned ``act_bits``); ``bn_affine`` defaults to
    ``folded`` (the HFN rule: only folded blocks have learned BN affine parameters).
    ``merged`` lists inner activations removed by Layer Folding: the convs on both sides of
    each are one conv (``merged_spec``).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, *,
                 conv: ConvFactory | None = None, seeds: SeedSource | None = None,
                 k: float = 0.5, iterations: int = 1, folded: bool | None = None,
                 kind: str = "basic", mid_ch: int | None = None,
                 projection: bool | None = None, act_bits: int = 4,
                 res_bits: int | None = None, act: Callable[[], nn.Module] | None = None,
                 out_act: Callable[[], nn.Module] | None = None,
                 bn_affine: bool | None = None, merged: Iterable[int] = (),
                 name: str | None = None):
        super().__init__()
        if conv is None:
            if seeds is None:
                raise ValueError("give conv= (a layer factory) or seeds= (a SeedSource)")
            conv = hfn_conv(seeds, k)
        folded = iterations > 1 if folded is None else bool(folded)
        if projection is None:
            projection = stride != 1 or in_ch != out_ch
        if folded and projection:
            raise ValueError("a folded block has an identity shortcut (same channels, stride 1)")
        if iterations < 1:
            raise ValueError("iterations must be >= 1")
        res_bits = act_bits + 1 if res_bits is None else res_bits
        act = act or (lambda: act_quant(act_bits))
        out_act = out_act or (lambda: act_quant(act_bits))
        affine = folded if bn_affine is None else bool(bn_affine)
        self.kind, self.folded, self.iterations = kind, folded, int(iterations)
        self.fold_name = name
        mid = out_ch if mid_ch is None else mid_ch
        if kind == "basic":
            specs = [(in_ch, out_ch, 3, stride, 1), (out_ch, out_ch, 3, 1, 1)]
        elif kind == "bottleneck":
            specs = [(in_ch, mid, 1, 1, 0), (mid, mid, 3, stride, 1), (mid, out_ch, 1, 1, 0)]
        else:
            raise ValueError(f"unknown block kind {kind!r}")
        self.merged = tuple(sorted(set(int(m) for m in merged)))
        for j in reversed(self.merged):
            if not 0 <= j < len(specs) - 1:
                raise ValueError(f"no inner activation {j} in a {kind} block")
            specs[j:j + 2] = [merged_spec(specs[j], specs[j + 1])]
        self.convs = nn.ModuleList(conv(*s) for s in specs)
        self.shortcut = conv(in_ch, out_ch, 1, stride, 0) if projection else None
        self.iters = nn.ModuleList()
        for _ in range(self.iterations):
            it = nn.Module()
            it.bns = nn.ModuleList(nn.BatchNorm2d(s[1], affine=affine) for s in specs)
            it.acts = nn.ModuleList(act() for _ in specs[:-1])
            it.res_quant = residual_quant(res_bits)
            it.shortcut_bn = nn.BatchNorm2d(out_ch, affine=affine) if projection else None
            it.out_act = out_act()
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


class FoldedBlock(ResidualBlock):
    """One block of ``channels`` run ``iterations`` times (identity shortcut, own BN and
    quantisers per iteration): what an HFN stage folds into."""

    def __init__(self, channels: int, iterations: int, **kw):
        super().__init__(channels, channels, 1, iterations=iterations, folded=True,
                         projection=False, **kw)
