"""RTL simulation of stored-weight networks (issue 10): the plain-Brevitas CNN on digits
test images, a model mixing stored and generated layers (two weight generators and the
top's w_sel multiplexer), ``--method dense`` and ``layerfold`` exports, and random graphs
with stored layers, biases and max pooling; every output compared with the golden model
computed here."""
from __future__ import annotations

import numpy as np
import pytest

from hfn_hls.boards import load_board
from hfn_hls.data import load_dataset
from hfn_hls.golden import GoldenModel
from hfn_hls.hls import write_project
from hfn_hls.ir.build import build_ir
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.rtl_backend.sim import run_system_sim


def simulate(graph, tmp_path, images, lanes="16"):
    prj = tmp_path / "prj"
    write_project(graph, load_board("pynq-z2"), parse_lanes(lanes), prj, inputs=images)
    res = run_system_sim(prj, len(images), images=images)
    assert res["vectors"] == len(images)
    assert res["mismatches"] == 0, res["first_mismatch"]
    want = GoldenModel(graph).run(images)            # computed here, not by the testbench
    assert np.array_equal(np.asarray(res["outputs"]), want)
    assert len({tuple(r) for r in want}) > 1
    return prj, res


def digits_codes(graph, n):
    gm = GoldenModel(graph)
    return gm.quantize_input(load_dataset("digits").x_test.transpose(0, 2, 3, 1))[:n]


def test_brevitas_cnn_rtl_bit_exact_on_24_images(tmp_path, brevitas_cnn_ir):
    """Stored weights (6, 4 and 8 bits), a max-pool pass, the residual block, the linear
    classifier with its bias from the bias ROM."""
    prj, res = simulate(brevitas_cnn_ir, tmp_path, digits_codes(brevitas_cnn_ir, 24))
    top = (prj / "rtl" / "hfn_top.v").read_text()
    assert "hfn_wgen_stored" in top and "hfn_wgen_hfn" not in top and "u_bias" in top
    assert res["cycles_per_inference"] > res["ideal_cycles"]


def test_mixed_sources_rtl_bit_exact(tmp_path, mixed_onnx):
    """Stored stem and classifier, generated body: both generators in the top, w_sel picks
    one per pass (hfn's 2-bit weights sign-extended to the stored width)."""
    g = build_ir(mixed_onnx)
    images = np.random.default_rng(3).integers(0, 256, (10, 8, 8, 1))
    prj, _ = simulate(g, tmp_path, images)
    top = (prj / "rtl" / "hfn_top.v").read_text()
    assert "u_wgen_hfn" in top and "u_wgen_stored" in top and "(w_sel == 4'd0)" in top


def test_rest_of_the_op_set_rtl_bit_exact(tmp_path, ops_onnx):
    """Strided and 5x5 convolutions, a signed activation, AvgPool2d + linear (the acc_all
    classifier)."""
    g = build_ir(ops_onnx)
    simulate(g, tmp_path, np.random.default_rng(6).integers(0, 256, (8, 8, 8, 1)), "2x4")


def test_leaky_relu_rtl_bit_exact(tmp_path, leaky_onnx):
    """A LeakyReLU of slope 1/8 before the signed quantiser: the requant unit with knees
    (R0_KNEE = 1: the segment picked by x >= K before the bisection)."""
    g = build_ir(leaky_onnx)
    prj, _ = simulate(g, tmp_path, digits_codes(g, 8), "2x4")
    assert "localparam integer R0_KNEE = 1;" in (prj / "rtl" / "hfn_top.v").read_text()


@pytest.mark.parametrize("method", ["dense", "layerfold"])
def test_method_exports_rtl_bit_exact(tmp_path, request, method):
    """A dense preset and a layer-folded one (merged 7x7 and 5x5 convolutions; a merged
    block reads its residual from its source's buffer)."""
    path, _ = request.getfixturevalue(f"{method}_onnx")
    g = build_ir(path)
    simulate(g, tmp_path, digits_codes(g, 6))


@pytest.mark.parametrize("seed,stored,pool,lanes", [(0, 1.0, True, "4x8"), (5, 0.5, True, "2x4"),
                                                    (9, 0.5, False, "4x4")])
def test_random_stored_graphs_rtl_bit_exact(tmp_path, seed, stored, pool, lanes):
    """Random graphs with stored layers (biases, 5-bit weights), mixed with hfn layers
    inside and outside folds, with and without a max-pool pass (random window, stride,
    padding)."""
    g = random_graph(seed, stored=stored, pool=pool, weight_bits=5, max_width=9)
    assert any(l.source == "stored" for l in g.layers.values())
    assert pool == any(o.kind == "maxpool" for o in g.ops)
    images = np.random.default_rng(seed).integers(0, 256, (4, *g.input_tensor.shape))
    simulate(g, tmp_path, images, lanes)
