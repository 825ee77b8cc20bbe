"""cocotb unit tests of the RTL library blocks against Python: the LFSR leap network
(shared vectors test_vectors/lfsr.json), the ``hfn`` weight generator against the layer's
weights, the ``stored`` weight generator against its layer's weights and the lane array
(ternary and multiplying).  Driven by test_rtl_units.py (one Verilator build for all); the
requant unit: cocotb_requant.py."""
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


def _pack(values, width: int) -> int:
    return sum((int(v) & ((1 << width) - 1)) << (k * width) for k, v in enumerate(values))


def _unpack(raw: int, width: int, n: int) -> list[int]:
    out = []
    for k in range(n):
        v = (raw >> (k * width)) & ((1 << width) - 1)
        out.append(v - ((v >> (width - 1)) << width))
    return out


async def _generator(dut, out, wb: int, wc: dict) -> None:
    """A weight generator's port contract: for every group and two output pixels, each
    issued chunk gives, one cycle later on ``out``, the layer's weights (o, i) as WB-bit
    two's complement values (0 for padding lanes)."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    po, pi = CFG["p_out"], CFG["p_in"]
    dut.gen_issue.value = 0
    dut.gen_first.value = 0
    checked = 0
    groups = sorted({c["g"] for c in wc["chunks"]})
    for g in groups:
        chunks = [c for c in wc["chunks"] if c["g"] == g]
        await FallingEdge(dut.clk)
        dut.gen_group.value = wc["gbase"] + g
        await ClockCycles(dut.clk, 2)                 # group held >= 2 cycles before issue
        for pixel in range(2):
            for idx, c in enumerate(chunks):
                await FallingEdge(dut.clk)
                if idx:
                    got = _unpack(int(out.value), wb, po * pi)
                    assert got == [v for row in chunks[idx - 1]["w"] for v in row], \
                        (g, pixel, idx)
                    checked += 1
                dut.gen_issue.value = 1
                dut.gen_first.value = int(idx == 0)
                dut.gen_n.value = c["n"]
                dut.gen_chunk.value = wc["cbase"] + g * wc["kch"] + idx
            await FallingEdge(dut.clk)
            dut.gen_issue.value = 0
            got = _unpack(int(out.value), wb, po * pi)
            assert got == [v for row in chunks[-1]["w"] for v in row], (g, pixel, "last")
            checked += 1
    assert checked == 2 * len(wc["chunks"])


@cocotb.test()
async def weight_generator(dut):
    """The hfn generator (2-bit weights: +1 / -1 / 0)."""
    await _generator(dut, dut.gen_w, 2, CFG["weights"])


@cocotb.test()
async def stored_weight_generator(dut):
    """The stored generator (its ROM words from weights.stored, WB-bit weights, a layer
    placed after another one, odd channel counts: padding lanes)."""
    await _generator(dut, dut.sgen_w, CFG["stored"]["wb"], CFG["stored"])


@cocotb.test()
async def lane_array(dut):
    """P_OUT x P_IN lanes, sum_i w(o, i) * x_i for random signed inputs: WB = 2 (ternary,
    add / subtract / skip) and WB = 4 (multiply), extremes included."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    po, pi, ew, wbm = CFG["p_out"], CFG["p_in"], CFG["ew"], CFG["wb_mul"]
    sw2, swm = CFG["sw2"], CFG["swm"]
    rng = np.random.default_rng(1)
    for t in range(300):
        x = rng.integers(-(1 << (ew - 1)), 1 << (ew - 1), pi)
        w2 = rng.integers(-1, 2, (po, pi))
        wm = rng.integers(-(1 << (wbm - 1)), 1 << (wbm - 1), (po, pi))
        if t < 4:   # extremes: all inputs at one end, all weights at one end
            x[:] = -(1 << (ew - 1)) if t % 2 else (1 << (ew - 1)) - 1
            w2[:] = 1 - 2 * (t // 2)
            wm[:] = -(1 << (wbm - 1)) if t // 2 else (1 << (wbm - 1)) - 1
        await FallingEdge(dut.clk)
        dut.lanes_x.value = _pack(x, ew)
        dut.lanes_w2.value = _pack(w2.reshape(-1), 2)
        dut.lanes_wm.value = _pack(wm.reshape(-1), wbm)
        await FallingEdge(dut.clk)
        assert _unpack(int(dut.lanes_sum2.value), sw2, po) == (w2 @ x).tolist(), t
        assert _unpack(int(dut.lanes_summ.value), swm, po) == (wm @ x).tolist(), t
