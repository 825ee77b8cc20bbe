"""``PRJ/tb_data/``: the test vectors of a project, and their one checked reader.

``inputs.txt``: one image per line, ``H*W`` TDATA words in hex (8 bits per channel,
``hfn_hls.stream_format``); ``outputs.txt``: the golden model's output codes, one image
per line, ``codes`` signed 32-bit integers.  Both hold exactly ``tb_vectors`` lines
(project.json).  ``csim`` and ``sim`` read them through :func:`load_tb_data`, so a broken
file (empty, truncated, a malformed word, a value out of range) is an HfnError naming the
file and the line — exit 2 — and never a hardware mismatch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import stream_format
from ..errors import HfnError
from .schema import REGENERATE, Project

INPUTS = "tb_data/inputs.txt"
OUTPUTS = "tb_data/outputs.txt"
_HEX = re.compile(r"[0-9a-fA-F]{1,64}")
_INT = re.compile(r"-?[0-9]{1,11}")


@dataclass(frozen=True)
class TbData:
    inputs: np.ndarray          # (N, H, W, C) int64 codes
    outputs: np.ndarray         # (N, codes) int64
    available: int              # vectors in the files (= project.json's tb_vectors)


def _lines(path: Path, count: int) -> list[str]:
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise HfnError(str(path), "is not ASCII text", REGENERATE) from None
    lines = text.splitlines()
    if not lines:
        raise HfnError(str(path), f"is empty (project.json says {count} test vectors)",
                       REGENERATE)
    if len(lines) != count:
        what = "truncated" if len(lines) < count else "longer than expected"
        raise HfnError(str(path), f"{what}: {len(lines)} lines, project.json says {count} "
                       "test vectors", REGENERATE)
    return lines


def load_tb_data(prj: Project, n: int | None = None) -> TbData:
    """The first ``n`` (default all) vectors of ``prj``'s tb_data, checked (module
    docstring)."""
    info = prj.info
    count = info.tb_vectors
    h, w, c = info.input.shape
    max_word = (1 << (8 * c)) - 1
    take = count if n is None else min(n, count)
    f_in, f_out = prj.path(INPUTS), prj.path(OUTPUTS)
    ins, outs = _lines(f_in, count), _lines(f_out, count)
    imgs = np.empty((take, h, w, c), np.int64)
    for i, line in enumerate(ins):
        words = line.split()
        if len(words) != h * w or not all(_HEX.fullmatch(x) for x in words):
            raise HfnError(f"{f_in} line {i + 1}", f"not {h * w} hex TDATA words (one per "
                           "pixel)", REGENERATE)
        vals = [int(x, 16) for x in words]
        if max(vals) > max_word:
            raise HfnError(f"{f_in} line {i + 1}", f"a word exceeds {8 * c} bits", REGENERATE)
        if i < take:
            imgs[i] = stream_format.unpack_image(vals, (h, w, c))
    codes = info.output.codes
    out = np.empty((take, codes), np.int64)
    for i, line in enumerate(outs):
        vals = line.split()
        if len(vals) != codes or not all(_INT.fullmatch(x) for x in vals):
            raise HfnError(f"{f_out} line {i + 1}", f"not {codes} integer output codes",
                           REGENERATE)
        v = [int(x) for x in vals]
        if min(v) < -(1 << 31) or max(v) >= 1 << 31:
            raise HfnError(f"{f_out} line {i + 1}", "a code exceeds 32 bits", REGENERATE)
        if i < take:
            out[i] = v
    return TbData(imgs, out, count)
