"""PYNQ driver for a Zynq bitstream made by ``hfn-hls synth PRJ/`` (vendor flow).

The block design (hfn_hls/vendor/vivado_bd.py) has one AXI DMA named ``dma`` in simple
mode: MM2S feeds ``hfn_top/s_axis``, ``hfn_top/m_axis`` feeds S2MM.  The core puts TLAST
on the last class of each image and simple-mode S2MM ends a transfer at TLAST, so the
driver moves one image per transfer pair.  Buffers hold exactly the stream's bytes
(``hfn_hls.stream_format``): H*W*C uint8 channels-last in, one uint32 word per class out.

``pynq`` exists only on the board, so it is imported lazily; tests inject an overlay
and an allocator instead (tests/test_driver_protocol.py: a recording fake;
rtl_tests/test_driver_rtl.py: a DMA model on the RTL simulation).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import stream_format
from ..errors import HfnError
from ..ir.model import Graph


class HfnOverlay:
    """``predict(codes)`` on the FPGA: integer input codes (N, H, W, C) -> int64 (N, classes),
    exactly the golden model's outputs."""

    def __init__(self, bitfile: str | Path | None, ir: Graph | str | Path, *,
                 overlay: Any = None, allocate: Callable | None = None, dma: str = "dma"):
        self.graph = ir if isinstance(ir, Graph) else Graph.load(ir)
        if overlay is None or allocate is None:
            try:
                import pynq
            except ModuleNotFoundError:
                raise HfnError("HfnOverlay", "the pynq package is not installed",
                               "run on the board's PYNQ image, or pass overlay= and "
                               "allocate=") from None
            if overlay is None:
                if bitfile is None or not Path(bitfile).is_file():
                    raise HfnError(str(bitfile), "bitstream not found",
                                   "copy vendor_out/ (hfn.bit, hfn.hwh, ir.json) to the board")
                overlay = pynq.Overlay(str(bitfile))
            allocate = allocate or pynq.allocate
        self.overlay = overlay
        try:
            self.dma = getattr(overlay, dma)
        except AttributeError:
            raise HfnError(str(bitfile), f"the overlay has no DMA named {dma!r}",
                           "use the bitstream built by `hfn-hls synth PRJ/`") from None
        h, w, c = self.graph.input_tensor.shape
        self.in_shape = (h, w, c)
        self.classes = int(np.prod(self.graph.output_tensor.shape))
        self._in = allocate(shape=(h * w * c,), dtype=np.uint8)
        self._out = allocate(shape=(self.classes,), dtype=np.uint32)

    @classmethod
    def from_dir(cls, folder: str | Path, **kw) -> "HfnOverlay":
        """From a copy of PRJ/vendor_out/ (hfn.bit, hfn.hwh, ir.json)."""
        folder = Path(folder)
        return cls(folder / "hfn.bit", folder / "ir.json", **kw)

    def input_bytes(self, image_codes_hwc: np.ndarray) -> np.ndarray:
        """One image as the bytes the DMA sends (the s_axis TDATA words, little-endian)."""
        return stream_format.pack_images_bytes(image_codes_hwc).reshape(-1)

    def predict(self, codes_nhwc: np.ndarray) -> np.ndarray:
        x = np.asarray(codes_nhwc)
        if x.ndim == 3:
            x = x[None]
        t = self.graph.input_tensor
        if x.ndim != 4 or tuple(x.shape[1:]) != self.in_shape:
            raise HfnError("HfnOverlay.predict", f"input shape {list(x.shape)}, expected "
                                                 f"[N, {', '.join(map(str, self.in_shape))}]",
                           "pass integer codes NHWC (GoldenModel.quantize_input)")
        if x.size and (not np.issubdtype(x.dtype, np.integer) or x.min() < t.lo
                       or x.max() > t.hi):
            raise HfnError("HfnOverlay.predict", f"input codes must be integers in "
                                                 f"[{t.lo}, {t.hi}]",
                           "quantise images with GoldenModel.quantize_input")
        out = np.empty((x.shape[0], self.classes), dtype=np.int64)
        for i, img in enumerate(x):
            self._in[:] = self.input_bytes(img)
            self.dma.recvchannel.transfer(self._out)     # arm S2MM before the data comes
            self.dma.sendchannel.transfer(self._in)
            self.dma.sendchannel.wait()
            self.dma.recvchannel.wait()
            out[i] = stream_format.unpack_outputs(list(self._out))
        return out

    def close(self) -> None:
        for b in (self._in, self._out):
            free = getattr(b, "freebuffer", None)
            if free:
                free()
