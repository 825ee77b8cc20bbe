"""System test on the real front end's models: the trained digits network on 50 test
images and an untrained resnet20 on 20 inputs (``HFN_RTL_MODEL_IMAGES=50`` for 50: two
more minutes, suite budget) stream through the generated RTL (cocotb + Verilator,
AXI4-Stream) and every output equals the golden model."""
from __future__ import annotations

import os

import numpy as np
import pytest

from hfn_hls.boards import load_board
from hfn_hls.golden import GoldenModel
from hfn_hls.hls import write_project
from hfn_hls.lanes import parse_lanes
from hfn_hls.rtl_backend.sim import run_system_sim


@pytest.mark.parametrize("preset,lanes", [("digits", "16"), ("resnet20", "256")])
def test_model_rtl_matches_golden(tmp_path, request, preset, lanes):
    graph = request.getfixturevalue(f"{preset}_ir")
    if preset == "digits":
        images = request.getfixturevalue("digits_test_codes")[0][:50]
    else:
        n = int(os.environ.get("HFN_RTL_MODEL_IMAGES", "20"))
        images = np.random.default_rng(20).integers(0, 256, (n, *graph.input_tensor.shape))
    prj = tmp_path / "prj"
    # the HLS estimate (one engine per layer) does not fit 256 lanes on a pynq-z2; the RTL
    # engine is shared by all layers, so the project is written for a larger board
    board = load_board("pynq-z2" if preset == "digits" else "zcu104")
    write_project(graph, board, parse_lanes(lanes), prj, inputs=images)
    res = run_system_sim(prj, len(images), images=images)
    assert res["vectors"] == len(images)
    assert res["mismatches"] == 0, res["first_mismatch"]
    want = GoldenModel(graph).run(images)           # computed here, not by the testbench
    assert np.array_equal(np.asarray(res["outputs"]), want)
    assert len({tuple(r) for r in want}) > 1
    # the per-layer cycle model (engine loop order) accounts for the measured cycles
    from hfn_hls.lower import lower
    lz = parse_lanes(lanes)
    model = sum(r["cycles"] for r in lower(graph).layer_cycles(lz))
    assert model <= res["cycles_per_inference"] <= 1.1 * model, (model, res)
    if preset == "resnet20":
        assert res["utilisation"] >= 0.9, res
