"""The PYNQ driver's side of the DMA protocol, against docs/driver.md and
docs/interfaces.md, with a RECORDING fake of the PYNQ parts it uses (no FPGA, no model
of the core: the fake computes nothing, it logs calls and hands back chosen words).
The driver's numbers against the hardware are in rtl_tests/test_driver_rtl.py (the
driver on the RTL simulation)."""
from __future__ import annotations

import numpy as np
import pytest

from hfn_hls.driver import HfnOverlay
from hfn_hls.errors import HfnError
from hfn_hls.ir.random_graph import random_graph


class Buffer(np.ndarray):
    """Stands in for pynq.allocate's buffer."""


class Channel:
    def __init__(self, fake, name):
        self.fake, self.name, self.armed = fake, name, None

    def transfer(self, buf):
        assert isinstance(buf, Buffer), "DMA of a buffer not made by allocate()"
        assert self.armed is None, f"{self.name}: transfer while one is running"
        self.armed = buf
        # MM2S reads the buffer when the transfer starts: record its bytes now
        data = buf.tobytes() if self.name == "send" else None
        self.fake.log.append((f"{self.name}.transfer", id(buf), data))

    def wait(self):
        assert self.armed is not None, f"{self.name}: wait without transfer"
        if self.name == "recv":          # S2MM writes the packet's bytes into the buffer
            words = self.fake.replies.pop(0)
            raw = np.asarray(words, dtype="<u4").tobytes()
            self.armed.view(np.uint8).reshape(-1)[:len(raw)] = np.frombuffer(raw, np.uint8)
        self.fake.log.append((f"{self.name}.wait", id(self.armed), None))
        self.armed = None


class RecordingPynq:
    def __init__(self, replies=()):
        self.log, self.allocs, self.replies = [], [], [list(r) for r in replies]

        class Dma:
            pass
        self.dma = Dma()
        self.dma.sendchannel, self.dma.recvchannel = Channel(self, "send"), Channel(self, "recv")

    def allocate(self, shape, dtype):
        buf = np.zeros(shape, dtype=dtype).view(Buffer)
        self.allocs.append((tuple(np.atleast_1d(shape)), np.dtype(dtype), buf))
        return buf


def documented_bytes(img) -> bytes:
    """docs/driver.md: pixel (h, w), row-major, is bytes C*(h*W + w) ... + C-1."""
    h, w, c = img.shape
    return bytes(int(img[i, j, k]) for i in range(h) for j in range(w) for k in range(c))


# m_axis words and the codes they stand for (32-bit two's complement, docs/interfaces.md)
WORDS = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFF85, 0x00010000, 0xFFFF0000,
         12345, 0xDEADBEEF]
CODES = [0, 1, 2**31 - 1, -2**31, -1, -123, 65536, -65536, 12345, 0xDEADBEEF - 2**32]


@pytest.mark.parametrize("cin", [1, 3, 4])
def test_dma_protocol(cin):
    g = random_graph(7, in_ch=cin, classes=10)
    h, w, c = g.input_tensor.shape
    classes = int(np.prod(g.output_tensor.shape))
    assert (c, classes) == (cin, 10)
    n = 3
    replies = [WORDS[i:] + WORDS[:i] for i in range(n)]
    fake = RecordingPynq(replies)
    drv = HfnOverlay(None, g, overlay=fake, allocate=fake.allocate)
    # two buffers, allocated once: H*W*C bytes in, one uint32 per class out
    assert [(s, d) for s, d, _ in fake.allocs] == [((h * w * c,), np.dtype(np.uint8)),
                                                   ((classes,), np.dtype(np.uint32))]
    in_buf, out_buf = fake.allocs[0][2], fake.allocs[1][2]
    x = np.random.default_rng(cin).integers(0, 256, (n, h, w, c))
    x[0, 0, 0, 0], x[-1, -1, -1, -1] = 255, 0
    out = drv.predict(x)
    assert len(fake.allocs) == 2                      # no allocation per call
    # per image: arm S2MM, start MM2S with the image's bytes, wait for both
    want_log = []
    for img in x:
        want_log += [("recv.transfer", id(out_buf), None),
                     ("send.transfer", id(in_buf), documented_bytes(img)),
                     ("send.wait", id(in_buf), None), ("recv.wait", id(out_buf), None)]
    assert fake.log == want_log
    # results: the words of each packet, class 0 first, as signed codes
    assert out.dtype == np.int64 and out.shape == (n, classes)
    assert out.tolist() == [CODES[i:] + CODES[:i] for i in range(n)]


def test_one_hwc_image_is_one_transfer_pair():
    g = random_graph(5)
    fake = RecordingPynq([WORDS[:int(np.prod(g.output_tensor.shape))]])
    drv = HfnOverlay(None, g, overlay=fake, allocate=fake.allocate)
    img = np.random.default_rng(2).integers(0, 256, g.input_tensor.shape)
    out = drv.predict(img)
    assert [e[0] for e in fake.log] == ["recv.transfer", "send.transfer", "send.wait",
                                        "recv.wait"]
    assert fake.log[1][2] == documented_bytes(img)
    assert out.shape == (1, int(np.prod(g.output_tensor.shape)))
    assert drv.input_bytes(img).tobytes() == documented_bytes(img)


def test_bad_input_and_missing_pynq():
    g = random_graph(1)
    fake = RecordingPynq()
    drv = HfnOverlay(None, g, overlay=fake, allocate=fake.allocate)
    with pytest.raises(HfnError, match="input shape"):
        drv.predict(np.zeros((1, 5, 5, 1), dtype=np.int64))
    with pytest.raises(HfnError, match="input codes"):
        drv.predict(np.full((1, *g.input_tensor.shape), 256))
    with pytest.raises(HfnError, match="input codes"):
        drv.predict(np.full((1, *g.input_tensor.shape), 0.5))
    assert fake.log == []                              # nothing sent
    with pytest.raises(HfnError, match="pynq"):
        HfnOverlay("hfn.bit", g)
