"""The PYNQ driver against the generated RTL: ``HfnOverlay.predict`` runs unchanged while
its DMA channels are the RTL's AXI4-Stream ports in a Verilator simulation
(cocotb_driver.py: a model of an AXI DMA in simple mode).  Checked here, each against a
reference that is not the driver's own code:

- the packets the RTL consumed on s_axis are the layout docs/interfaces.md and
  docs/driver.md define (byte C*(h*W+w)+c = code of pixel (h, w), channel c; one packet,
  TLAST on the last pixel, per image), computed with plain loops;
- the driver's numbers are the words the RTL put on m_axis (decoded here as
  little-endian two's complement int32), and they equal what the system testbench
  (run_system_sim) received for the same images;
- the RTL's words are the golden model's codes (so the comparison is not vacuous).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from hfn_hls.golden import GoldenModel
from hfn_hls.ir.model import Graph
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.rtl_backend import write_rtl
from hfn_hls.rtl_backend.sim import TOP, build, run_system_sim
from hfn_hls.rtl_backend.tools import verilator_environment


def run_driver_on_rtl(prj, images: np.ndarray, build_dir) -> dict:
    """HfnOverlay.predict(images) then predict(images[-1]) on the RTL of ``prj``."""
    build_dir = build_dir.resolve()
    with verilator_environment():
        runner = build(prj / "rtl", build_dir)
    np.save(build_dir / "driver_inputs.npy", images.astype(np.int64))
    cfg = {"ir": str((prj / "ir.json").resolve()),
           "inputs": str(build_dir / "driver_inputs.npy"),
           "result": str(build_dir / "driver_result.json"), "timeout_cycles": 200000}
    (build_dir / "driver_cfg.json").write_text(json.dumps(cfg))
    with verilator_environment():
        runner.test(hdl_toplevel=TOP, test_module="cocotb_driver", test_dir=build_dir,
                    build_dir=build_dir,
                    extra_env={"HFN_DRIVER_CFG": str(build_dir / "driver_cfg.json")})
    return json.loads((build_dir / "driver_result.json").read_text())


def documented_bytes(img: np.ndarray) -> bytes:
    """docs/driver.md: pixel (h, w), row-major, is bytes C*(h*W + w) ... + C-1, channel 0
    first."""
    h, w, c = img.shape
    out = bytearray(h * w * c)
    for i in range(h):
        for j in range(w):
            for k in range(c):
                out[c * (i * w + j) + k] = int(img[i, j, k])
    return bytes(out)


def decode_words(packet: bytes) -> list[int]:
    """docs/interfaces.md: one m_axis beat per class, a 32-bit two's complement code."""
    assert len(packet) % 4 == 0
    return [int.from_bytes(packet[k:k + 4], "little", signed=True)
            for k in range(0, len(packet), 4)]


@pytest.mark.parametrize("cin,seed,lanes", [(3, 21, "4x4"), (1, 1, "2x8")])
def test_driver_on_rtl(tmp_path, cin, seed, lanes):
    g = random_graph(seed, max_width=8, image=5, in_ch=cin, classes=6)
    prj = tmp_path / "prj"
    prj.mkdir()
    g.save(prj / "ir.json")
    write_rtl(g, None, parse_lanes(lanes), prj / "rtl")
    shape = tuple(g.input_tensor.shape)
    x = np.random.default_rng(seed).integers(0, 256, (4, *shape))
    x[0, 0, 0] = 255                                   # both ends of the code range
    x[1, -1, -1] = 0
    res = run_driver_on_rtl(prj, x, tmp_path / "build")
    assert res["error"] is None, res["error"]
    n, (h, w, c) = len(x), shape
    classes = int(np.prod(g.output_tensor.shape))

    # the buffers the driver allocated: one image of bytes in, one uint32 per class out
    assert res["allocations"] == [[[h * w * c], "|u1"], [[classes], "<u4"]]

    # what the RTL consumed: one packet per image (TLAST on its last pixel), documented bytes
    sent = [bytes.fromhex(p) for p in res["s_axis_packets"]]
    images = list(x) + [x[-1]]                         # predict(x), then predict(x[-1])
    assert len(sent) == len(images)
    for img, pkt in zip(images, sent):
        assert pkt == documented_bytes(img)

    # what the RTL produced, decoded here: the driver returns exactly that
    hw = np.array([decode_words(bytes.fromhex(p)) for p in res["m_axis_packets"]])
    assert hw.shape == (len(images), classes)
    assert res["driver_dtype"] == "<i8"
    assert np.array_equal(np.array(res["driver_outputs"]), hw)

    # the same images through the system testbench (no driver) give the same words
    tb = run_system_sim(prj, n, images=x, build_dir=tmp_path / "build")
    assert np.array_equal(np.array(tb["outputs"]), hw[:n])
    # and the RTL computes the model: informative outputs, negatives included
    want = GoldenModel(Graph.load(prj / "ir.json")).run(np.array(images))
    assert np.array_equal(hw, want)
    assert hw.min() < 0 and len(np.unique(hw)) > 3
