"""Edge-popup supermask layers whose frozen random weights come from the LFSR.

``w = c * s * m``: ``s`` = ±1 signs from the layer's LFSR stream (docs/weight-generation.md),
``m`` = top-k mask of the learned scores (straight-through gradient), ``c`` = HFN's signed
Kaiming constant ``gain / sqrt(fan_in * k)``.  The forward pass computes
``conv(x, s * m) * c`` — the same value — so that the exported graph holds integer-valued
weights and a separate scalar Mul, which keeps float32 convolution sums exact.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import lfsr
from .seeds import LayerSeed

GAIN = math.sqrt(2.0)


class GetSubnet(torch.autograd.Function):
    """Exact top-k of |scores| per layer, as the HFN/edge-popup reference: sort, zero the
    lowest ``int((1 - k) * numel)``, keep the rest; the gradient passes straight through."""

    @staticmethod
    def forward(ctx, scores: torch.Tensor, k: float) -> torch.Tensor:
        out = torch.zeros_like(scores)
        _, idx = scores.flatten().sort(stable=True)
        j = int((1 - k) * scores.numel())
        out.view(-1)[idx[j:]] = 1.0
        return out

    @staticmethod
    def backward(ctx, g):
        return g, None


def top_k_mask(scores: torch.Tensor, k: float) -> torch.Tensor:
    return GetSubnet.apply(scores.abs(), k)


class HfnConv2d(nn.Module):
    """A masked random conv layer (also the classifier, as a 1x1 conv without bias).

    ``signs`` is a buffer regenerated from ``seed``; only ``scores`` train.  After
    ``freeze()`` the mask is fixed (export / inference).  Give ``seed`` from a
    ``SeedSource`` (a ``LayerSeed``): export then knows the model seed and the layer's
    index; a bare integer seed cannot be exported.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1,
                 padding: int | None = None, *, seed: int, k: float):
        super().__init__()
        self.in_ch, self.out_ch, self.kernel, self.stride = in_ch, out_ch, kernel, stride
        self.padding = kernel // 2 if padding is None else padding
        self.seed, self.k = int(seed), float(k)
        self.seed_origin = ((seed.model_seed, seed.index) if isinstance(seed, LayerSeed)
                            else None)
        self.fan_in = in_ch * kernel * kernel
        self.c = GAIN / math.sqrt(self.fan_in * self.k)
        signs = lfsr.layer_signs(self.seed, (out_ch, in_ch, kernel, kernel))
        self.register_buffer("signs", torch.from_numpy(signs.astype("float32")))
        self.scores = nn.Parameter(torch.empty(out_ch, in_ch, kernel, kernel))
        nn.init.kaiming_uniform_(self.scores, a=math.sqrt(5))
        self.register_buffer("frozen_mask", torch.zeros(0))

    @property
    def frozen(self) -> bool:
        return self.frozen_mask.numel() > 0

    def mask(self) -> torch.Tensor:
        if self.frozen:
            return self.frozen_mask
        return top_k_mask(self.scores, self.k)

    def freeze(self) -> None:
        with torch.no_grad():
            self.frozen_mask = top_k_mask(self.scores, self.k).detach().clone()

    def unfreeze(self) -> None:
        self.frozen_mask = torch.zeros(0, device=self.scores.device)

    def ternary_weight(self) -> torch.Tensor:
        return self.signs * self.mask()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.ternary_weight(), None, self.stride, self.padding)
        return y * self.c

    def extra_repr(self) -> str:
        return (f"{self.in_ch}, {self.out_ch}, kernel={self.kernel}, stride={self.stride}, "
                f"seed=0x{self.seed:08x}, k={self.k}")
