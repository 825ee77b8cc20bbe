"""The pixel-lane engine (docs/rtl.md, "pixel engine"): schedule images, the cycle model and
whole random networks streamed through its hfn_top (cocotb + Verilator), every output
compared with the golden model.  One Verilator build serves all graphs (one floor)."""
from __future__ import annotations

import numpy as np
import pytest

from hfn_hls.errors import HfnError
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.model import Graph
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.rtl_backend import run_system_sim, write_rtl
from hfn_hls.rtl_backend.pixel import PixelConfig, parse_pixel
from hfn_hls.rtl_backend.pixel.cycles import model_cycles
from hfn_hls.rtl_backend.pixel.schedule import (compile_pixel, decode_term_roms,
                                                graphs_floor)
from hfn_hls.weights import layer_weights

SEEDS = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10]    # seed 2 gives constant outputs (all 0)
CFG = PixelConfig(16, 2)


def _graphs():
    return [random_graph(s, max_width=10, image=6, in_ch=3, classes=10) for s in SEEDS]


def test_parse_pixel():
    assert parse_pixel("P64S4") == PixelConfig(64, 4, 4)
    assert parse_pixel("p16s3r2").lanes == 3 * 16 * 3
    assert parse_pixel("8x8") is None
    with pytest.raises(HfnError):
        parse_pixel("P12S1")


@pytest.mark.parametrize("seed", [0, 5, 9])
def test_term_roms_are_the_mask(seed):
    """The term ROMs, read back in the engine's order, are the layers' kept-weight masks
    (every stream, every kernel column, padded windows), and their bits are the mask
    plus window padding only."""
    g = random_graph(seed, max_width=10, image=6, in_ch=3, classes=10)
    d = compile_pixel(g, PixelConfig(8, 3))
    for pp in d.plans:
        want = (layer_weights(g.layers[pp.p.layer], g) != 0).astype(np.uint8)
        assert np.array_equal(decode_term_roms(d, pp), want), pp.p.name


def test_model_counts_kept_weights():
    """Zero-skipping in the model: a unit costs the kept weights of its busiest column
    (at least one cycle per window), so a sparser mask gives fewer cycles."""
    g = random_graph(3, max_width=10, image=6, in_ch=3, classes=10)
    d = compile_pixel(g, CFG)
    m = model_cycles(d)
    assert m["cycles_per_inference"] == sum(c for _, c in m["passes"]) > 0
    pp = max(d.plans, key=lambda q: q.ci)
    lay = g.layers[pp.p.layer]
    dense = np.ones(pp.ci)
    assert all(int(u) <= pp.kh * -(-pp.ci // 8) * 8 for u in pp.unit_cost)
    assert int(pp.unit_cost.max()) < pp.kh * len(dense) or lay.params["k"] >= 0.9


@pytest.fixture(scope="module")
def pixel_projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtl_pixel")
    graphs = _graphs()
    floor = graphs_floor(graphs, CFG)
    prjs = []
    for i, g in enumerate(graphs):
        prj = root / f"prj{i}"
        prj.mkdir()
        g.save(prj / "ir.json")
        write_rtl(g, None, CFG, prj / "rtl", floor=floor)
        prjs.append(prj)
    tops = {(p / "rtl" / "hfn_top.v").read_text() for p in prjs}
    assert len(tops) == 1, "graphs under one floor must share one top"
    return prjs, floor, root / "build"


def test_pixel_random_graphs_bit_exact(pixel_projects):
    """10 random networks (strides, folds, 1x1 and 3x3, residuals, 8-bit stems as two
    planes, streams without channels), 3 images each: zero mismatches; the measured
    cycles per inference are those of the cycle model within 15 %."""
    prjs, floor, build = pixel_projects
    err = {}
    for i, prj in enumerate(prjs):
        g = Graph.load(prj / "ir.json")
        x = np.random.default_rng(SEEDS[i]).integers(0, 256, (3, *g.input_tensor.shape))
        r = run_system_sim(prj, 3, build_dir=build, images=x)
        want = GoldenModel(g).run(x)
        assert r["mismatches"] == 0, (SEEDS[i], r["first_mismatch"])
        assert np.array_equal(np.asarray(r["outputs"]), want), SEEDS[i]
        m = model_cycles(compile_pixel(g, CFG, floor))
        err[SEEDS[i]] = (r["cycles_per_inference"], m["cycles_per_inference"])
        assert r["dense_ideal_cycles"] == m["dense_ideal_cycles"]
        assert r["model_cycles"] == m["cycles_per_inference"]
    # the model is not cycle-exact on these tiny networks (tile barriers, fill waits)
    assert max(abs(a / b - 1) for a, b in err.values()) < 0.15, err


def _mismatches_after_edit(prj, build, mem_name: str, edit) -> int:
    """Mismatches of 3 images after ``edit(lines)`` changed one ROM image of ``prj``."""
    mem = prj / "rtl" / mem_name
    lines = mem.read_text().splitlines()
    edit(lines)
    mem.write_text("\n".join(lines) + "\n")
    g = Graph.load(prj / "ir.json")
    x = np.random.default_rng(1).integers(0, 256, (3, *g.input_tensor.shape))
    return run_system_sim(prj, 3, build_dir=build, images=x)["mismatches"]


def test_pixel_flipped_mask_bit_fails(pixel_projects):
    """The testbench can fail: one kept weight dropped from a term ROM -> mismatches."""
    prjs, _, build = pixel_projects

    def drop(lines):
        k = next(i for i, l in enumerate(lines) if int(l, 16))
        v = int(lines[k], 16)
        lines[k] = format(v & (v - 1), f"0{len(lines[k])}x")
    assert _mismatches_after_edit(prjs[3], build, "s00_term1.mem", drop) > 0


def test_pixel_requant_row_bit_fails(pixel_projects):
    """The requant rows are read from the streams' ROMs: the direction bit of stream 0's
    first row (channel 0 of the first R1) flipped -> mismatches."""
    prjs, floor, build = pixel_projects
    width = floor["params"]["R0_AW"] + floor["params"]["R0_SW"] + 1

    def flip(lines):
        lines[0] = format(int(lines[0], 16) ^ (1 << (width - 1)), f"0{len(lines[0])}x")
    assert _mismatches_after_edit(prjs[4], build, "s00_rq0.mem", flip) > 0


def test_pixel_refuses_what_it_cannot_run(monkeypatch):
    """A layer whose weight source has no pixel value port is refused with an error naming
    the layer (``--lanes auto`` then falls back to the channel engine)."""
    from hfn_hls.lower import lower
    from hfn_hls.rtl_backend.pixel import schedule
    g = random_graph(0, max_width=10, image=6, in_ch=3, classes=10)
    prog = lower(g)
    monkeypatch.setattr(schedule, "check_program", lambda graph, p: None)
    g.layers["s0_proj_conv1"].source = "other"
    with pytest.raises(HfnError) as e:
        schedule.check_pixel(g, prog)
    assert "s0_proj_conv1" in str(e.value) and "value port" in str(e.value)

