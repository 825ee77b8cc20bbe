"""The real front end's models: the trained digits network on its whole test split (360
images) and an untrained resnet20 (``hfn-hls init`` + ``export``) on 200 inputs:
generated C++ == golden model, zero mismatches."""
from __future__ import annotations

import numpy as np
import pytest

from hfn_hls.boards import load_board
from hfn_hls.golden import GoldenModel
from hfn_hls.hls import run_csim, write_project
from hfn_hls.lanes import parse_lanes


@pytest.mark.parametrize("preset,lanes", [("digits", "16"), ("resnet20", "64")])
def test_preset_csim_matches_golden(tmp_path, request, preset, lanes):
    graph = request.getfixturevalue(f"{preset}_ir")
    inputs = request.getfixturevalue("digits_test_codes")[0] if preset == "digits" else None
    n = 360 if preset == "digits" else 200
    folds = [op for op in graph.ops if op.kind == "fold"]
    assert folds, "the preset folds a stage"
    prj = write_project(graph, load_board("pynq-z2"), parse_lanes(lanes), tmp_path / "prj",
                        inputs=inputs)
    assert prj["tb_vectors"] == n
    res = run_csim(tmp_path / "prj")
    assert res["vectors"] == n
    assert res["mismatches"] == 0, res["first_mismatches"]
    produced = np.loadtxt(tmp_path / "prj" / "build" / "csim_outputs.txt", dtype=np.int64)
    assert produced.shape == (n, graph.output_tensor.shape[2])
    # outputs are informative (not all identical), so agreement is not trivial
    assert len({tuple(r) for r in produced}) > 1
    # tb_data holds the packed images: unpacked, the golden model gives the same codes
    assert (produced == GoldenModel(graph).run(_inputs(tmp_path / "prj", graph))).all()


def _inputs(prj, graph) -> np.ndarray:
    from hfn_hls import stream_format
    shape = graph.input_tensor.shape
    rows = (prj / "tb_data" / "inputs.txt").read_text().splitlines()
    return np.stack([stream_format.unpack_image([int(w, 16) for w in r.split()], shape)
                     for r in rows])
