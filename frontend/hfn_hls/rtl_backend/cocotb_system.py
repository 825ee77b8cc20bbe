"""cocotb system testbench: streams images through ``hfn_top`` and compares every
output code with the golden model.

It only uses the top's AXI4-Stream ports (docs/interfaces.md), so it drives our RTL
or a Vitis-exported one alike.  Configuration comes from the JSON file named by
``HFN_SIM_CFG`` (written by ``sim.run_system_sim``); results go to ``cfg["result"]``.

``cfg["pauses"]`` (optional) = ``{"in": p, "out": q, "seed": s}``: each cycle the input
source idles with probability p (TVALID low between beats) and the output sink refuses
with probability q (TREADY low: back-pressure), from a seeded generator.  Outputs must
stay bit-exact; the cycle figures of such a run include the stalls (throughput is
measured without pauses).
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from hfn_hls import stream_format
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.model import Graph

PERIOD_NS = 10


async def feed(dut, src, codes) -> None:
    """Send each image when the core is ready for it (TREADY rises), so the source does
    not poll every cycle while the core computes: simulation then runs at Verilator's
    speed.  The core still loads image i+1 while it computes image i."""
    for img in codes:
        if not dut.s_axis_TREADY.value:
            await RisingEdge(dut.s_axis_TREADY)
        await src.send(AxiStreamFrame(stream_format.pack_images_bytes(img[None]).tobytes()))
        await src.wait()
        while dut.s_axis_TREADY.value:
            await RisingEdge(dut.ap_clk)


def _bernoulli(p: float, seed: int):
    """Endless pause pattern: True (stall this cycle) with probability p."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < p


@cocotb.test()
async def system(dut):
    cfg = json.loads(open(os.environ["HFN_SIM_CFG"]).read())
    graph = Graph.load(cfg["ir"])
    codes = np.load(cfg["inputs"])
    expected = GoldenModel(graph).run(codes)
    cocotb.start_soon(Clock(dut.ap_clk, PERIOD_NS, unit="ns").start())
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk, dut.ap_rst_n,
                          reset_active_level=False)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk, dut.ap_rst_n,
                         reset_active_level=False)

    pauses = cfg.get("pauses")
    if pauses:
        src.set_pause_generator(_bernoulli(pauses["in"], pauses["seed"]))
        sink.set_pause_generator(_bernoulli(pauses["out"], pauses["seed"] + 1))

    def now() -> int:
        return int(get_sim_time("ns")) // PERIOD_NS
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 8)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)
    start = now()
    cocotb.start_soon(feed(dut, src, codes))
    got, done_at, mismatches, first = [], [], 0, None
    for i in range(len(codes)):
        frame = await with_timeout(sink.recv(), cfg["timeout_cycles"] * PERIOD_NS, "ns")
        done_at.append(now() - start)
        words = [int.from_bytes(bytes(frame.tdata[k:k + 4]), "little")
                 for k in range(0, len(frame.tdata), 4)]
        out = stream_format.unpack_outputs(words)
        got.append(out.tolist())
        bad = int((out.shape != expected[i].shape) or np.count_nonzero(out != expected[i]))
        if bad and first is None:
            first = {"image": i, "got": out.tolist(), "expected": expected[i].tolist()}
        mismatches += bad
    n = len(codes)
    cpi = (done_at[-1] - done_at[0]) / (n - 1) if n > 1 else float(done_at[0])
    result = {"vectors": n, "mismatches": mismatches, "cycles_per_inference": cpi,
              "latency_cycles": done_at[0], "total_cycles": done_at[-1],
              "first_mismatch": first, "outputs": got}
    if pauses:
        result["pauses"] = pauses
    with open(cfg["result"], "w") as f:
        json.dump(result, f, indent=1)
    assert mismatches == 0, f"{mismatches} mismatches with the golden model: {first}"
