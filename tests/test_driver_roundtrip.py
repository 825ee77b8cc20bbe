"""The PYNQ driver against the SOFTWARE STAND-IN overlay (hfn_hls.driver.software_overlay:
no FPGA; behind its DMA channels sits the golden model fed from the stream words).
Round trips are bit-exact; the bytes the driver DMAs are the testbenches' TDATA words."""
from __future__ import annotations

import numpy as np
import pytest

from hfn_hls import stream_format
from hfn_hls.driver import HfnOverlay, SoftwareOverlay
from hfn_hls.driver.software_overlay import software_allocate
from hfn_hls.errors import HfnError
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.random_graph import random_graph


def _driver(g):
    sw = SoftwareOverlay(g)
    return HfnOverlay(None, g, overlay=sw, allocate=sw.allocate), sw


@pytest.mark.parametrize("seed", [0, 2, 4, 6, 9, 10])
def test_round_trip_bit_exact(seed):
    g = random_graph(seed)
    x = np.random.default_rng(100 + seed).integers(0, 256, (7, *g.input_tensor.shape))
    want = GoldenModel(g).run(x)
    assert want.min() < 0 and len(np.unique(want)) > 3       # a meaningful comparison
    drv, sw = _driver(g)
    got = drv.predict(x)
    assert got.dtype == np.int64 and got.shape == want.shape
    assert np.array_equal(got, want)
    assert len(sw.dma.sendchannel.sent) == 7                  # one DMA transfer per image


def test_round_trip_larger_image():
    g = random_graph(21, max_width=12, image=16, in_ch=3, classes=10)
    x = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3))
    drv, _ = _driver(g)
    assert np.array_equal(drv.predict(x), GoldenModel(g).run(x))
    assert np.array_equal(drv.predict(x[0]), GoldenModel(g).run(x[:1]))   # one HWC image


@pytest.mark.parametrize("cin", [1, 3, 4])
def test_buffer_layout_is_the_testbench_stream(cin):
    g = random_graph(7, in_ch=cin)
    x = np.random.default_rng(cin).integers(0, 256, (2, *g.input_tensor.shape))
    drv, sw = _driver(g)
    drv.predict(x)
    for img, sent in zip(x, sw.dma.sendchannel.sent):
        words = stream_format.pack_image(img)              # what the testbenches drive
        assert sent == b"".join(w.to_bytes(cin, "little") for w in words)
        assert drv.input_bytes(img).tobytes() == sent
    assert sw.core.words_in == [w for img in x for w in stream_format.pack_image(img)]


def test_output_words_are_twos_complement():
    g = random_graph(5)
    x = np.random.default_rng(3).integers(0, 256, (1, *g.input_tensor.shape))
    drv, _ = _driver(g)
    out = drv.predict(x)[0]
    raw = drv._out
    assert raw.dtype == np.uint32
    assert list(raw) == stream_format.pack_outputs(out)       # the m_axis TDATA words


def test_bad_input_and_missing_pynq():
    g = random_graph(1)
    drv, _ = _driver(g)
    with pytest.raises(HfnError, match="input shape"):
        drv.predict(np.zeros((1, 5, 5, 1), dtype=np.int64))
    with pytest.raises(HfnError, match="input codes"):
        drv.predict(np.full((1, *g.input_tensor.shape), 256))
    with pytest.raises(HfnError, match="pynq"):
        HfnOverlay("hfn.bit", g)


def test_stand_in_is_strict():
    """The stand-in refuses what a real DMA would: non-allocated buffers, and a transfer
    that ends (TLAST) in the middle of an image."""
    g = random_graph(1)
    sw = SoftwareOverlay(g)
    with pytest.raises(TypeError):
        sw.dma.sendchannel.transfer(np.zeros(36, np.uint8))
    half = software_allocate((18,), np.uint8)
    sw.dma.sendchannel.transfer(half)
    with pytest.raises(RuntimeError, match="TLAST"):
        sw.dma.sendchannel.wait()


def test_round_trip_cifar_sized():
    """A 32x32x3, 10-class graph with up to 64 channels (resnet20's input and widths)."""
    g = random_graph(30, max_width=64, image=32, in_ch=3, classes=10)
    x = np.random.default_rng(30).integers(0, 256, (2, 32, 32, 3))
    drv, sw = _driver(g)
    want = GoldenModel(g).run(x)
    assert len(np.unique(want)) > 5
    assert np.array_equal(drv.predict(x), want)
    assert [len(s) for s in sw.dma.sendchannel.sent] == [32 * 32 * 3] * 2
