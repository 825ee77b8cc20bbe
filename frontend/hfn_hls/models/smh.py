"""Structured Multi-Hashing layers (docs/weight-generation.md, "source: smh").

``SmhPool`` holds the two trained factor matrices ``L`` (n x r) and ``R`` (r x n) of a
network; every ``SmhConv2d`` registered with it takes a consecutive slice of the virtual
matrix ``L . R`` (creation order, canonical ``[co][kh][kw][ci]`` order inside the slice).
The forward pass computes exactly what the hardware computes: ``L``, ``R`` quantised to
narrow signed integers with one power-of-two scale each (straight-through gradient), the
integer dot products of the slice, requantised by the layer's shift to ``wbits``-bit
integer weights (docs/arithmetic.md, "SMH weights", straight-through), a convolution with
those integer-valued weights and one scalar Mul by the layer's scale
``sL * sR * 2^shift * c_l * alpha`` (``c_l = sqrt(2 / (kh kw co))``, the reference's
fan-out constant; ``alpha`` a trained scalar, ``|alpha|`` for the classifier).  ``freeze()``
fixes the integer weights and
the scale as constants (export: the ONNX Conv holds integers, the Mul a scalar).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..weights import smh as smh_source


def _pow2_scale(m: torch.Tensor, bits: int) -> float:
    """Brevitas' Int*WeightPerTensorFixedPoint rule: 2^ceil(log2(max|m| / (2^(b-1)-1)))."""
    lim = (1 << (bits - 1)) - 1
    mx = float(m.detach().abs().max())
    if mx == 0.0:
        return 1.0
    return 2.0 ** math.ceil(math.log2(mx / lim))


def _quant_ste(m: torch.Tensor, scale: float, bits: int) -> torch.Tensor:
    """Integer values of ``m / scale`` (round half even, narrow clamp), straight-through."""
    lim = (1 << (bits - 1)) - 1
    x = m / scale
    return x + (torch.round(x).clamp(-lim, lim) - x).detach()


class SmhPool(nn.Module):
    """The shared factors of the SMH layers of one network."""

    def __init__(self, fraction: float | None = None, rank: int | None = None,
                 l_bits: int = 8, r_bits: int = 8, wbits: int = 8):
        super().__init__()
        self.fraction, self.rank_given = fraction, rank
        self.l_bits, self.r_bits, self.wbits = int(l_bits), int(r_bits), int(wbits)
        self._layers: list = []         # plain list: the layers are the model's modules
        self.n = self.rank = self.virtual_weights = 0

    def materialise(self, layers: list) -> None:
        """Give ``layers`` (in creation order) their offsets and create L, R."""
        self._layers = list(layers)
        off = 0
        for lay in self._layers:
            lay.offset = off
            lay._pool = [self]
            off += lay.size
        self.virtual_weights = off
        self.n = smh_source.matrix_side(off, smh_source.N_ALIGN)
        self.rank = int(self.rank_given) if self.rank_given else \
            smh_source.rank_for(float(self.fraction), off, smh_source.N_ALIGN)
        std = math.sqrt(1.0 / math.sqrt(self.rank))      # L.R has unit std (reference)
        self.L = nn.Parameter(torch.randn(self.n, self.rank) * std)
        self.R = nn.Parameter(torch.randn(self.rank, self.n) * std)

    def int_factors(self) -> tuple[torch.Tensor, float, torch.Tensor, float]:
        sl, sr = _pow2_scale(self.L, self.l_bits), _pow2_scale(self.R, self.r_bits)
        return _quant_ste(self.L, sl, self.l_bits), sl, _quant_ste(self.R, sr, self.r_bits), sr

    def layer_weight(self, lay, factors=None) -> tuple[torch.Tensor, float]:
        """(integer-valued weights OIHW with straight-through gradients, the power-of-two
        scale sL * sR * 2^shift) of layer ``lay``; sets ``lay.shift``."""
        Lq, sl, Rq, sr = factors or self.int_factors()
        n = self.n
        r0, r1 = lay.offset // n, (lay.offset + lay.size - 1) // n
        acc = (Lq[r0:r1 + 1] @ Rq).reshape(-1)                 # exact: integers < 2^24
        acc = acc[lay.offset - r0 * n: lay.offset - r0 * n + lay.size]
        with torch.no_grad():
            shift = smh_source.layer_shift(acc.detach().round().to(torch.int64).cpu().numpy(),
                                           self.wbits)
        lay.shift = shift
        lim = (1 << (self.wbits - 1)) - 1
        x = acc / (1 << shift)
        if shift == 0:
            q = acc.detach()
        else:
            q = torch.floor((acc.detach() + (1 << (shift - 1))) / (1 << shift))
        w = x + (q.clamp(-lim, lim) - x).detach()
        co, ci, k = lay.out_ch, lay.in_ch, lay.kernel
        w = w.reshape(co, k, k, ci).permute(0, 3, 1, 2)        # [co][kh][kw][ci] -> OIHW
        return w, sl * sr * float(1 << shift)

    def export_store(self) -> dict:
        """The shared store of the metadata / IR (docs/weight-generation.md)."""
        with torch.no_grad():
            Lq, sl, Rq, sr = self.int_factors()
        L = Lq.detach().round().to(torch.int64).cpu().numpy()
        R = Rq.detach().round().to(torch.int64).cpu().numpy()
        return {"kind": smh_source.KIND, "n": self.n, "rank": self.rank,
                "l_bits": self.l_bits, "r_bits": self.r_bits, "wbits": self.wbits,
                "L": smh_source.encode(L), "R": smh_source.encode(R),
                "virtual_weights": self.virtual_weights, "l_scale": sl, "r_scale": sr}

    def variables(self) -> int:
        return 2 * self.n * self.rank


