"""The one lowering (docs/lowering.md): fusion into passes, fold loops, buffers, costs;
both backends consume it, and graphs the RTL engine cannot run still lower (HLS)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from hfn_hls import mask as maskpack
from hfn_hls.boards import load_board
from hfn_hls.errors import HfnError
from hfn_hls.golden import GoldenModel
from hfn_hls.hls import estimate, run_csim, write_project
from hfn_hls.ir.model import Graph, Layer, Op, Tensor
from hfn_hls.ir.random_graph import RESNET20, random_graph, resnet_graph
from hfn_hls.ir.ranges import Interval, infer_ranges
from hfn_hls.lanes import parse_lanes
from hfn_hls.lower import (AddPass, ConvPass, CopyPass, Fold, GlobalSumPass, MaxPoolPass,
                           RequantPass, lower)
from hfn_hls.report import report_graph
from hfn_hls.rtl_backend.design import compile_design
from hfn_hls.weights import layer_weights


def _ops_of(prog) -> list[str]:
    return [o.name for p in prog.passes() for o in p.ops()]


@pytest.mark.parametrize("seed", range(8))
def test_every_op_runs_in_exactly_one_pass(seed):
    g = random_graph(seed)
    prog = lower(g)
    names = _ops_of(prog)
    assert sorted(names) == sorted(op.name for op in g.walk() if op.kind != "fold")
    # the structure the front end emits fuses completely: conv passes and loops only
    assert all(isinstance(p, ConvPass) for p in prog.passes())
    last = prog.items[-1]
    assert last.acc_all and last.pool is not None and last.out == g.output


def test_fold_runs_in_place_in_one_buffer():
    g = random_graph(8)                 # two folds
    prog = lower(g)
    folds = [it for it in prog.items if isinstance(it, Fold)]
    assert len(folds) == 2
    for f in folds:
        a = f.op.attrs
        bufs = {prog.buffer_of[t] for t in (f.op.inputs[0], a["body_input"],
                                             a["body_output"], f.op.output)}
        assert len(bufs) == 1
        assert not any(isinstance(p, CopyPass) for p in f.body)
        assert all(p.iterations == f.iterations for p in f.body)
        # the body's last pass writes over the residual it reads pointwise
        assert f.body[-1].res == a["body_input"] and f.body[-1].rs is not None


def test_buffers_hold_no_two_live_tensors():
    """Replaying the program with every loop unrolled: each read finds its tensor (or one
    of its fold group) in the buffer, and no write destroys a tensor read later."""
    for g in (random_graph(3), random_graph(8), resnet_graph(0, image=8)):
        prog = lower(g)
        group = {}
        for it in prog.items:
            if isinstance(it, Fold):
                a = it.op.attrs
                root = group.get(it.op.inputs[0], it.op.inputs[0])
                for t in (a["body_input"], a["body_output"], it.op.output):
                    group[t] = root
        grp = lambda t: group.get(t, t)  # noqa: E731
        run = [p for it in prog.items
               for p in (it.body * it.iterations if isinstance(it, Fold) else [it])]
        held = {prog.buffer_of[g.input]: grp(g.input)}
        for i, p in enumerate(run):
            for t in p.reads():
                assert held.get(prog.buffer_of[t]) == grp(t), (p.name, t)
            b = prog.buffer_of[p.out]
            assert b not in {prog.buffer_of[t] for t in p.window_reads()}, p.name
            later = {grp(t) for q in run[i + 1:] for t in q.reads()} | {grp(g.output)}
            if held.get(b) not in (None, grp(p.out)):
                assert held[b] not in later, (p.name, held[b])
            held[b] = grp(p.out)
        assert held[prog.buffer_of[g.output]] == grp(g.output)


def test_costs_follow_the_engine_loop_order():
    g = resnet_graph(0, stages=RESNET20, image=8)
    prog = lower(g)
    lanes = parse_lanes("4x8")
    for c, p in zip(prog.costs(lanes), prog.conv_passes()):
        w = p.window
        assert c.cycles == -(-w.co // 4) * w.oh * w.ow * w.kh * w.kw * -(-w.ci // 8)
        assert c.engine_macs == w.oh * w.ow * w.co * w.kh * w.kw * w.ci
    cls = prog.conv_passes()[-1]
    assert cls.acc_all and cls.macs == 10 * 64 and cls.engine_macs == 2 * 2 * 10 * 64
    assert prog.macs == sum(p.macs * p.iterations for p in prog.conv_passes())
    assert prog.ideal_cycles(lanes) == -(-prog.macs // 32)


def test_accumulator_range_bounds_every_partial_sum():
    rng = np.random.default_rng(0)
    g = random_graph(4)
    for p in lower(g).conv_passes():
        w = layer_weights(g.layers[p.layer], g).reshape(p.window.co, -1)
        x = Interval.of(g.tensors[p.src])
        for _ in range(20):      # random inputs in range, random summation orders
            v = rng.integers(x.lo, x.hi + 1, (w.shape[1], p.window.oh * p.window.ow
                                              if p.acc_all else 1))
            terms = (w[:, :, None] * v[None]).transpose(0, 2, 1).reshape(w.shape[0], -1)
            order = rng.permutation(terms.shape[1])
            partial = np.cumsum(terms[:, order], axis=1)
            assert p.acc.lo <= partial.min() and partial.max() <= p.acc.hi, p.name


def test_one_requant_analysis_for_estimate_report_and_program():
    g = random_graph(6)
    prog = lower(g)
    bits = sum(r.bits for r in prog.requants())
    est = estimate(prog, parse_lanes("4x4"))
    assert est["storage_bits"]["requant"] == bits
    rep = report_graph(g, None)["totals"]
    assert rep["requant_bits"] == bits
    sets = sum(r.iterations * r.rows for r in prog.requants())
    assert rep["requant_channel_sets"] == sets
    assert est["floor_bits"] == rep["floor_bits"] == rep["weight_bits"] + 32 * sets
    rtl = compile_design(g, parse_lanes("4x8"))
    for u, unit in enumerate((("r1",), ("rs",), ("r2",))):
        rs = [getattr(p, unit[0]) for p in prog.conv_passes() if getattr(p, unit[0])]
        assert rtl.params[f"R{u}_FU"] == max([r.frac for r in rs] + [0])
        assert rtl.params[f"R{u}_TIES"] == int(any(r.tie for r in rs))


# -- graphs that do not fuse into conv passes -----------------------------------------------

def _layer(g: Graph, name: str, shape, rng) -> str:
    m = (rng.random(shape) < 0.6).astype(np.uint8)
    g.layers[name] = Layer(name, list(shape), "hfn",
                           {"seed": 1234 + len(g.layers), "mask": maskpack.pack(m), "k": 0.6})
    return name


def unfused_graph() -> Graph:
    """conv -> requant -> maxpool -> requant; add of that and the pooled tensor (+ requant);
    1x1 conv without requant; global_sum after the conv (the network output)."""
    rng = np.random.default_rng(5)
    t = {n: Tensor(n, s, 0, 0) for n, s in [
        ("x", [6, 6, 2]), ("a1", [6, 6, 4]), ("h1", [6, 6, 4]), ("m", [3, 3, 4]),
        ("ra", [3, 3, 4]), ("s", [3, 3, 4]), ("h2", [3, 3, 4]), ("a2", [3, 3, 3]),
        ("out", [1, 1, 3])]}
    t["x"].hi = 255
    g = Graph("unfused", "x", "out", t, {}, [])
    th = lambda *v: {"thresholds": [list(v)], "direction": [1]}  # noqa: E731
    g.ops = [
        Op("conv", "c1", ["x"], "a1", {"layer": _layer(g, "c1", (4, 3, 3, 2), rng),
                                       "kernel": 3, "stride": 1, "pad": 1}),
        Op("requant", "q1", ["a1"], "h1", {"out_min": 0, "sets": [th(-300, 0, 300)]}),
        Op("maxpool", "mp", ["h1"], "m", {"kernel": 3, "stride": 2, "pad": 1}),
        Op("requant", "qa", ["m"], "ra", {"out_min": -2, "sets": [
            {"thresholds": [[1, 2], [0, 3], [1, 1], [2, 2]], "direction": [1, -1, 1, -1]}]}),
        Op("add", "ad", ["ra", "m"], "s"),
        Op("requant", "q2", ["s"], "h2", {"out_min": 0, "sets": [th(0, 1, 3, 5)]}),
        Op("conv", "c2", ["h2"], "a2", {"layer": _layer(g, "c2", (3, 1, 1, 4), rng),
                                        "kernel": 1, "stride": 1, "pad": 0}),
        Op("global_sum", "gs", ["a2"], "out"),
    ]
    return infer_ranges(g)


def fold_input_reused_graph() -> Graph:
    """random_graph(0) with the fold's input added to its output after the fold: the loop
    cannot run in the fold input's buffer (a copy enters the loop)."""
    g = copy.deepcopy(random_graph(0))
    i, fold = next((i, o) for i, o in enumerate(g.ops) if o.kind == "fold")
    z = "after_fold"
    g.tensors[z] = copy.deepcopy(g.tensors[fold.output])
    g.tensors[z].name = z
    g.ops.insert(i + 1, Op("add", "reuse", [fold.output, fold.inputs[0]], z))
    pool = next(o for o in g.ops if o.kind == "global_sum")
    pool.inputs = [z]
    return infer_ranges(g)


