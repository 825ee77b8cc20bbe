"""Packing of images and results on the top's AXI4-Stream ports (docs/interfaces.md).

One implementation shared by the cocotb testbenches, the C++ testbench data writer and
the board driver, so all of them feed the hardware the same bytes.
"""
from __future__ import annotations

import numpy as np

OUT_W = 32


def in_width(channels: int) -> int:
    """TDATA width of the input stream: 8 bits per input channel."""
    return 8 * channels


def pack_image(codes_hwc: np.ndarray) -> list[int]:
    """An image's integer codes (H, W, C), each 0..255, as H*W TDATA words."""
    a = np.asarray(codes_hwc, dtype=np.int64)
    if a.min() < 0 or a.max() > 255:
        raise ValueError("input codes must be 0..255")
    h, w, c = a.shape
    words = []
    for px in a.reshape(h * w, c):
        v = 0
        for ch, code in enumerate(px):
            v |= int(code) << (8 * ch)
        words.append(v)
    return words


def unpack_image(words: list[int], shape_hwc) -> np.ndarray:
    h, w, c = shape_hwc
    out = np.empty((h * w, c), dtype=np.int64)
    for i, v in enumerate(words):
        for ch in range(c):
            out[i, ch] = (v >> (8 * ch)) & 0xFF
    return out.reshape(h, w, c)


def unpack_outputs(words: list[int]) -> np.ndarray:
    """Output TDATA words (unsigned 32-bit) -> signed int32 codes."""
    a = np.asarray(words, dtype=np.int64) & 0xFFFFFFFF
    return np.where(a >= 1 << 31, a - (1 << 32), a)


def pack_outputs(codes: np.ndarray) -> list[int]:
    return [int(v) & 0xFFFFFFFF for v in np.asarray(codes).reshape(-1)]


def pack_images_bytes(codes_nhwc: np.ndarray) -> np.ndarray:
    """A batch as the contiguous uint8 buffer a DMA sends (little-endian TDATA words)."""
    return np.ascontiguousarray(np.asarray(codes_nhwc, dtype=np.uint8))
