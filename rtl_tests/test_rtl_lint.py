"""``verilator --lint-only -Wall`` is clean on every library module and on generated tops
(several lane shapes, buffer counts and channel paddings)."""
from __future__ import annotations

import pytest

from hfn_hls.ir.random_graph import random_graph, resnet_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.paths import RTL_DIR
from hfn_hls.rtl_backend import write_rtl
from hfn_hls.rtl_backend.tools import lint
from hfn_hls.rtl_backend.writer import LIBRARY


@pytest.mark.parametrize("module", [f[:-2] for f in LIBRARY])
def test_library_lint_clean(module):
    assert lint([RTL_DIR / f for f in LIBRARY], module) == []


@pytest.mark.parametrize("seed,lanes", [(0, "4x8"), (11, "2x4"), (3, "16"), (7, "1x1")])
def test_generated_top_lint_clean(tmp_path, seed, lanes):
    write_rtl(random_graph(seed), None, parse_lanes(lanes), tmp_path / "rtl")
    assert lint(sorted((tmp_path / "rtl").glob("*.v")), "hfn_top") == []


def test_resnet_top_lint_clean(tmp_path):
    write_rtl(resnet_graph(0, image=8), None, parse_lanes("64"), tmp_path / "rtl")
    assert lint(sorted((tmp_path / "rtl").glob("*.v")), "hfn_top") == []


@pytest.mark.parametrize("stored,pool,lanes", [(0.5, True, "4x8"), (1.0, True, "2x4"),
                                               (1.0, False, "16"), (0.5, False, "1x1")])
def test_stored_and_mixed_tops_lint_clean(tmp_path, stored, pool, lanes):
    """Tops with the stored generator (alone, or with hfn's and the w_sel multiplexer),
    the bias ROM and max-pool passes."""
    g = random_graph(5, stored=stored, pool=pool, weight_bits=6)
    assert any(l.source == "stored" for l in g.layers.values())
    write_rtl(g, None, parse_lanes(lanes), tmp_path / "rtl")
    assert lint(sorted((tmp_path / "rtl").glob("*.v")), "hfn_top") == []


def test_top_with_knees_lint_clean(tmp_path, leaky_onnx):
    """A requant unit with knees (R0_KNEE = 1: the wider ROM word and the segment
    multiplexer of hfn_requant_lane)."""
    from hfn_hls.ir.build import build_ir
    write_rtl(build_ir(leaky_onnx), None, parse_lanes("2x4"), tmp_path / "rtl")
    assert "localparam integer R0_KNEE = 1;" in (tmp_path / "rtl" / "hfn_top.v").read_text()
    assert lint(sorted((tmp_path / "rtl").glob("*.v")), "hfn_top") == []
