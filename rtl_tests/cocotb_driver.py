"""cocotb test: the PYNQ driver (``hfn_hls.driver.HfnOverlay``) runs unchanged against
the generated RTL.  Its ``overlay.dma`` and ``allocate`` are a model of an AXI DMA in
simple mode whose channels are the RTL's stream ports:

- MM2S ``transfer(buf)`` sends the buffer's bytes as ONE AXI4-Stream packet on
  ``s_axis`` (byte 0 in TDATA bits 7:0, beats of the port's width, TLAST on the last
  beat, as the DMA does); ``wait()`` returns when the last beat was accepted.
- S2MM holds ``m_axis_TREADY`` low unless a transfer is armed; ``wait()`` takes one packet
  (up to TLAST) and writes its bytes from the start of the armed buffer.  A packet longer
  than the buffer, a buffer not made by ``allocate``, a transfer while one is running and
  a wait without a transfer are errors, as on the board.

The driver runs in a bridge thread (``cocotb.task.bridge``) and the DMA model resumes
the simulation for each channel operation (``cocotb.task.resume``).  Monitors record
every packet the RTL consumed on ``s_axis`` and produced on ``m_axis``; the pytest side
(test_driver_rtl.py) checks them against the documented layout and the driver's
numbers.  Config: JSON named by ``HFN_DRIVER_CFG``.
"""
from __future__ import annotations

import json
import os
import traceback

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamMonitor, AxiStreamSink, \
    AxiStreamSource

from hfn_hls.driver import HfnOverlay
from hfn_hls.ir.model import Graph

PERIOD_NS = 10


class DmaBuffer(np.ndarray):
    """Stands in for ``pynq.allocate``'s physically contiguous buffer."""

    physical_address = 0x1000_0000

    def flush(self) -> None:
        pass

    def invalidate(self) -> None:
        pass

    def freebuffer(self) -> None:
        pass


def _check(buf) -> None:
    if not isinstance(buf, DmaBuffer):
        raise TypeError("DMA transfer of a buffer not made by allocate()")


class Mm2s:
    def __init__(self, src: AxiStreamSource, beat_bytes: int):
        self.src, self.beat_bytes, self.active = src, beat_bytes, False

    def transfer(self, buf) -> None:
        _check(buf)
        if self.active:
            raise RuntimeError("MM2S: transfer while the previous one is running")
        data = np.ascontiguousarray(buf).view(np.uint8).reshape(-1).tobytes()
        if len(data) % self.beat_bytes:
            raise RuntimeError(f"MM2S: {len(data)} bytes are not whole "
                               f"{self.beat_bytes}-byte beats")
        self.active = True
        resume(self.src.send)(AxiStreamFrame(data))

    def wait(self) -> None:
        if not self.active:
            raise RuntimeError("MM2S: wait without transfer")
        resume(self.src.wait)()
        self.active = False


class S2mm:
    def __init__(self, sink: AxiStreamSink, timeout_ns: int):
        self.sink, self.timeout_ns, self.buf = sink, timeout_ns, None
        sink.pause = True                         # TREADY low until a transfer is armed

    def transfer(self, buf) -> None:
        _check(buf)
        if self.buf is not None:
            raise RuntimeError("S2MM: transfer while the previous one is running")
        self.buf = buf
        self.sink.pause = False

    async def _recv(self):
        return await with_timeout(self.sink.recv(), self.timeout_ns, "ns")

    def wait(self) -> None:
        if self.buf is None:
            raise RuntimeError("S2MM: wait without transfer")
        frame = resume(self._recv)()
        self.sink.pause = True
        buf, self.buf = self.buf, None
        data = bytes(frame.tdata)
        raw = buf.view(np.uint8).reshape(-1)
        if len(data) > raw.size:
            raise RuntimeError(f"S2MM: a {len(data)}-byte packet into a {raw.size}-byte buffer")
        raw[:len(data)] = np.frombuffer(data, np.uint8)


class SimDma:
    def __init__(self, sendchannel: Mm2s, recvchannel: S2mm):
        self.sendchannel, self.recvchannel = sendchannel, recvchannel


class SimOverlay:
    """What HfnOverlay uses of a ``pynq.Overlay``: the ``dma`` attribute."""

    def __init__(self, dma: SimDma):
        self.dma = dma
        self.allocations: list[tuple[tuple, str]] = []

    def allocate(self, shape, dtype="u4", **_):
        dt = np.dtype(dtype)
        self.allocations.append((tuple(np.atleast_1d(shape).tolist()), dt.str))
        return np.zeros(shape, dtype=dt).view(DmaBuffer)


@cocotb.test()
async def driver_on_rtl(dut):
    cfg = json.loads(open(os.environ["HFN_DRIVER_CFG"]).read())
    graph = Graph.load(cfg["ir"])
    codes = np.load(cfg["inputs"])
    cocotb.start_soon(Clock(dut.ap_clk, PERIOD_NS, unit="ns").start())
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk, dut.ap_rst_n,
                          reset_active_level=False)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk, dut.ap_rst_n,
                         reset_active_level=False)
    mon_in = AxiStreamMonitor(AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk,
                              dut.ap_rst_n, reset_active_level=False)
    mon_out = AxiStreamMonitor(AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk,
                               dut.ap_rst_n, reset_active_level=False)
    beat = len(dut.s_axis_TDATA) // 8
    overlay = SimOverlay(SimDma(Mm2s(src, beat), S2mm(sink, cfg["timeout_cycles"] * PERIOD_NS)))
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 8)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)

    result: dict = {"error": None}
    try:
        drv = HfnOverlay(None, graph, overlay=overlay, allocate=overlay.allocate)
        result["allocations"] = list(overlay.allocations)
        batch = await bridge(drv.predict)(codes)
        single = await bridge(drv.predict)(codes[-1])        # one (H, W, C) image
        result["driver_outputs"] = np.asarray(batch).tolist() + np.asarray(single).tolist()
        result["driver_dtype"] = np.asarray(batch).dtype.str
    except Exception:
        result["error"] = traceback.format_exc()
    await ClockCycles(dut.ap_clk, 4)
    frames = []
    for mon in (mon_in, mon_out):
        got = []
        while not mon.empty():
            got.append(bytes(mon.recv_nowait().tdata).hex())
        frames.append(got)
    result["s_axis_packets"], result["m_axis_packets"] = frames
    with open(cfg["result"], "w") as f:
        json.dump(result, f, indent=1)
    assert result["error"] is None, result["error"]