def test_unfused_graph_lowers_to_its_own_passes():
    prog = lower(unfused_graph())
    kinds = [type(p) for p in prog.passes()]
    assert kinds == [ConvPass, MaxPoolPass, RequantPass, AddPass, ConvPass, GlobalSumPass]
    add = prog.items[3]
    assert add.r2 is not None and add.r2.name == "q2"
    c2 = prog.items[4]
    assert c2.r1 is None and not c2.acc_all
    # the RTL engine runs the max pool (a pass of its own), not the lone requant
    with pytest.raises(HfnError, match="op qa: requant op is not part of a conv pass"):
        compile_design(unfused_graph(), parse_lanes("2x2"))


def test_fold_input_used_after_the_fold_enters_by_a_copy():
    g = fold_input_reused_graph()
    prog = lower(g)
    i = next(k for k, it in enumerate(prog.items) if isinstance(it, Fold))
    enter = prog.items[i - 1]
    assert isinstance(enter, CopyPass) and enter.src == prog.items[i].op.inputs[0]
    assert prog.buffer_of[enter.src] != prog.buffer_of[enter.out]
    with pytest.raises(HfnError, match="fold cannot keep its input"):
        compile_design(g, parse_lanes("2x2"))


@pytest.mark.parametrize("make", [unfused_graph, fold_input_reused_graph])
def test_unfused_graphs_csim_matches_golden(tmp_path, make):
    g = make()
    x = np.random.default_rng(3).integers(0, 256, (6, *g.input_tensor.shape))
    assert len({tuple(r) for r in GoldenModel(g).run(x)}) > 1      # informative outputs
    write_project(g, load_board("zcu104"), parse_lanes("2x4"), tmp_path / "prj", inputs=x,
                  rtl=False)
    res = run_csim(tmp_path / "prj")
    assert (res["vectors"], res["mismatches"]) == (6, 0), res["first_mismatches"]
