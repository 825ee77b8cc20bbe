"""The weight-sign LFSR: the one random source that Python, C++ and Verilog share.

Specification: docs/weight-generation.md.  In short: a 32-bit right-shifting Galois
LFSR with feedback mask 0x80200003 (x^32 + x^22 + x^2 + x + 1, primitive, period
2^32 - 1).  One step emits the state's bit 0 and then updates the state.  Bit 0 -> +1,
bit 1 -> -1.  Each generated layer has its own 32-bit seed; a layer's weights consume
its stream in channels-last order [co][kh][kw][ci]; the state at the start of output
channel co (after co * K steps, K = kh*kw*ci) is what hardware lanes load.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

WIDTH = 32
FEEDBACK = 0x80200003
MASK32 = 0xFFFFFFFF


def step(state: int) -> tuple[int, int]:
    """One LFSR step: returns (emitted bit, next state)."""
    bit = state & 1
    state >>= 1
    if bit:
        state ^= FEEDBACK
    return bit, state


def bits(state: int, n: int) -> list[int]:
    """The next n emitted bits from ``state``."""
    out = []
    for _ in range(n):
        b, state = step(state)
        out.append(b)
    return out


def advance(state: int, n: int) -> int:
    """The state after n steps, by GF(2) matrix power (O(log n))."""
    return _matvec(_matpow(n), state)


def leap(state: int, p: int) -> tuple[list[int], int]:
    """Leap-forward by p steps: the p bits a p-lane generator emits in one cycle, and the
    state it holds next.  Identical to p single steps by definition."""
    out = bits(state, p)
    return out, advance(state, p)


def derive_seed(model_seed: int, layer_index: int) -> int:
    """Seed of unique generated layer ``layer_index`` (0-based, in forward order).

    murmur3's 32-bit finaliser of ``model_seed XOR (layer_index+1)*0x9E3779B9``; a zero
    result (the LFSR's lock-up state) is replaced by 1.
    """
    h = (model_seed ^ ((layer_index + 1) * 0x9E3779B9)) & MASK32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK32
    h ^= h >> 16
    return h or 1


def channel_start_states(seed: int, out_channels: int, per_channel: int) -> np.ndarray:
    """State at the start of each output channel's weights: advance(seed, co*K)."""
    jump = _matpow(per_channel)
    states = np.empty(out_channels, dtype=np.uint32)
    s = seed
    for co in range(out_channels):
        states[co] = s
        s = _matvec(jump, s)
    return states


def sign_bits(seed: int, out_channels: int, per_channel: int) -> np.ndarray:
    """All sign bits of a layer, shape (out_channels, per_channel), canonical order.

    Vectorised over output channels (each channel runs from its start state), which is
    exactly how P_out hardware lanes produce them.
    """
    states = channel_start_states(seed, out_channels, per_channel)
    out = np.empty((out_channels, per_channel), dtype=np.uint8)
    fb = np.uint32(FEEDBACK)
    one = np.uint32(1)
    for i in range(per_channel):
        b = states & one
        out[:, i] = b
        states = (states >> one) ^ (fb * b)
    return out


def layer_signs(seed: int, shape_oihw: tuple[int, int, int, int]) -> np.ndarray:
    """±1 signs of a conv weight, returned in PyTorch's OIHW layout (int8).

    The stream is consumed in [co][kh][kw][ci] order and then transposed to OIHW.
    """
    co, ci, kh, kw = shape_oihw
    b = sign_bits(seed, co, kh * kw * ci).reshape(co, kh, kw, ci)
    s = (1 - 2 * b.astype(np.int8))
    return np.ascontiguousarray(s.transpose(0, 3, 1, 2))


# --- GF(2) matrix helpers: a matrix is a tuple of 32 column words -----------------------

def _matvec(cols: tuple[int, ...], v: int) -> int:
    r = 0
    j = 0
    while v:
        if v & 1:
            r ^= cols[j]
        v >>= 1
        j += 1
    return r


def _matmul(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(_matvec(a, c) for c in b)


def _step_matrix() -> tuple[int, ...]:
    return tuple(step(1 << j)[1] for j in range(WIDTH))


_IDENTITY = tuple(1 << j for j in range(WIDTH))


@lru_cache(maxsize=256)
def _matpow(n: int) -> tuple[int, ...]:
    result = _IDENTITY
    base = _step_matrix()
    while n:
        if n & 1:
            result = _matmul(base, result)
        base = _matmul(base, base)
        n >>= 1
    return result
