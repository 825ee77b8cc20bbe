"""cocotb test of the compact requant unit (hfn_requant, P lanes) against the golden
model's threshold counts prepared by test_rtl_requant.py."""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

CFG = json.loads(open(os.environ["HFN_RQ_CFG"]).read())


def _pack(values, width: int) -> int:
    return sum((int(v) & ((1 << width) - 1)) << (k * width) for k, v in enumerate(values))


def _unpack(raw: int, width: int, n: int) -> list[int]:
    out = []
    for k in range(n):
        v = (raw >> (k * width)) & ((1 << width) - 1)
        out.append(v - ((v >> (width - 1)) << width))
    return out


def _fields(dut, f: dict, vw: int) -> None:
    m = (1 << vw) - 1
    dut.en.value = f["EN"]
    dut.pc.value = f["PC"]
    dut.tie.value = f["TIE"]
    dut.out_min.value = f["OUT_MIN"] & m
    dut.out_max.value = f["OUT_MAX"] & m
    dut.levels.value = f["LEVELS"]
    dut.base.value = f["BASE"]


@cocotb.test()
async def compact_rows(dut):
    """Every case: one value per lane and cycle, back to back; after the latency N + 2
    each lane's output equals the golden requant of its channel's row (lanes without a
    channel are not compared)."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    p, vw, lat = CFG["p"], CFG["vw"], CFG["latency"]
    checked = 0
    for case in CFG["cases"]:
        _fields(dut, case["fields"], vw)
        xs, gs, want = case["x"], case["g"], case["y"]
        got = []
        for t in range(len(xs) + lat):
            await FallingEdge(dut.clk)
            if t < len(xs):
                dut.in_x.value = _pack(xs[t], vw)
                dut.in_g.value = gs[t]
            if t >= lat:
                got.append(_unpack(int(dut.out_y.value), vw, p))
        for t, (row, w) in enumerate(zip(got, want)):
            for o in range(p):
                if w[o] is None:
                    continue
                assert row[o] == w[o], (case["name"], t, o, xs[t][o], row[o], w[o])
                checked += 1
    assert checked > 1000, checked
    await ClockCycles(dut.clk, 2)


@cocotb.test()
async def bypass(dut):
    """en = 0: the unit passes x through with the same latency."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    p, vw, lat = CFG["p"], CFG["vw"], CFG["latency"]
    f = dict(CFG["cases"][0]["fields"], EN=0)
    _fields(dut, f, vw)
    xs = [[(t * 7919 + o * 104729) % (1 << (vw - 1)) - (1 << (vw - 2)) for o in range(p)]
          for t in range(20)]
    for t in range(len(xs) + lat):
        await FallingEdge(dut.clk)
        if t < len(xs):
            dut.in_x.value = _pack(xs[t], vw)
            dut.in_g.value = 0
        if t >= lat:
            assert _unpack(int(dut.out_y.value), vw, p) == xs[t - lat], t
