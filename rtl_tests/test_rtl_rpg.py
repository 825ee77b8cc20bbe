"""RTL of source ``rpg`` (issue 11): the Verilog generator against test_vectors/rpg.json
(cocotb), and RTL simulation of RPG networks (digits trained briefly, an untrained
ResNet-20-shaped CIFAR model) bit-exact against the golden model, with cycles per
inference within 10 % of MACs / lanes."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from hfn_hls.boards import load_board
from hfn_hls.data import load_dataset
from hfn_hls.golden import GoldenModel
from hfn_hls.hls import write_project
from hfn_hls.ir.build import build_ir
from hfn_hls.ir.model import Graph, Layer
from hfn_hls.lanes import Lanes, parse_lanes
from hfn_hls.paths import RTL_DIR, TEST_VECTORS
from hfn_hls.rtl_backend import images as im
from hfn_hls.rtl_backend.sim import run_system_sim
from hfn_hls.rtl_backend.tools import verilator_environment
from hfn_hls.weights import get_source
from hfn_hls.weights import rpg

VEC = json.loads((TEST_VECTORS / "rpg.json").read_text())
P_OUT, P_IN = 2, 4


def _vector_graph() -> Graph:
    r = VEC["ring"]
    layers = {f"l{l['index']}": Layer(f"l{l['index']}", l["shape_ohwi"], "rpg",
                                      {"ring": "ring", "index": l["index"], "seed": l["seed"],
                                       "a": l["a"], "b": l["b"]}) for l in VEC["layers"]}
    g = Graph("v", "x", "y", {}, layers, [])
    g.shared["ring"] = {"kind": rpg.RING_KIND, "n": r["n"], "bits": r["bits"],
                        "narrow": True, "values": rpg.encode(r["values"])}
    return g


def _chunks(shape, weights, gbase):
    co, kh, kw, ci = shape
    w = np.asarray(weights).reshape(shape)
    nc = -(-ci // P_IN)
    chunks = []
    for g in range(-(-co // P_OUT)):
        for a in range(kh):
            for b in range(kw):
                for c in range(nc):
                    n = min(P_IN, ci - c * P_IN)
                    chunks.append({"g": g, "n": n, "w": [
                        [int(w[g * P_OUT + o, a, b, c * P_IN + i])
                         if g * P_OUT + o < co and i < n else 0 for i in range(P_IN)]
                        for o in range(P_OUT)]})
    return {"cbase": 0, "gbase": gbase, "kch": kh * kw * nc, "chunks": chunks}


def test_rpg_generator_matches_the_vectors(tmp_path):
    g = _vector_graph()
    gen = get_source("rpg").rtl_generator(g, Lanes(P_OUT, P_IN))
    layers = []
    for l in VEC["layers"]:
        layer = g.layers[f"l{l['index']}"]
        assert get_source("rpg").weights(layer, g).reshape(-1).tolist() == l["weights"]
        _, gbase = gen.place(layer)
        layers.append(_chunks(l["shape_ohwi"], l["weights"], gbase))
    roms = {r.name: r for r in gen.roms()}
    for r in roms.values():
        (tmp_path / f"{r.name}.mem").write_text(im.hex_lines(r.words, r.width))
    nw, wb = P_IN.bit_length(), VEC["ring"]["bits"]
    depths = {n: len(r.words) for n, r in roms.items()}
    # the wrapper names what the generated top names (the instance lines are the top's)
    (tmp_path / "unit_rpg.v").write_text("\n".join([
        "`default_nettype none",
        "module unit_rpg (input wire clk, input wire gen_issue, input wire gen_first,",
        f"    input wire [{nw - 1}:0] gen_n, input wire [7:0] gen_chunk,",
        f"    input wire [3:0] gen_group, output wire [{P_OUT * P_IN * wb - 1}:0] gen_w);",
        f"    localparam integer P_OUT = {P_OUT}, P_IN = {P_IN}, NW = {nw}, CAW = 8, GAW = 4;",
        "    wire ap_clk = clk, w_issue = gen_issue, w_first = gen_first;",
        f"    wire [{nw - 1}:0] w_n = gen_n;",
        "    wire [7:0] w_chunk = gen_chunk;",
        "    wire [3:0] w_group = gen_group;",
        f"    wire [{P_OUT * P_IN * wb - 1}:0] w_rpg;",
        "    assign gen_w = w_rpg;",
        *gen.instance("rpg", depths, "`UNIT_DIR"),
        "endmodule", "`default_nettype wire", ""]))
    cfg = {"p_out": P_OUT, "p_in": P_IN, "wb": wb, "rpg_layers": layers}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with verilator_environment():
        from cocotb_tools.runner import get_runner
        runner = get_runner("verilator")
        srcs = [RTL_DIR / f for f in ("hfn_rom.v", "hfn_lfsr_leap.v", "hfn_wgen_rpg.v")] + \
            [tmp_path / "unit_rpg.v"]
        runner.build(sources=srcs, hdl_toplevel="unit_rpg", build_dir=tmp_path / "build",
                     build_args=["-Wno-fatal"], defines={"UNIT_DIR": f'"{tmp_path}"'},
                     timescale=("1ns", "1ps"))
        xml = runner.test(hdl_toplevel="unit_rpg", test_module="cocotb_rpg",
                          test_dir=tmp_path / "build",
                          extra_env={"HFN_UNIT_CFG": str(tmp_path / "cfg.json")})
    results = {c.get("name"): [e.tag for e in c] for c in ET.parse(xml).getroot().iter("testcase")}
    assert set(results) == {"rpg_weight_generator"}, results
    failed = {k: v for k, v in results.items() if {"failure", "error", "skipped"} & set(v)}
    assert not failed, failed


def _simulate(graph, tmp_path, images, lanes, board="pynq-z2"):
    prj = tmp_path / "prj"
    # the HLS estimate (one engine per layer) of resnet20 does not fit a pynq-z2 at 64
    # lanes; the RTL engine is shared by all layers, so it is written for a larger board
    write_project(graph, load_board(board), parse_lanes(lanes), prj, inputs=images)
    res = run_system_sim(prj, len(images), images=images)
    assert res["vectors"] == len(images)
    assert res["mismatches"] == 0, res["first_mismatch"]
    want = GoldenModel(graph).run(images)
    assert np.array_equal(np.asarray(res["outputs"]), want)
    assert len({tuple(r) for r in want}) > 1
    top = (prj / "rtl" / "hfn_top.v").read_text()
    assert "hfn_wgen_rpg" in top and "hfn_wgen_hfn" not in top
    # the ring reads never stall the lanes: cycles within 10 % of MACs / lanes
    ideal = res["ideal_cycles"]
    assert res["cycles_per_inference"] <= 1.10 * ideal, (res["cycles_per_inference"], ideal)
    return res


@pytest.fixture(scope="module")
def rpg_digits_onnx(tmp_path_factory):
    from hfn_hls.export import export_model
    from hfn_hls.train import load_checkpoint, train

    run = tmp_path_factory.mktemp("rpg_digits_rtl")
    train("digits", run, method="rpg", epochs=2, threads=1, progress=False, dof=0.1,
          ring_bits=6)
    return export_model(load_checkpoint(run), run / "model.onnx")


def test_digits_rtl_bit_exact_on_24_images(tmp_path, rpg_digits_onnx):
    g = build_ir(rpg_digits_onnx)
    codes = GoldenModel(g).quantize_input(
        load_dataset("digits").x_test.transpose(0, 2, 3, 1))[:24]
    res = _simulate(g, tmp_path, codes, "4x8")
    print("digits rpg RTL cycles", res["cycles_per_inference"], "ideal", res["ideal_cycles"])


def test_resnet20_rtl_bit_exact(tmp_path):
    """5 images by default (suite budget, as the SMH test); HFN_RPG_RTL_IMAGES=20 for the
    issue's 20 (passed when RPG landed)."""
    import os

    from hfn_hls.export import export_model
    from hfn_hls.train import init_model

    n = int(os.environ.get("HFN_RPG_RTL_IMAGES", "5"))
    model = init_model("resnet20", tmp_path / "run", method="rpg", dof=0.02)
    g = build_ir(export_model(model, tmp_path / "model.onnx"))
    images = np.random.default_rng(2).integers(0, 256, (n, 32, 32, 3))
    res = _simulate(g, tmp_path, images, "64", board="zcu104")
    print("resnet20 rpg RTL cycles", res["cycles_per_inference"], "ideal", res["ideal_cycles"])


@pytest.mark.parametrize("lanes", ["4x8", "2x2", "1x1", "16x64"])
def test_rpg_top_lint_clean(tmp_path, rpg_digits_onnx, lanes):
    from hfn_hls.rtl_backend import write_rtl
    from hfn_hls.rtl_backend.tools import lint
    write_rtl(build_ir(rpg_digits_onnx), None, parse_lanes(lanes), tmp_path / "rtl")
    assert lint(sorted((tmp_path / "rtl").glob("*.v")), "hfn_top") == []
