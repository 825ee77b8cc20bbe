"""Unit tests of the RTL library blocks with cocotb + Verilator, against Python.

One generated wrapper instantiates the LFSR leap network, the ``hfn`` weight generator
(its mask and start-state ROMs filled by the source, ``hfn_hls.weights.hfn``), the
``stored`` weight generator (its ROM from ``hfn_hls.weights.stored``) and the lane array
twice (WB = 2: add/subtract/skip; WB = 4: multiply); one Verilator build runs the four
cocotb tests of cocotb_units.py (LFSR vs the shared vectors, the two weight generators vs
their layers' weights, lanes).  The requant unit has its own test, test_rtl_requant.py."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import numpy as np

from hfn_hls.ir.model import Graph, Layer
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.ir.ranges import Interval
from hfn_hls.lanes import Lanes
from hfn_hls.paths import RTL_DIR, TEST_VECTORS
from hfn_hls.rtl_backend import images as im
from hfn_hls.rtl_backend.tools import verilator_environment
from hfn_hls.weights import get_source, layer_weights
from hfn_hls.weights.hfn import mask_of
from hfn_hls.weights.stored import encode

P_OUT, P_IN, EW, LEAP_P = 4, 8, 9, 64
CAW, GAW = 10, 4
WB_MUL = 4
SWB = 6                                         # the stored test layer's weight width
# lane sum widths: P_IN * 2^(EW-1) * max|w| signed (max|w| = 1 ternary, 2^(WB-1) else)
SUM_W2 = Interval(-P_IN << (EW - 1), P_IN << (EW - 1)).signed_bits
SUM_WM = Interval(-P_IN << (EW + WB_MUL - 2), P_IN << (EW + WB_MUL - 2)).signed_bits


def _mask_expected(graph: Graph, layer: str) -> list[int]:
    """Lane-order mask words computed directly from the canonical stream (not from
    weights.hfn.lane_mask_words): bit o*P_IN+i of word (g, kh, kw, c) = weight index
    ((co*KH + kh)*KW + kw)*CI + c*P_IN + i of channel co = g*P_OUT + o."""
    lay = graph.layers[layer]
    co, kh, kw, ci = lay.shape
    flat = mask_of(lay).reshape(-1)
    nc = -(-ci // P_IN)
    words = []
    for g in range(-(-co // P_OUT)):
        for a in range(kh):
            for b in range(kw):
                for c in range(nc):
                    w = 0
                    for o in range(P_OUT):
                        for i in range(P_IN):
                            ch, k = g * P_OUT + o, c * P_IN + i
                            if ch < co and k < ci and flat[((ch * kh + a) * kw + b) * ci + k]:
                                w |= 1 << (o * P_IN + i)
                    words.append(w)
    return words


def _weights_expected(graph: Graph, layer: str) -> dict:
    """The chunks of one layer in the engine's walk (group -> kh -> kw -> chunk c) with
    the P_OUT x P_IN weights each must give (0 for padding lanes), from the golden
    model's weights of the layer."""
    lay = graph.layers[layer]
    co, kh, kw, ci = lay.shape
    w = layer_weights(lay, graph)
    nc = -(-ci // P_IN)
    chunks = []
    for g in range(-(-co // P_OUT)):
        for a in range(kh):
            for b in range(kw):
                for c in range(nc):
                    n = min(P_IN, ci - c * P_IN)
                    ws = [[int(w[g * P_OUT + o, a, b, c * P_IN + i])
                           if g * P_OUT + o < co and i < n else 0 for i in range(P_IN)]
                          for o in range(P_OUT)]
                    chunks.append({"g": g, "n": n, "w": ws})
    return {"kch": kh * kw * nc, "chunks": chunks}


def _wrapper(depths: dict) -> str:
    nw = P_IN.bit_length()
    sw2, swm = SUM_W2, SUM_WM
    L = ["`default_nettype none", "module unit_top (",
         "    input wire clk,",
         "    input wire [31:0] leap_state, input wire [6:0] leap_n,",
         f"    output wire [{LEAP_P - 1}:0] leap_bits, output wire [31:0] leap_next,",
         f"    input wire gen_issue, input wire gen_first, input wire [{nw - 1}:0] gen_n,",
         f"    input wire [{CAW - 1}:0] gen_chunk, input wire [{GAW - 1}:0] gen_group,",
         f"    output wire [{P_OUT * P_IN * 2 - 1}:0] gen_w,",
         f"    output wire [{P_OUT * P_IN * SWB - 1}:0] sgen_w,",
         f"    input wire [{P_IN * EW - 1}:0] lanes_x,",
         f"    input wire [{P_OUT * P_IN * 2 - 1}:0] lanes_w2,",
         f"    input wire [{P_OUT * P_IN * WB_MUL - 1}:0] lanes_wm,",
         f"    output wire [{P_OUT * sw2 - 1}:0] lanes_sum2,",
         f"    output wire [{P_OUT * swm - 1}:0] lanes_summ);",
         f"    hfn_lfsr_leap #(.P({LEAP_P}), .NW(7)) u_leap (.state(leap_state), .n(leap_n),",
         "        .bits(leap_bits), .next(leap_next));",
         f"    hfn_wgen_hfn #(.P_OUT({P_OUT}), .P_IN({P_IN}), .NW({nw}), .CAW({CAW}), "
         f".CD({depths['mask']}), .GAW({GAW}), .GD({depths['state']}),",
         "        .MASK_FILE({`UNIT_DIR, \"/mask.mem\"}), .STATE_FILE({`UNIT_DIR, \"/state.mem\"}))",
         "        u_gen (.clk(clk), .issue(gen_issue), .first(gen_first), .n(gen_n),",
         "        .chunk(gen_chunk), .group(gen_group), .w(gen_w));",
         f"    hfn_wgen_stored #(.P_OUT({P_OUT}), .P_IN({P_IN}), .NW({nw}), .CAW({CAW}), "
         f".CD({depths['weights']}), .GAW({GAW}), .WB({SWB}),",
         "        .FILE({`UNIT_DIR, \"/weights.mem\"})) u_sgen (.clk(clk), .issue(gen_issue),",
         "        .first(gen_first), .n(gen_n), .chunk(gen_chunk), .group(gen_group),",
         "        .w(sgen_w));",
         f"    hfn_lanes #(.P_OUT({P_OUT}), .P_IN({P_IN}), .EW({EW}), .WB(2), .SW({sw2})) u_lanes2 (",
         "        .clk(clk), .x(lanes_x), .w(lanes_w2), .sum(lanes_sum2));",
         f"    hfn_lanes #(.P_OUT({P_OUT}), .P_IN({P_IN}), .EW({EW}), .WB({WB_MUL}), .SW({swm}))",
         "        u_lanesm (.clk(clk), .x(lanes_x), .w(lanes_wm), .sum(lanes_summ));"]
    L += ["endmodule", "`default_nettype wire"]
    return "\n".join(L) + "\n"


def test_rtl_units(tmp_path):
    rng = np.random.default_rng(7)
    graph = random_graph(5, max_width=9)
    layer = max(graph.layers, key=lambda n: graph.layers[n].size)
    gen = get_source("hfn").rtl_generator(graph, Lanes(P_OUT, P_IN))
    gen.place(next(l for n, l in graph.layers.items() if n != layer))   # bases > 0
    cbase, gbase = gen.place(graph.layers[layer])
    roms = {r.name: r for r in gen.roms()}
    assert roms["mask"].words[cbase:] == _mask_expected(graph, layer)
    for r in roms.values():
        (tmp_path / f"{r.name}.mem").write_text(im.hex_lines(r.words, r.width))
    weights = {"cbase": cbase, "gbase": gbase, **_weights_expected(graph, layer)}

    # a stored layer of 6-bit weights (extremes included) placed after another one
    lim = 1 << (SWB - 1)
    sw = rng.integers(-lim, lim, (7, 3, 3, 10))
    sw[0, 0, 0, :2] = [-lim, lim - 1]
    sg = Graph("s", "x", "y", {}, {n: Layer(n, list(w.shape), "stored",
                                            {"bits": SWB, "weights": encode(w)})
                                   for n, w in (("a", sw[:3, :1]), ("b", sw))}, [])
    sgen = get_source("stored").rtl_generator(sg, Lanes(P_OUT, P_IN))
    assert sgen.wb == SWB
    sgen.place(sg.layers["a"])
    scbase, _ = sgen.place(sg.layers["b"])
    assert scbase > 0
    for r in sgen.roms():
        roms[r.name] = r
        (tmp_path / f"{r.name}.mem").write_text(im.hex_lines(r.words, r.width))
    stored = {"cbase": scbase, "gbase": 0, "wb": SWB, **_weights_expected(sg, "b")}

    (tmp_path / "unit_top.v").write_text(_wrapper({n: len(r.words) for n, r in roms.items()}))
    cfg = {"vectors": str(TEST_VECTORS / "lfsr.json"), "leap_p": LEAP_P, "weights": weights,
           "stored": stored,
           "p_out": P_OUT, "p_in": P_IN, "ew": EW, "wb_mul": WB_MUL, "sw2": SUM_W2,
           "swm": SUM_WM}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))

    with verilator_environment():
        from cocotb_tools.runner import get_runner
        runner = get_runner("verilator")
        srcs = [RTL_DIR / f for f in ("hfn_rom.v", "hfn_lfsr_leap.v", "hfn_wgen_hfn.v",
                                      "hfn_wgen_stored.v", "hfn_lanes.v")] + \
            [tmp_path / "unit_top.v"]
        runner.build(sources=srcs, hdl_toplevel="unit_top", build_dir=tmp_path / "build",
                     build_args=["-Wno-fatal"], defines={"UNIT_DIR": f'"{tmp_path}"'},
                     timescale=("1ns", "1ps"))
        xml = runner.test(hdl_toplevel="unit_top", test_module="cocotb_units",
                          test_dir=tmp_path / "build",
                          extra_env={"HFN_UNIT_CFG": str(tmp_path / "cfg.json")})
    cases_run = ET.parse(xml).getroot().iter("testcase")
    results = {c.get("name"): [e.tag for e in c] for c in cases_run}
    assert set(results) == {"lfsr_vectors", "weight_generator", "stored_weight_generator",
                            "lane_array"}, results
    failed = {k: v for k, v in results.items() if {"failure", "error", "skipped"} & set(v)}
    assert not failed, failed
