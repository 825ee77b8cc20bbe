"""SOFTWARE STAND-IN for the PYNQ overlay: not hardware, used by tests and demos without a
board.  It offers what ``HfnOverlay`` uses from PYNQ — ``overlay.dma.sendchannel`` /
``recvchannel`` with ``transfer``/``wait`` and an ``allocate``-like buffer factory — and
behind the DMA it puts a model of the core that sees only the stream: it cuts the sent
bytes into s_axis TDATA words, unpacks them with ``stream_format``, runs the golden
model, and returns m_axis words with TLAST on each image's last class.  So a round trip
through it exercises the driver's own packing, not a shortcut.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from .. import stream_format
from ..golden import GoldenModel
from ..ir.model import Graph


class SoftwareBuffer(np.ndarray):
    """Stands in for ``pynq.allocate``'s contiguous buffer (only those can be DMA'd)."""

    physical_address = 0

    def flush(self) -> None:
        pass

    def invalidate(self) -> None:
        pass

    def freebuffer(self) -> None:
        pass


def software_allocate(shape, dtype=np.uint32) -> SoftwareBuffer:
    return np.zeros(shape, dtype=dtype).view(SoftwareBuffer)


class _Core:
    """The stream behaviour of hfn_top: pixels in, class codes out (golden arithmetic)."""

    def __init__(self, graph: Graph):
        self.golden = GoldenModel(graph)
        self.shape = tuple(graph.input_tensor.shape)
        self.pending = bytearray()          # bytes of a partial image
        self.out_packets: deque[list[int]] = deque()
        self.words_in: list[int] = []       # every s_axis TDATA word seen (for tests)

    def accept(self, data: bytes, tlast_at_end: bool) -> None:
        h, w, c = self.shape
        self.pending += data
        img_bytes = h * w * c
        if len(self.pending) % c:
            raise RuntimeError("software core: a transfer ended inside a pixel")
        while len(self.pending) >= img_bytes:
            chunk, self.pending = bytes(self.pending[:img_bytes]), self.pending[img_bytes:]
            words = [int.from_bytes(chunk[i:i + c], "little") for i in range(0, img_bytes, c)]
            self.words_in += words
            codes = stream_format.unpack_image(words, self.shape)
            self.out_packets.append(stream_format.pack_outputs(self.golden.run(codes[None])[0]))
        if tlast_at_end and self.pending:
            # DMA raises TLAST on the transfer's last beat; the core expects it only on
            # an image's last pixel (docs/interfaces.md).
            raise RuntimeError("software core: TLAST in the middle of an image")


class _SendChannel:
    def __init__(self, core: _Core):
        self.core, self.active = core, None
        self.sent: list[bytes] = []

    def transfer(self, buf) -> None:
        if not isinstance(buf, SoftwareBuffer):
            raise TypeError("DMA transfer needs a buffer from allocate()")
        if self.active is not None:
            raise RuntimeError("MM2S: transfer while the previous one is running")
        self.active = bytes(np.ascontiguousarray(buf).tobytes())

    def wait(self) -> None:
        if self.active is None:
            raise RuntimeError("MM2S: wait without transfer")
        data, self.active = self.active, None
        self.sent.append(data)
        self.core.accept(data, tlast_at_end=True)


class _RecvChannel:
    def __init__(self, core: _Core):
        self.core, self.active = core, None

    def transfer(self, buf) -> None:
        if not isinstance(buf, SoftwareBuffer):
            raise TypeError("DMA transfer needs a buffer from allocate()")
        if self.active is not None:
            raise RuntimeError("S2MM: transfer while the previous one is running")
        self.active = buf

    def wait(self) -> None:
        if self.active is None:
            raise RuntimeError("S2MM: wait without transfer")
        if not self.core.out_packets:
            raise RuntimeError("S2MM: no packet from the core (it would hang here)")
        words = self.core.out_packets.popleft()
        buf, self.active = self.active, None
        raw = np.asarray(words, dtype="<u4").tobytes()
        if len(raw) > buf.nbytes:
            raise RuntimeError("S2MM: packet longer than the buffer")
        # simple-mode S2MM writes the packet's bytes from the buffer's start, up to TLAST
        buf.view(np.uint8).reshape(-1)[:len(raw)] = np.frombuffer(raw, np.uint8)


class _Dma:
    def __init__(self, core: _Core):
        self.sendchannel, self.recvchannel = _SendChannel(core), _RecvChannel(core)


class SoftwareOverlay:
    """Use as ``HfnOverlay(None, graph, overlay=SoftwareOverlay(graph),
    allocate=software_allocate)``.  Software only: no FPGA is involved."""

    is_software_stand_in = True

    def __init__(self, graph: Graph):
        self.core = _Core(graph)
        self.dma = _Dma(self.core)

    @staticmethod
    def allocate(shape, dtype=np.uint32) -> SoftwareBuffer:
        return software_allocate(shape, dtype)
