"""System tests of the RTL engine: whole networks streamed through hfn_top with cocotb +
Verilator (cocotbext-axi AXI4-Stream source/sink), every output compared with the golden
model.  One Verilator build per lane configuration serves all graphs of the test."""
from __future__ import annotations

import numpy as np
import pytest

from hfn_hls.golden import GoldenModel
from hfn_hls.ir.model import Graph
from hfn_hls.ir.random_graph import random_graph, resnet_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.lower import lower
from hfn_hls.rtl_backend import run_system_sim, write_rtl
from rtl_helpers import make_projects

SEEDS = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10]    # seed 2 gives constant outputs (all 0)


def _random_graphs():
    # fixed input/classes so that one top serves all; widths, strides, folds, act
    # bits, masks and thresholds vary with the seed
    return [random_graph(s, max_width=10, image=6, in_ch=3, classes=10) for s in SEEDS]


@pytest.fixture(scope="module")
def random_projects(tmp_path_factory):
    """(projects, build dir): the 10 random graphs under one floor, one Verilator build."""
    root = tmp_path_factory.mktemp("rtl_system")
    return make_projects(_random_graphs(), parse_lanes("4x8"), root), root / "build"


def _images(prj, n, seed):
    g = Graph.load(prj / "ir.json")
    return g, np.random.default_rng(seed).integers(0, 256, (n, *g.input_tensor.shape))


def _assert_golden(r, g, x, what):
    """The testbench's count and the codes it received, checked here against the golden
    model (not only the testbench's own comparison)."""
    want = GoldenModel(g).run(x)
    assert r["vectors"] == len(x)
    assert r["mismatches"] == 0, (what, r["first_mismatch"])
    assert np.array_equal(np.asarray(r["outputs"]), want), what
    assert len(np.unique(want)) > 3, what                 # informative outputs


def test_random_graphs_bit_exact(random_projects):
    """Property test: 10 random configurations, 4 images each, zero mismatches.  Their
    requants use every path of the compact requant units: fraction bits, tie modes,
    exception points, decreasing channels, shared rows (checked here)."""
    prjs, build = random_projects
    rqs = [r for prj in prjs for r in lower(Graph.load(prj / "ir.json")).requants()]
    assert {r.tie for r in rqs} == {0, 1, 2} and sum(len(r.exceptions) for r in rqs) > 0
    assert max(r.frac for r in rqs) > 0 and any(r.neg.any() for r in rqs)
    assert any(not r.per_channel for r in rqs)
    for i, prj in enumerate(prjs):
        g, x = _images(prj, 4, SEEDS[i])
        r = run_system_sim(prj, 4, build_dir=build, images=x)
        _assert_golden(r, g, x, SEEDS[i])
        assert r["cycles_per_inference"] > 0 and "pauses" not in r
    # (the command on generated projects, --json and reports/: test_sim_paths.py)
    prj = prjs[0]
    # the testbench can fail: one flipped mask bit gives mismatches
    mem = prj / "rtl" / "mask.mem"
    lines = mem.read_text().splitlines()
    k = next(i for i, l in enumerate(lines) if int(l, 16))
    lines[k] = format(int(lines[k], 16) ^ (int(lines[k], 16) & -int(lines[k], 16)),
                      f"0{len(lines[k])}x")
    mem.write_text("\n".join(lines) + "\n")
    r = run_system_sim(prj, 4, build_dir=build)
    assert r["mismatches"] > 0


@pytest.mark.parametrize("i,p_in,p_out", [(1, 0.3, 0.5), (4, 0.6, 0.2), (7, 0.1, 0.8),
                                          (9, 0.5, 0.5)])
def test_random_graphs_bit_exact_with_stalls(random_projects, i, p_in, p_out):
    """Idle cycles on the input stream (TVALID low with probability p_in per cycle) and
    back-pressure on the output (TREADY low with p_out): outputs stay bit-exact, and the
    stalls really happened (the run takes longer than without them)."""
    prjs, build = random_projects
    g, x = _images(prjs[i], 3, 100 + i)
    free = run_system_sim(prjs[i], 3, build_dir=build, images=x)
    r = run_system_sim(prjs[i], 3, build_dir=build, images=x,
                       pauses={"in": p_in, "out": p_out, "seed": i})
    _assert_golden(r, g, x, (SEEDS[i], p_in, p_out))
    assert r["pauses"] == {"in": p_in, "out": p_out, "seed": i}
    assert r["total_cycles"] > free["total_cycles"]
    assert "utilisation" not in r and "utilisation" in free


def test_odd_lanes_and_channels(tmp_path):
    """P_OUT < P_IN with channel counts that are not multiples of either (padding
    lanes, partial chunks, 2 input channels)."""
    lanes = parse_lanes("2x4")
    graphs = [random_graph(s, max_width=7, image=5, in_ch=2, classes=3) for s in (11, 12)]
    prjs = make_projects(graphs, lanes, tmp_path)
    for prj, seed in zip(prjs, (11, 12)):
        g, x = _images(prj, 3, seed)
        r = run_system_sim(prj, 3, build_dir=tmp_path / "build", images=x)
        _assert_golden(r, g, x, seed)


def test_resnet_like_small(tmp_path):
    """ResNet-20 structure (stem 16, stage 1 folded x3, projection stages 32/64 with
    stride 2, folds x2, global sum + classifier) on 8x8 images at 64 lanes (8x8):
    bit-exact, and the engine keeps its lanes busy (utilisation >= 90 %)."""
    g = resnet_graph(0, image=8)
    prj = tmp_path / "prj"
    prj.mkdir()
    g.save(prj / "ir.json")
    desc = write_rtl(g, None, parse_lanes("64"), prj / "rtl")
    x = np.random.default_rng(8).integers(0, 256, (6, *g.input_tensor.shape))
    r = run_system_sim(prj, 6, images=x)
    _assert_golden(r, g, x, "resnet_like")
    assert r["ideal_cycles"] == desc["ideal_cycles"]
    assert r["utilisation"] >= 0.9, r
