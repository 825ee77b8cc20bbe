"""Recurrent Parameter Generator layers (docs/weight-generation.md, "source: rpg").

``RpgRing``: the one shared ring of ``N`` trained parameters, quantised by Brevitas
(signed narrow integers of 4..8 bits, one power-of-two scale per tensor:
``Int8WeightPerTensorFixedPoint`` on a ``QuantLinear`` whose weight is the ring).
``RpgConv2d``: a conv whose weight ``i`` (canonical order ``[co][kh][kw][ci]``) is
``ring[(a*i + b) mod N] * s_i`` times the layer constant ``c = sqrt(2 / (out*k*k))``
(the reference code's fan-out scaling); ``(a, b)`` and the LFSR sign seed follow from the
model seed and the layer's index (``weights/rpg.py``).  The forward pass computes
``conv(x, ring_int[idx] * s) * (ring_scale * c)`` once frozen (export / inference), so
the exported graph holds integer weights and a scalar Mul, as HFN layers do.

``RpgResNet``: a preset's ResNet (stages unfolded) whose every conv (stem, blocks,
projection shortcuts, 1x1 classifier) is an ``RpgConv2d`` on one ring.  The reference
code keeps the stem and the classifier ordinary; here they use the ring too, so that
the chip has one weight source.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import lfsr
from ..weights import rpg as contract

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import brevitas.nn as qnn
    from brevitas.quant import Int8WeightPerTensorFixedPoint


class RpgRing(nn.Module):
    """The ring: ``n`` parameters (normal init) behind a Brevitas per-tensor integer
    quantiser of ``bits`` bits."""

    def __init__(self, n: int, bits: int = 8):
        super().__init__()
        self.n, self.bits = int(n), int(bits)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.quant = qnn.QuantLinear(1, self.n, bias=False,
                                         weight_quant=Int8WeightPerTensorFixedPoint,
                                         weight_bit_width=self.bits)
        nn.init.normal_(self.quant.weight, 0.0, 1.0)

    def quant_weight(self):
        return self.quant.quant_weight()

    def values(self) -> torch.Tensor:
        """The quantised ring (float, straight-through gradients), shape [n]."""
        return self.quant_weight().value.reshape(-1)

    def ints(self) -> np.ndarray:
        with torch.no_grad():
            return self.quant_weight().int().reshape(-1).cpu().numpy().astype(np.int64)

    def scale(self) -> float:
        with torch.no_grad():
            return float(self.quant_weight().scale.reshape(-1)[0])


class RpgConv2d(nn.Module):
    """A conv layer whose weights come from the ring (``bind`` once the ring exists)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1,
                 padding: int | None = None, *, index: int, model_seed: int):
        super().__init__()
        self.in_ch, self.out_ch, self.kernel, self.stride = in_ch, out_ch, kernel, stride
        self.padding = kernel // 2 if padding is None else padding
        self.index, self.model_seed = int(index), int(model_seed)
        self.seed = contract.sign_seed(self.model_seed, self.index)
        self.c = math.sqrt(2.0 / (out_ch * kernel * kernel))
        self.numel = out_ch * in_ch * kernel * kernel
        signs = lfsr.layer_signs(self.seed, (out_ch, in_ch, kernel, kernel))
        self.register_buffer("signs", torch.from_numpy(signs.astype("float32")),
                             persistent=False)
        self.register_buffer("idx", torch.zeros(0, dtype=torch.long), persistent=False)
        self.register_buffer("frozen_w", torch.zeros(0), persistent=False)
        self._ring: list[RpgRing] = []
        self.a = self.b = None
        self.mul = None

    @property
    def ring(self) -> RpgRing:
        return self._ring[0]

    def bind(self, ring: RpgRing) -> None:
        self._ring = [ring]
        self.a, self.b = contract.derive_map(self.model_seed, self.index, ring.n)
        ohwi = (self.out_ch, self.kernel, self.kernel, self.in_ch)
        idx = contract.layer_indices(self.a, self.b, ring.n, ohwi).transpose(0, 3, 1, 2)
        self.idx = torch.from_numpy(np.ascontiguousarray(idx))

    @property
    def frozen(self) -> bool:
        return self.frozen_w.numel() > 0

    def freeze(self) -> None:
        """Integer weights ring_int[idx] * s and the scalar ring_scale * c (inference)."""
        ints = torch.from_numpy(self.ring.ints().astype("float32"))
        self.frozen_w = ints[self.idx] * self.signs
        self.mul = self.ring.scale() * self.c

    def unfreeze(self) -> None:
        self.frozen_w = torch.zeros(0)
        self.mul = None

    def int_weight_ohwi(self) -> np.ndarray:
        ints = self.ring.ints()
        return contract.make_weights(ints, self.a, self.b, self.seed,
                                     (self.out_ch, self.kernel, self.kernel, self.in_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.frozen and not self.training:
            return F.conv2d(x, self.frozen_w, None, self.stride, self.padding) * self.mul
        w = self.ring.values()[self.idx] * self.signs
        return F.conv2d(x, w, None, self.stride, self.padding) * self.c

    def extra_repr(self) -> str:
        return (f"{self.in_ch}, {self.out_ch}, kernel={self.kernel}, stride={self.stride}, "
                f"index={self.index}, a={self.a}, b={self.b}, seed=0x{self.seed:08x}")


def rpg_factory(model_seed: int, made: list):
    """A conv factory for ``ResNet``: layers numbered in construction order."""
    def make(in_ch, out_ch, kernel, stride, pad):
        m = RpgConv2d(in_ch, out_ch, kernel, stride, pad, index=len(made),
                      model_seed=model_seed)
        made.append(m)
        return m
    return make


def build_rpg_resnet(preset, dof: float, bits: int, model_seed: int):
    """The preset's ResNet (unfolded) with every conv on one ring of
    ``contract.ring_size(dof, virtual weights)`` entries."""
    from .resnet import ResNet
    made: list[RpgConv2d] = []
    model = ResNet(preset, rpg_factory(int(model_seed), made), folded=False)
    virtual = sum(m.numel for m in made)
    ring = RpgRing(contract.ring_size(dof, virtual), bits)
    model.ring = ring
    for m in made:
        m.bind(ring)
    model.model_seed = int(model_seed)
    model.virtual_weights = virtual
    return model


def rpg_layers(model) -> list[tuple[str, RpgConv2d]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, RpgConv2d)]


def freeze(model) -> None:
    for _, m in rpg_layers(model):
        m.freeze()


def unfreeze(model) -> None:
    for _, m in rpg_layers(model):
        m.unfreeze()
