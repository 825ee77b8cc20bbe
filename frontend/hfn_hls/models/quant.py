"""Brevitas quantisers of the model: all power-of-two scaled (fixed point), so that the
float32 sums in the exported graph are exact and hardware needs only integers."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFixedPoint, Uint8ActPerTensorFixedPoint


def input_quant() -> qnn.QuantIdentity:
    """8-bit unsigned input codes."""
    return qnn.QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint, bit_width=8,
                             return_quant_tensor=False)


def act_quant(bits: int) -> qnn.QuantReLU:
    """ReLU followed by an unsigned ``bits``-bit quantiser."""
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bits,
                         return_quant_tensor=False)


def residual_quant(bits: int) -> qnn.QuantIdentity:
    """The shared signed quantiser of both operands of a residual addition."""
    return qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=bits,
                             return_quant_tensor=False)
