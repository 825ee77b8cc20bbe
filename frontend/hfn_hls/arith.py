"""The integer semantics of the IR's ops (docs/arithmetic.md): convolution, threshold
requantisation, max pooling.

``golden.py`` runs whole graphs with these kernels and is the specification the C++ and
the Verilog are checked against; they live here so that ``ir/`` (the random test graphs'
calibration) can use them without importing the golden model.
"""
from __future__ import annotations

import numpy as np


def conv2d(x: np.ndarray, w_ohwi: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Integer convolution, NHWC input, zero padding, weights [co][kh][kw][ci]."""
    n, h, wd, ci = x.shape
    co, kh, kw, _ = w_ohwi.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    cols = np.empty((n, ho, wo, kh, kw, ci), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = xp[:, i:i + stride * ho:stride, j:j + stride * wo:stride, :]
    # float64 products of small integers are exact (|sums| < 2**53): BLAS speed, integer result
    acc = cols.reshape(n * ho * wo, -1).astype(np.float64) @ \
        w_ohwi.reshape(co, -1).T.astype(np.float64)
    return np.rint(acc).astype(np.int64).reshape(n, ho, wo, co)


def requant(x: np.ndarray, thresholds: np.ndarray, direction: np.ndarray,
            out_min: int) -> np.ndarray:
    """y = out_min + #{j : direction[c] * x >= thresholds[c, j]} (per channel c).

    ``thresholds`` is (C, L) or (1, L) (one set shared by all channels), ascending.
    """
    c = x.shape[-1]
    if thresholds.shape[0] == 1:
        thresholds = np.broadcast_to(thresholds, (c, thresholds.shape[1]))
        direction = np.broadcast_to(direction, (c,))
    v = x * direction
    y = np.zeros_like(x)
    for j in range(thresholds.shape[1]):
        y += (v >= thresholds[:, j])
    return y + out_min


def maxpool2d(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """Max pooling; padded positions never win (they are -infinity)."""
    n, h, w, c = x.shape
    lo = np.iinfo(np.int64).min
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=lo)
    ho = (h + 2 * pad - k) // stride + 1
    wo = (w + 2 * pad - k) // stride + 1
    out = np.full((n, ho, wo, c), lo, dtype=np.int64)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, xp[:, i:i + stride * ho:stride, j:j + stride * wo:stride, :])
    return out
