"""Brevitas quantisers of the model: all power-of-two scaled (fixed point), so that the
float32 sums in the exported graph are exact and hardware needs only integers
(docs/arithmetic.md)."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import brevitas.nn as qnn
    from brevitas.quant import (Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint,
                                Uint8ActPerTensorFixedPoint)

WEIGHT_BITS = (2, 8)     # stored weights: narrow signed integers of 2..8 bits


def input_quant() -> qnn.QuantIdentity:
    """8-bit unsigned input codes."""
    return qnn.QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint, bit_width=8,
                             return_quant_tensor=False)


def act_quant(bits: int) -> qnn.QuantReLU:
    """ReLU followed by an unsigned ``bits``-bit quantiser."""
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bits,
                         return_quant_tensor=False)


def unsigned_quant(bits: int) -> qnn.QuantIdentity:
    """An unsigned ``bits``-bit quantiser without an activation of its own."""
    return qnn.QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bits,
                             return_quant_tensor=False)


def signed_quant(bits: int) -> qnn.QuantIdentity:
    """A signed ``bits``-bit quantiser (e.g. after a leaky or linear activation).

    Brevitas' power-of-two scaling divides the learned threshold by ``2^(bits-1)`` for
    signed and by ``2^bits`` for unsigned quantisers, so ``signed_quant(b + 1)`` and
    ``unsigned_quant(b)`` with the same learned state have the same scale and agree on
    every non-negative input."""
    return qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=bits,
                             return_quant_tensor=False)


def residual_quant(bits: int) -> qnn.QuantIdentity:
    """The shared signed quantiser of both operands of a residual addition."""
    return signed_quant(bits)


def stored_conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1,
                padding: int | None = None, *, weight_bits: int = 8) -> qnn.QuantConv2d:
    """A conv with ordinary stored weights: narrow signed ``weight_bits``-bit integers times
    one power-of-two scale per tensor (``Int8WeightPerTensorFixedPoint``), no bias."""
    return qnn.QuantConv2d(in_ch, out_ch, kernel, stride=stride,
                           padding=kernel // 2 if padding is None else padding, bias=False,
                           weight_quant=Int8WeightPerTensorFixedPoint,
                           weight_bit_width=int(weight_bits))
