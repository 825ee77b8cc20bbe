"""Unit test of the compact requant unit (rtl/hfn_requant.v, hfn_requant_lane.v) with
cocotb + Verilator against Python: requants of every kind are placed on one unit by the
RTL writer's own code (``images.RequantImages``, ``design.unit_params``), and the
unit's outputs are compared with the golden model's threshold count
(``hfn_hls.arith.requant``) on the op's thresholds, and with ``ir.requant.unit_count``
(the Python model of the unit's bisection).

Cases (``_cases``): BatchNorm-like per-channel rows over two parameter sets with mixed
directions; shared rows with round-half-to-even ties of both parities; rows made from
random compact parameters with fewer levels than the unit has stages; rows with
exception points; constant rows (every threshold clipped, L = 1); a wide input range with
many fraction bits (extremes); LeakyReLU rows with a knee (the unit then has KNEE = 1:
every other row takes its own word as the second segment); and the bypass (en = 0).
Inputs: random, every threshold and its neighbours, the exception points, the knees and
their neighbours, lo and hi."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np

from hfn_hls.arith import requant
from hfn_hls.ir import requant as rq
from hfn_hls.ir.model import Op, range_bits
from hfn_hls.ir.ranges import Interval
from hfn_hls.lower.program import requant_of
from hfn_hls.paths import RTL_DIR
from hfn_hls.rtl_backend import images as im
from hfn_hls.rtl_backend.design import exception_words, unit_params, clog2, word_width
from hfn_hls.rtl_backend.tools import verilator_environment

P, GW = 4, 2


def _op(name: str, sets: list[dict], out_min: int) -> Op:
    return Op("requant", name, ["x"], "y", {"out_min": out_min, "sets": sets})


def _affine_rows(rng, rows: int, levels: int, lo: int, hi: int, neg_rate=0.3) -> dict:
    """Rows of random real functions round(a·d·x + b) on [lo, hi]: thresholds
    ceil(t0 + j·δ) on d·x (a BatchNorm and a quantiser)."""
    th, d = [], []
    for _ in range(rows):
        dr = -1 if rng.random() < neg_rate else 1
        u_lo, u_hi = (lo, hi) if dr > 0 else (-hi, -lo)
        span = (u_hi - u_lo) * rng.uniform(0.2, 1.1)
        step = span / levels
        t0 = rng.uniform(u_lo - 0.1 * span, u_lo + 0.4 * span)
        th.append(np.ceil(t0 + np.arange(levels) * step).astype(int).tolist())
        d.append(dr)
    return {"thresholds": th, "direction": d}


def _tie_row(levels: int, k: int, b: float) -> list[int]:
    """round_half_even(x / 2^k + b) >= j + 1: the smallest such x (exact, dyadic)."""
    xs = np.arange(-4000, 4000)
    y = np.round(xs / 2.0 ** k + b)
    return [int(xs[np.argmax(y >= j + 1)]) for j in range(levels)]


def _leaky_rows(rng, rows: int, levels: int, lo: int, hi: int) -> dict:
    """Rows of a BatchNorm + LeakyReLU (slope in (0, 1)) + signed quantiser: two slopes,
    a knee each (mixed directions)."""
    xs = np.arange(lo, hi + 1)
    th, d = [], []
    for _ in range(rows):
        a, c = rng.uniform(0.05, 0.9), rng.uniform(lo / 3, hi / 3)
        w = (hi - lo) / levels * rng.uniform(0.4, 0.8)
        sign = 1 if rng.random() < 0.7 else -1
        z = sign * (xs - c) / w
        y = np.clip(np.round(np.where(z >= 0, z, a * z)), -(levels + 1) // 2, levels // 2)
        v, yv = (xs, y) if sign > 0 else (-xs[::-1], y[::-1])
        reach = [yv >= -(levels + 1) // 2 + j + 1 for j in range(levels)]
        th.append([int(v[np.argmax(m)]) if m.any() else int(v[-1]) + 1 for m in reach])
        d.append(sign)
    return {"thresholds": th, "direction": d}


def _cases(rng) -> list[tuple[Op, int, int, int]]:
    """(op, lo, hi, channels) of every kind the unit must handle."""
    out = []
    # per-channel BatchNorm rows, two parameter sets (a folded block), mixed directions
    out.append((_op("bn", [_affine_rows(rng, 6, 15, -900, 700) for _ in range(2)], 0),
                -900, 700, 6))
    # shared rows with ties: x/2 (+1 on even j), and +1 on odd j (a shifted tie pattern)
    out.append((_op("tie_even", [{"thresholds": [_tie_row(15, 1, 0.0)], "direction": [1]}],
                    0), -40, 40, 6))
    odd = [int(1 + 2 * j + (j % 2)) for j in range(15)]          # 1, 4, 5, 8, 9, ...
    out.append((_op("tie_odd", [{"thresholds": [odd], "direction": [1]}], -8), -10, 40, 6))
    out.append((_op("tie_neg", [{"thresholds": [_tie_row(31, 2, 0.5)], "direction": [-1]}],
                    -16), -130, 130, 6))
    # random compact parameters, fewer levels (7) than the unit's stages hold (31)
    rows = []
    for _ in range(5):
        f = int(rng.integers(0, 7))
        b, s = int(rng.integers(-300 << f, 100 << f)), int(rng.integers(1, 90 << f))
        rows.append(rq.compact_thresholds(b, s, f, rq.TIE_NONE, 7).tolist())
    out.append((_op("compact", [{"thresholds": rows, "direction": [1, -1, 1, 1, -1]}], 3),
                -300, 300, 5))
    # exceptions: affine rows with thresholds moved (no compact row reproduces them)
    s = _affine_rows(rng, 7, 31, -500, 500, neg_rate=0.4)
    for r in range(7):
        t = s["thresholds"][r]
        for i in rng.choice(np.arange(1, 30), 3, replace=False):
            t[i] = int(np.clip(t[i] + rng.choice([-2, -1, 1, 2]), t[i - 1], t[i + 1]))
    out.append((_op("exceptions", [s], -16), -500, 500, 7))
    # constant rows: every threshold below lo / above hi; one level
    out.append((_op("constant", [{"thresholds": [[-99], [99], [3], [-99]],
                                  "direction": [1, 1, -1, -1]}], -1), -20, 20, 4))
    # extremes: a wide input range, 31 levels, many fraction bits; 255 levels (8 stages)
    out.append((_op("wide", [_affine_rows(rng, 8, 31, -(1 << 17), 1 << 17)], -16),
                -(1 << 17), 1 << 17, 8))
    out.append((_op("levels255", [_affine_rows(rng, 4, 255, -3000, 3000)], -128),
                -3000, 3000, 4))
    # knees (a LeakyReLU before the quantiser): the unit gets KNEE = 1, and every other
    # case's rows take the second segment's word (their own) from K = lo on
    out.append((_op("leaky", [_leaky_rows(rng, 6, 31, -2500, 2000)], -16), -2500, 2000, 6))
    return out


def _inputs(rng, op: Op, lo: int, hi: int, r, n: int = 48) -> np.ndarray:
    """x per (vector, lane): random, thresholds and neighbours, exception points, ends."""
    th = r.thresholds.reshape(-1)
    edges = np.concatenate([th - 1, th, th + 1, [lo, hi, lo + 1, hi - 1],
                            [x for (_, _, x, _) in r.exceptions],
                            [x + e for (_, _, x, _, _) in r.compact.knees for e in (-1, 0, 1)]]
                           ).astype(np.int64)
    x = rng.integers(lo, hi + 1, (n, P))
    m = rng.random((n, P)) < 0.6
    x[m] = rng.choice(edges, int(m.sum()))
    x[0, :], x[1, :] = lo, hi
    return np.clip(x, lo, hi)


def _wrapper(prm: dict, depths: dict, vw: int, taw: int, nex: int) -> str:
    q = word_width(prm, 0)
    exw = 1 + taw + prm["R0_XW"] + prm["R0_DW"]
    L = ["`default_nettype none", "module rq_top (",
         "    input wire clk,",
         f"    input wire [{P * vw - 1}:0] in_x, input wire [{GW - 1}:0] in_g,",
         "    input wire en, input wire pc, input wire [1:0] tie,",
         f"    input wire [{vw - 1}:0] out_min, input wire [{vw - 1}:0] out_max,",
         f"    input wire [{vw - 1}:0] levels, input wire [{taw - 1}:0] base,",
         f"    output wire [{P * vw - 1}:0] out_y);",
         f"    wire [{taw - 1}:0] ra;",
         f"    wire [{P * q - 1}:0] rom_q;",
         f"    wire [{P * nex * exw - 1}:0] exc;",
         f"    hfn_requant #(.P({P}), .N({prm['N']}), .VW({vw}), .XW({prm['R0_XW']}), "
         f".FU({prm['R0_FU']}), .EW({prm['R0_EW']}), .AW({prm['R0_AW']}), .SW({prm['R0_SW']}),",
         f"        .OW({prm['R0_OW']}), .RAW({taw}), .GW({GW}), .NE({prm['R0_NE']}), "
         f".DW({prm['R0_DW']}), .TIES({prm['R0_TIES']}), .KNEE({prm.get('R0_KNEE', 0)})) u_rq (",
         "        .clk(clk), .in_x(in_x), .in_g(in_g), .en(en), .pc(pc), .tie(tie),",
         "        .out_min(out_min), .out_max(out_max), .levels(levels), .base(base),",
         "        .rom_addr(ra), .rom_q(rom_q), .exc(exc), .out_y(out_y));"]
    for o in range(P):
        L.append(f"    hfn_rom #(.W({q}), .D({depths[o]}), .AW({taw}), "
                 f".FILE({{`UNIT_DIR, \"/rq_l{o}.mem\"}})) u_rom{o} (.clk(clk), .addr(ra), "
                 f".q(rom_q[{(o + 1) * q - 1}:{o * q}]));")
        L.append(f"    hfn_const #(.W({exw}), .D({nex}), .FILE({{`UNIT_DIR, \"/rqx_l{o}.mem\"}}))"
                 f" u_exc{o} (.q(exc[{(o + 1) * nex * exw - 1}:{o * nex * exw}]));")
    L += ["endmodule", "`default_nettype wire"]
    return "\n".join(L) + "\n"


def test_rtl_requant_unit(tmp_path):
    rng = np.random.default_rng(13)
    images = im.RequantImages(P)
    placed = []
    for op, lo, hi, ch in _cases(rng):
        r = requant_of(None, op, Interval(lo, hi), ch)
        placed.append((op, lo, hi, r, images.place(r)))
    kinds = {r.tie for _, _, _, r, _ in placed}
    assert kinds == {rq.TIE_NONE, rq.TIE_EVEN, rq.TIE_ODD}, kinds
    assert sum(len(r.exceptions) for _, _, _, r, _ in placed) >= 7
    assert len({r.frac for _, _, _, r, _ in placed}) > 2       # rows pre-shifted in the unit
    assert sum(len(r.compact.knees) for _, _, _, r, _ in placed) == 6
    stages = max(im.tree_depth(r.levels) for _, _, _, r, _ in placed)
    prm, words = unit_params(0, images, stages, {})
    prm["N"] = stages
    taw = clog2(len(images.cells[0])) + 1
    vw = max(range_bits(-(1 << 17) - 1, (1 << 17) + 1), prm["R0_OW"]) + 1
    assert prm["R0_KNEE"] == 1
    q = word_width(prm, 0)
    ex = exception_words(0, images, {"TAW": taw, **prm}, P)
    nex = max(prm["R0_NE"], 1)
    for o in range(P):
        ws = im.row_words(words[o], prm["R0_AW"], prm["R0_SW"], prm["R0_XW"], 1)
        (tmp_path / f"rq_l{o}.mem").write_text(im.hex_lines(ws, q))
        (tmp_path / f"rqx_l{o}.mem").write_text(
            im.hex_lines(ex[(0, o)], 1 + taw + prm["R0_XW"] + prm["R0_DW"]))
    cases = []
    for op, lo, hi, r, f in placed:
        groups = f["STRIDE"]
        for k in range(r.iterations):
            x = _inputs(rng, op, lo, hi, r)
            g = rng.integers(0, groups, len(x))
            s = op.attrs["sets"][k]
            want = []
            for t in range(len(x)):
                row = []
                for o in range(P):
                    ch = g[t] * P + o if r.per_channel else 0
                    if ch >= r.rows:
                        row.append(None)
                        continue
                    y = int(requant(np.array([[x[t, o]]]), np.array([s["thresholds"][ch]]),
                                    np.array([s["direction"][ch]]), op.attrs["out_min"])[0, 0])
                    # the Python model of the unit agrees with the golden count
                    kx, b2, s2 = (a[k, ch] for a in r.knee_arrays())
                    up = x[t, o] >= kx
                    a, su = rq.unit_words(b2 if up else r.base[k, ch],
                                          s2 if up else r.step[k, ch], r.frac, r.tie, stages,
                                          prm["R0_FU"])
                    c = int(rq.unit_count(x[t, o], a, su, r.tie, r.levels, stages,
                                          prm["R0_FU"]))
                    c += r.compact.exceptions_of(k, ch).get(int(x[t, o]), 0)
                    assert y == r.out_min + (r.levels - c if r.neg[k, ch] else c), \
                        (op.name, k, ch, int(x[t, o]))
                    row.append(y)
                want.append(row)
            cases.append({"name": f"{op.name}[{k}]", "fields": {
                **f, "BASE": f["BASE"] + k * groups}, "x": x.tolist(), "g": g.tolist(),
                "y": want})
    (tmp_path / "rq_top.v").write_text(_wrapper(prm, {o: len(words[o]) for o in range(P)},
                                                vw, taw, nex))
    cfg = {"p": P, "vw": vw, "latency": stages + 2, "cases": cases}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with verilator_environment():
        from cocotb_tools.runner import get_runner
        runner = get_runner("verilator")
        srcs = [RTL_DIR / f for f in ("hfn_rom.v", "hfn_const.v", "hfn_requant_lane.v",
                                      "hfn_requant.v")] + [tmp_path / "rq_top.v"]
        runner.build(sources=srcs, hdl_toplevel="rq_top", build_dir=tmp_path / "build",
                     build_args=["-Wno-fatal"], defines={"UNIT_DIR": f'"{tmp_path}"'},
                     timescale=("1ns", "1ps"))
        xml = runner.test(hdl_toplevel="rq_top", test_module="cocotb_requant",
                          test_dir=tmp_path / "build",
                          extra_env={"HFN_RQ_CFG": str(tmp_path / "cfg.json")})
    cases_run = ET.parse(xml).getroot().iter("testcase")
    results = {c.get("name"): [e.tag for e in c] for c in cases_run}
    assert set(results) == {"compact_rows", "bypass"}, results
    failed = {k: v for k, v in results.items() if {"failure", "error", "skipped"} & set(v)}
    assert not failed, failed