class SmhConv2d(nn.Module):
    """A conv whose weights are a slice of its pool's ``L . R`` (no bias)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1,
                 padding: int | None = None):
        super().__init__()
        self.in_ch, self.out_ch, self.kernel, self.stride = in_ch, out_ch, kernel, stride
        self.padding = kernel // 2 if padding is None else padding
        self.size = out_ch * in_ch * kernel * kernel
        self.c = math.sqrt(2.0 / (kernel * kernel * out_ch))    # fan-out constant
        # the trained scalar alpha; a layer with ``positive`` (the classifier) scales by
        # |alpha|, so its output codes order the classes as its logits do
        self.alpha = nn.Parameter(torch.ones(()))
        self.positive = False
        self.offset, self.shift = 0, 0
        self._pool: list = []
        self._frozen = None

    @property
    def pool(self) -> SmhPool:
        return self._pool[0]

    def freeze(self) -> None:
        with torch.no_grad():
            w, s = self.pool.layer_weight(self)
            self._frozen = (w.detach().clone(), float(s * self.c * float(self.scalar())))

    def scalar(self) -> torch.Tensor:
        return self.alpha.abs() if self.positive else self.alpha


    def unfreeze(self) -> None:
        self._frozen = None

    def integer_weights(self) -> np.ndarray:
        """The layer's integer weights, int64 [co, kh, kw, ci]."""
        with torch.no_grad():
            w, _ = self.pool.layer_weight(self)
        return w.permute(0, 2, 3, 1).round().to(torch.int64).cpu().numpy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._frozen is not None:
            w, s = self._frozen
            return F.conv2d(x, w, None, self.stride, self.padding) * s
        w, s = self.pool.layer_weight(self)
        return F.conv2d(x, w, None, self.stride, self.padding) * (s * self.c) * self.scalar()

    def extra_repr(self) -> str:
        return (f"{self.in_ch}, {self.out_ch}, kernel={self.kernel}, stride={self.stride}, "
                f"offset={self.offset}")


def smh_conv_factory():
    def make(in_ch: int, out_ch: int, kernel: int, stride: int, pad: int) -> SmhConv2d:
        return SmhConv2d(in_ch, out_ch, kernel, stride, pad)
    return make


def smh_layers(model: nn.Module) -> list[tuple[str, SmhConv2d]]:
    """The SMH layers of a model in creation (= module registration) order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, SmhConv2d)]
