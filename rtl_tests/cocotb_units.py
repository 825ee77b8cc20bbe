"""cocotb unit tests of the RTL library blocks against Python: the LFSR leap network
(shared vectors test_vectors/lfsr.json), the mask ROM image, the ternary lane array and
the requant pipeline.  Driven by test_rtl_units.py (one Verilator build for all)."""
from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Timer

CFG = json.loads(open(os.environ["HFN_UNIT_CFG"]).read())


@cocotb.test()
async def lfsr_vectors(dut):
    """Leap-forward network vs the shared vectors: bits of each leap, state after n."""
    vec = json.loads(open(CFG["vectors"]).read())
    checked = 0
    for lv in vec["leap"]:
        dut.leap_state.value = lv["seed"]
        dut.leap_n.value = lv["p"]
        await Timer(1, "ns")
        bits = int(dut.leap_bits.value)
        got = "".join(str((bits >> j) & 1) for j in range(lv["p"]))
        assert got == lv["bits"], (lv["p"], got, lv["bits"])
        assert int(dut.leap_next.value) == lv["next"], lv["p"]
        checked += 1
    for st in vec["streams"]:
        s, out = st["seed"], ""
        while len(out) < len(st["bits"]):
            dut.leap_state.value = s
            dut.leap_n.value = CFG["leap_p"]
            await Timer(1, "ns")
            bits = int(dut.leap_bits.value)
            out += "".join(str((bits >> j) & 1) for j in range(CFG["leap_p"]))
            s = int(dut.leap_next.value)
        assert out[:len(st["bits"])] == st["bits"], st["seed"]
        checked += 1
    assert checked >= 6


@cocotb.test()
async def mask_rom(dut):
    """Every mask ROM word equals the layer's mask bits in lane order."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    exp = CFG["mask_expected"]
    for a, word in enumerate(exp):
        await FallingEdge(dut.clk)
        dut.mask_addr.value = a
        await FallingEdge(dut.clk)
        assert int(dut.mask_q.value) == word, (a, hex(int(dut.mask_q.value)), hex(word))


@cocotb.test()
async def lane_array(dut):
    """P_OUT x P_IN ternary lanes: sum_i mask * (+-x_i) for random signed inputs."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    po, pi, ew = CFG["p_out"], CFG["p_in"], CFG["ew"]
    sw = CFG["sw"]
    rng = np.random.default_rng(1)
    for _ in range(200):
        x = rng.integers(-(1 << (ew - 1)), 1 << (ew - 1), pi)
        sign = rng.integers(0, 2, (po, pi))
        mask = rng.integers(0, 2, (po, pi))
        if _ < 4:   # extremes
            x[:] = -(1 << (ew - 1)) if _ % 2 else (1 << (ew - 1)) - 1
            mask[:] = 1
            sign[:] = _ // 2
        await FallingEdge(dut.clk)
        dut.lanes_x.value = sum((int(v) & ((1 << ew) - 1)) << (i * ew) for i, v in enumerate(x))
        dut.lanes_sign.value = sum(int(b) << k for k, b in enumerate(sign.reshape(-1)))
        dut.lanes_mask.value = sum(int(b) << k for k, b in enumerate(mask.reshape(-1)))
        await FallingEdge(dut.clk)
        raw = int(dut.lanes_sum.value)
        w = mask * (1 - 2 * sign)
        want = w @ x
        for o in range(po):
            v = (raw >> (o * sw)) & ((1 << sw) - 1)
            v -= (v >> (sw - 1)) << sw
            assert v == want[o], (o, v, want[o])


@cocotb.test()
async def requant(dut):
    """Pipelined binary-search requant vs hfn_hls.golden.requant, for each placed op
    (per-channel and shared thresholds, increasing and decreasing channels, fewer
    levels than the stages hold); latency B + 2."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    p, vw, b = CFG["p_out"], CFG["vw"], CFG["stages"]
    lat = b + 2
    for op in CFG["requants"]:
        f = op["fields"]
        dut.rq_en.value = 1
        dut.rq_pc.value = f["pc"]
        dut.rq_s0.value = f["s0"]
        dut.rq_out_min.value = f["out_min"] & ((1 << vw) - 1)
        dut.rq_levels.value = f["levels"]
        dut.rq_base.value = sum(v << (s * CFG["taw"]) for s, v in enumerate(f["bases"]))
        xs, gs = op["x"], op["g"]
        want = op["y"]
        got = []
        for t in range(len(xs) + lat):
            await FallingEdge(dut.clk)
            if t < len(xs):
                dut.rq_x.value = sum((v & ((1 << vw) - 1)) << (o * vw)
                                     for o, v in enumerate(xs[t]))
                dut.rq_g.value = gs[t]
            if t >= lat:
                raw = int(dut.rq_y.value)
                row = []
                for o in range(p):
                    v = (raw >> (o * vw)) & ((1 << vw) - 1)
                    row.append(v - ((v >> (vw - 1)) << vw))
                got.append(row)
        assert got == want, (op["name"], [(i, a, w) for i, (a, w) in enumerate(zip(got, want))
                                          if a != w][:3])
    await ClockCycles(dut.clk, 2)
