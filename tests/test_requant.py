"""Compact requantisation (issue 13.4, ``hfn_hls/ir/requant.py``, docs/arithmetic.md):
the compact form derived from a requant's thresholds reproduces every threshold (and so
every output) on the input's proven range, exceptions included; the Python model of the
hardware's bisection (``unit_words`` / ``unit_count``) gives the same counts; a wrong
form is refused; the report's floor and channel-set counts; and, on the trained digits
model, the hardware's algorithm equals QONNX on every code of the test set.

The RTL unit is tested against the same Python in rtl_tests/test_rtl_requant.py; csim
and RTL system tests run random graphs whose requants include tie modes and exceptions
(tests/test_hls_csim.py, rtl_tests/test_rtl_system.py, ``random_graph._thresholds``)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hfn_hls.arith import requant
from hfn_hls.errors import HfnError
from hfn_hls.golden import GoldenModel
from hfn_hls.ir import requant as rq
from hfn_hls.ir.model import Graph, Op
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.lower import lower


def _op(sets: list[dict], out_min: int = 0) -> Op:
    return Op("requant", "rq", ["x"], "y", {"out_min": out_min, "sets": sets})


def _thresholds_of(f, lo: int, hi: int, levels: int, out_min: int) -> tuple[list, int]:
    """(thresholds, direction) of a monotone integer function ``f`` on [lo, hi] with
    outputs in [out_min, out_min + levels], found by evaluating it on every input (what the
    front end does with QONNX execution, by bisection)."""
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    y = f(xs)
    d = 1 if y[-1] >= y[0] else -1
    v, yv = (xs, y) if d > 0 else (-xs[::-1], y[::-1])
    th = []
    for j in range(levels):
        reach = yv >= out_min + j + 1
        th.append(int(v[np.argmax(reach)]) if reach.any() else int(v[-1]) + 1)
    return th, d


def _bn_quant(rng, levels: int, lo: int, hi: int, signed: bool):
    """A random BatchNorm + quantiser on the integer accumulator x: ``clip(round_half_even(
    (γ(x·s_in − μ)/σ + β) / s_out), qmin, qmax)`` in float32 like the exported model."""
    s_in = np.float32(rng.uniform(1e-4, 1e-1))
    span = (hi - lo) * float(s_in)
    gamma = np.float32(rng.uniform(0.2, 3.0) * (1 if rng.random() < 0.75 else -1))
    mu = np.float32(rng.uniform(lo, hi) * float(s_in))
    sigma = np.float32(rng.uniform(0.2, 1.5) * span / 4 + 1e-3)
    beta = np.float32(rng.normal(0, 0.5))
    s_out = np.float32(abs(gamma) * span / sigma / levels * rng.uniform(0.3, 1.5))
    qmin = -(levels + 1) // 2 if signed else 0

    def f(x):
        z = (gamma * (x.astype(np.float32) * s_in - mu) / sigma + beta) / s_out
        return np.clip(np.round(z), qmin, qmin + levels).astype(np.int64)
    return f, qmin


def _counts_equal(op: Op, c: rq.Compact, lo: int, hi: int) -> None:
    """Independent of ``check_compact``: on every x in [lo, hi], every set and row, the
    golden requant of the thresholds equals the compact count (threshold form and the
    hardware's bisection, exceptions added)."""
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    L = rq.levels(op)
    _, neg = rq.hw_form(op, lo, hi)
    stages = max(2, L.bit_length())
    for k, s in enumerate(op.attrs["sets"]):
        for r in range(rq.rows(op)):
            want = requant(xs[:, None], np.asarray([s["thresholds"][r]]),
                           np.asarray([s["direction"][r]]), 0)[:, 0]
            exc = c.exceptions_of(k, r)
            knee = c.knee_of(k, r)
            cnt = rq.count(xs, c.base[k, r], c.step[k, r], c.frac, c.tie, L, exc, knee)
            kx, b2, s2 = (xs[0], c.base[k, r], c.step[k, r]) if knee is None else knee
            for extra in (0, 3):                      # a unit with more fraction bits
                a, su = rq.unit_words(np.where(xs >= kx, b2, c.base[k, r]),
                                      np.where(xs >= kx, s2, c.step[k, r]), c.frac, c.tie,
                                      stages, c.frac + extra)
                hw = rq.unit_count(xs, a, su, c.tie, L, stages, c.frac + extra)
                hw = hw + np.asarray([exc.get(int(v), 0) for v in xs], dtype=np.int64)
                assert np.array_equal(hw, cnt), (k, r, extra)
            got = L - cnt if neg[k, r] else cnt
            assert np.array_equal(got, want), (k, r, xs[np.nonzero(got != want)[0][:3]])


# -- unit: the kinds of rows ---------------------------------------------------------------

def test_batchnorm_rows_are_exact_without_exceptions():
    rng = np.random.default_rng(1)
    lo, hi = -700, 900
    sets = []
    for _ in range(2):                                # two parameter sets (a folded block)
        th, d = zip(*[_thresholds_of(_bn_quant(rng, 15, lo, hi, False)[0], lo, hi, 15, 0)
                      for _ in range(8)])
        sets.append({"thresholds": list(th), "direction": list(d)})
    op = _op(sets)
    assert -1 in sets[0]["direction"] + sets[1]["direction"]
    c = rq.derive(op, lo, hi)
    assert c.exceptions == [] and c.tie == rq.TIE_NONE
    assert rq.check_compact(op, c, lo, hi) is None
    _counts_equal(op, c, lo, hi)
    # storage: a base, a step and a direction bit per row, far below 15 thresholds
    w = rq.widths(c, lo, hi)
    assert rq.compact_bits(c, lo, hi) == 16 * w.row and w.row <= 40


@pytest.mark.parametrize("k,b", [(1, 0.0), (1, 0.5), (2, 0.0), (2, 0.5), (3, -0.5)])
def test_power_of_two_requantisation_ties(k, b):
    """Re-quantising by 2^k with round-half-to-even (a residual sum): thresholds step
    unevenly at the ties; a tie mode reproduces them with no exception."""
    lo, hi = -300, 300
    th, d = _thresholds_of(lambda x: np.clip(np.round(x / 2.0 ** k + b), -8, 7), lo, hi, 15,
                           -8)
    op = _op([{"thresholds": [th], "direction": [d]}], -8)
    c = rq.derive(op, lo, hi)
    assert c.exceptions == []
    if k == 1 and b == 0.0:
        assert c.tie != rq.TIE_NONE                    # 1, 3, 1, 3, ... is not affine
    assert rq.check_compact(op, c, lo, hi) is None
    _counts_equal(op, c, lo, hi)


def test_constant_and_clipped_rows():
    """Every threshold below lo or above hi; a single level; thresholds shared by all."""
    op = _op([{"thresholds": [[-99, -50, 3], [99, 120, 130], [-5, 50, 50], [-99, 0, 99]],
               "direction": [1, 1, -1, -1]}], -1)
    c = rq.derive(op, -20, 20)
    assert rq.check_compact(op, c, -20, 20) is None
    _counts_equal(op, c, -20, 20)
    one = _op([{"thresholds": [[7]], "direction": [1]}])
    _counts_equal(one, rq.derive(one, -10, 10), -10, 10)


def test_rows_no_affine_row_reproduces_get_exceptions():
    """Thresholds moved off an affine row: the best row plus exception points, still exact
    on every input."""
    rng = np.random.default_rng(5)
    lo, hi = -400, 400
    th = []
    for r in range(6):
        t = np.ceil(-300 + r * 7 + np.arange(31) * 19.37).astype(int)
        for i in rng.choice(np.arange(1, 30), 3, replace=False):
            t[i] = int(np.clip(t[i] + rng.choice([-3, -1, 2]), t[i - 1], t[i + 1]))
        th.append(t.tolist())
    op = _op([{"thresholds": th, "direction": [1, -1, 1, 1, -1, 1]}], -16)
    c = rq.derive(op, lo, hi)
    assert c.exceptions and {r for _, r, _, _ in c.exceptions} <= set(range(6))
    assert rq.check_compact(op, c, lo, hi) is None
    _counts_equal(op, c, lo, hi)
    # stored: rows plus one entry per exception point, counted by compact_bits
    w = rq.widths(c, lo, hi)
    assert rq.compact_bits(c, lo, hi) == 6 * w.row + len(c.exceptions) * w.exception


def test_a_wrong_form_is_refused():
    """The proof can fail: a base off by one, a dropped exception, a negative step."""
    lo, hi = -200, 200
    th = [np.ceil(-150 + np.arange(15) * 21.3).astype(int).tolist(),
          [-100, -90, -60, -55, -20, 0, 5, 9, 40, 41, 42, 90, 100, 130, 190]]
    op = _op([{"thresholds": th, "direction": [1, 1]}])
    c = rq.derive(op, lo, hi)
    assert rq.check_compact(op, c, lo, hi) is None and c.exceptions
    bad = rq.Compact(c.frac, c.tie, c.base.copy(), c.step.copy(), list(c.exceptions))
    bad.base[0, 0] += 1 << c.frac
    assert "threshold" in rq.check_compact(op, bad, lo, hi)
    bad = rq.Compact(c.frac, c.tie, c.base, c.step, list(c.exceptions[1:]))
    assert "count differs" in rq.check_compact(op, bad, lo, hi)
    bad = rq.Compact(c.frac, c.tie, c.base, -c.step - 1, list(c.exceptions))
    assert "step" in rq.check_compact(op, bad, lo, hi)
    bad = rq.Compact(c.frac, c.tie, c.base * 0 + (1 << 62) - 10, c.step, list(c.exceptions))
    assert "too large" in rq.check_compact(op, bad, lo, hi)
    op.attrs["compact"] = rq.Compact(c.frac, c.tie, c.base, -c.step - 1,
                                     list(c.exceptions)).to_attrs()
    with pytest.raises(ValueError, match="does not reproduce"):
        rq.compact_of(op, lo, hi)
    for broken in ({"frac": 0}, {**c.to_attrs(), "sets": [{"base": ["x"], "step": [1]}]},
                   {**c.to_attrs(), "sets": [{"base": [1 << 70] * 2, "step": [1, 1]}]}):
        op.attrs["compact"] = broken
        with pytest.raises(ValueError, match="malformed"):
            rq.compact_of(op, lo, hi)


# -- property: random BatchNorm + quantiser chains ------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_random_batchnorm_chains_are_reproduced(seed):
    """Random BN / scales / widths / level counts (1 to 255), per-channel and shared rows,
    several parameter sets: the derived form reproduces every threshold on the input
    range (and every count: checked exhaustively, and by the hardware's bisection)."""
    rng = np.random.default_rng(1000 + seed)
    levels = int(rng.choice([1, 3, 7, 15, 31, 63, 255]))
    half = int(rng.choice([60, 500, 3000, 1 << 14]))
    lo, hi = -int(rng.integers(half // 4, half)), int(rng.integers(half // 4, half))
    signed = bool(rng.random() < 0.5)
    nrows = 1 if rng.random() < 0.25 else int(rng.integers(2, 9))
    sets = []
    out_min = None
    for _ in range(int(rng.integers(1, 4))):
        th, d = [], []
        for _ in range(nrows):
            f, qmin = _bn_quant(rng, levels, lo, hi, signed)
            t, dr = _thresholds_of(f, lo, hi, levels, qmin)
            th.append(t)
            d.append(dr)
            out_min = qmin
        sets.append({"thresholds": th, "direction": d})
    op = _op(sets, out_min)
    c = rq.derive(op, lo, hi)
    assert rq.check_compact(op, c, lo, hi) is None
    _counts_equal(op, c, lo, hi)
    # a float32 BatchNorm chain is (almost always) an affine row: few exception points
    assert len(c.exceptions) <= rq.channel_sets(op), len(c.exceptions)


@pytest.mark.parametrize("seed", range(6))
def test_arbitrary_monotone_rows_are_reproduced_with_exceptions(seed):
    """Thresholds that come from no affine function (random ascending integers): the
    form is still exact on every input, through exception points."""
    rng = np.random.default_rng(2000 + seed)
    levels = int(rng.choice([3, 7, 15, 31]))
    lo, hi = -int(rng.integers(20, 300)), int(rng.integers(20, 300))
    rows = int(rng.integers(1, 5))
    th = np.sort(rng.integers(lo - 5, hi + 6, (rows, levels)), axis=1)
    op = _op([{"thresholds": th.tolist(), "direction": rng.choice([-1, 1], rows).tolist()}],
             -1)
    c = rq.derive(op, lo, hi)
    assert rq.check_compact(op, c, lo, hi) is None
    _counts_equal(op, c, lo, hi)


# -- property: BatchNorm + LeakyReLU + quantiser chains (knees) ------------------------------

def _bn_leaky_quant(rng, levels: int, lo: int, hi: int, alpha: float):
    """A random BatchNorm, a LeakyReLU of slope ``alpha`` and a signed quantiser, in
    float32 like the exported model (two slopes per row: below and above the knee)."""
    s_in = np.float32(rng.uniform(1e-4, 1e-1))
    span = (hi - lo) * float(s_in)
    gamma = np.float32(rng.uniform(0.2, 3.0) * (1 if rng.random() < 0.75 else -1))
    mu = np.float32(rng.uniform(lo + (hi - lo) / 4, hi - (hi - lo) / 4) * float(s_in))
    sigma = np.float32(rng.uniform(0.2, 1.5) * span / 4 + 1e-3)
    beta = np.float32(rng.normal(0, 0.2))
    a = np.float32(alpha)
    s_out = np.float32(abs(gamma) * span / sigma / levels * rng.uniform(0.3, 0.8))
    qmin = -(levels + 1) // 2

    def f(x):
        z = gamma * (x.astype(np.float32) * s_in - mu) / sigma + beta
        z = np.where(z >= 0, z, z * a) / s_out
        return np.clip(np.round(z), qmin, qmin + levels).astype(np.int64)
    return f, qmin


def _leaky_op(rng, levels: int, lo: int, hi: int, nrows: int, nsets: int = 1) -> Op:
    sets, out_min = [], 0
    for _ in range(nsets):
        th, d = [], []
        for _ in range(nrows):
            f, out_min = _bn_leaky_quant(rng, levels, lo, hi, float(rng.uniform(0.02, 0.98)))
            t, dr = _thresholds_of(f, lo, hi, levels, out_min)
            th.append(t)
            d.append(dr)
        sets.append({"thresholds": th, "direction": d})
    return _op(sets, out_min)


@pytest.mark.parametrize("seed", range(10))
def test_random_leaky_chains_are_reproduced_with_knees(seed):
    """Random float32 BatchNorm + LeakyReLU (slope in (0, 1)) + quantiser chains, 1 to 255
    levels: rows with two slopes get a knee, and the derived form reproduces every
    threshold (every count, exhaustively and by the hardware's bisection on the
    segment the knee selects) with (almost) no exception point."""
    rng = np.random.default_rng(3000 + seed)
    levels = int(rng.choice([1, 3, 7, 15, 31, 63, 255]))
    half = int(rng.choice([500, 3000, 1 << 14]))
    lo, hi = -int(rng.integers(half // 2, half)), int(rng.integers(half // 2, half))
    op = _leaky_op(rng, levels, lo, hi, int(rng.integers(1, 7)), int(rng.integers(1, 3)))
    c = rq.derive(op, lo, hi)
    assert rq.check_compact(op, c, lo, hi) is None
    _counts_equal(op, c, lo, hi)
    assert len(c.exceptions) <= rq.channel_sets(op), len(c.exceptions)
    if levels >= 15:                                 # two slopes no single row follows
        assert c.knees
    # storage: a kneed op stores K, a second base and step per row beside the first
    w = rq.widths(c, lo, hi)
    assert (w.knee > 0) == bool(c.knees)
    assert rq.compact_bits(c, lo, hi) == rq.channel_sets(op) * w.row + \
        len(c.exceptions) * w.exception
    again = rq.Compact.from_attrs(json.loads(json.dumps(c.to_attrs())))
    assert again.knees == c.knees and rq.check_compact(op, again, lo, hi) is None


def test_a_wrong_knee_is_refused():
    """The proof can fail on a knee: moved, off its row, twice, a second base or step
    off, a negative second step; ``compact_of`` refuses such an IR."""
    rng = np.random.default_rng(7)
    lo, hi = -2000, 2000
    op = _leaky_op(rng, 31, lo, hi, 3)
    c = rq.derive(op, lo, hi)
    assert rq.check_compact(op, c, lo, hi) is None and len(c.knees) == 3 and not c.exceptions
    k, r, x, b, t = c.knees[0]

    def with_knee(*knee, extra=()):
        return rq.Compact(c.frac, c.tie, c.base, c.step, [], [knee] + c.knees[1:] + list(extra))
    for knee, why in [((k, r, lo + 1, b, t), "count differs"),    # one segment only
                      ((k, r, hi, b, t), "count differs"),
                      ((k, r, x, b + t + (1 << c.frac), t), "count differs"),
                      ((k, r, x, b, t + (t >> 2) + 1), "count differs"),
                      ((k, r, x, b, -1), "step"),
                      ((k, r, lo, b, t), "outside"),
                      ((k, 7, x, b, t), "outside")]:
        assert why in rq.check_compact(op, with_knee(*knee), lo, hi), knee
    assert "twice" in rq.check_compact(op, with_knee(k, r, x, b, t, extra=[(k, r, x, b, t)]),
                                       lo, hi)
    no_knee = rq.Compact(c.frac, c.tie, c.base, c.step, [], c.knees[1:])
    assert "threshold" in rq.check_compact(op, no_knee, lo, hi)
    op.attrs["compact"] = with_knee(k, r, x, b + t + (1 << c.frac), t).to_attrs()
    with pytest.raises(ValueError, match="does not reproduce"):
        rq.compact_of(op, lo, hi)


def test_three_slopes_over_a_wide_range_are_refused():
    """What is still refused: a row no pair of affine segments follows (three slopes)
    needs exception points beyond ``MAX_EXCEPTIONS``: derive says so (the IR pass turns
    it into an HfnError naming the op), never a wrong form."""
    lo, hi = -6000, 6000

    def f(x):
        z = np.where(x < -2000, -2000 + (x + 2000) / 8.0, np.where(x > 2000, 2000 + (x - 2000)
                                                                  / 8.0, x * 1.0))
        return np.clip(np.round(z / 80.0), -32, 31)
    th, d = _thresholds_of(f, lo, hi, 63, -32)
    op = _op([{"thresholds": [th] * 3, "direction": [d] * 3}], -32)
    with pytest.raises(ValueError, match="affine row"):
        rq.derive(op, lo, hi)


# -- the IR pass, the lowering and the report ----------------------------------------------

def test_ir_pass_stores_a_proven_form_and_the_lowering_checks_it(tmp_path):
    g = random_graph(3)
    ops = [o for o in g.walk() if o.kind == "requant"]
    assert ops and all("compact" in o.attrs for o in ops)
    for o in ops:
        x = g.tensors[o.inputs[0]]
        assert rq.check_compact(o, rq.Compact.from_attrs(o.attrs["compact"]), x.lo, x.hi) \
            is None
    p = tmp_path / "ir.json"
    g.save(p)
    assert json.loads(p.read_text())["ops"]                 # the form travels in the IR
    g2 = Graph.load(p)
    assert [o.attrs["compact"] for o in g2.walk() if o.kind == "requant"] == \
        [o.attrs["compact"] for o in ops]
    # tamper: a base moved by a whole threshold step -> the lowering refuses the IR
    victim = next(o for o in g2.walk() if o.kind == "requant" and rq.levels(o) > 1)
    victim.attrs["compact"]["sets"][0]["base"][0] += victim.attrs["compact"]["sets"][0][
        "step"][0] + (1 << victim.attrs["compact"]["frac"])
    with pytest.raises(HfnError, match="does not reproduce"):
        lower(g2)


def test_report_of_a_model_gives_channel_sets_and_the_floor(tmp_path, capsys):
    """``hfn-hls report model.onnx --json``: totals.requant_channel_sets, floor_bits (mask
    + LFSR states + 32 per channel-set) beside on_chip_bits (untrained digits preset)."""
    pytest.importorskip("torch")
    from hfn_hls.cli import main
    from hfn_hls.ir.build import build_ir
    from hfn_hls.testing import preset_onnx

    onnx = preset_onnx("digits", tmp_path)
    assert main(["report", str(onnx), "--json"]) == 0
    t = json.loads(capsys.readouterr().out)["totals"]
    g = build_ir(onnx)
    sets = sum(rq.channel_sets(o) for o in g.walk() if o.kind == "requant")
    assert t["requant_channel_sets"] == sets > 0
    assert t["floor_bits"] == t["mask_bits"] + t["lfsr_state_bits"] + 32 * sets
    assert t["floor_bits"] == rq.floor_bits(g)
    assert t["on_chip_bits"] == t["mask_bits"] + t["lfsr_state_bits"] + t["requant_bits"]
    assert t["requant_bits"] == sum(rq.requant_bits(o, g.tensors[o.inputs[0]].lo,
                                                    g.tensors[o.inputs[0]].hi)
                                    for o in g.walk() if o.kind == "requant")
    assert t["requant_bits_per_channel_set"] <= 40
    assert t["ratio_floor"] == pytest.approx(t["on_chip_bits"] / t["floor_bits"])
    assert t["ratio_floor"] <= 1.15


# -- system: the hardware's algorithm on the trained digits model vs QONNX ----------------

class CompactModel(GoldenModel):
    """The golden model with every requant computed as the hardware does: the compact
    rows through the bisection of the requant unit (``unit_words`` / ``unit_count``),
    plus exception points -- never the thresholds."""

    def _requant(self, op: Op, it: int, x: np.ndarray) -> np.ndarray:
        t = self.graph.tensors[op.inputs[0]]
        c = rq.compact_of(op, t.lo, t.hi)
        _, neg = rq.hw_form(op, t.lo, t.hi)
        L = rq.levels(op)
        stages = max(2, L.bit_length())
        a, s = rq.unit_words(c.base[it], c.step[it], c.frac, c.tie, stages, c.frac)
        cnt = rq.unit_count(x, a, s, c.tie, L, stages, c.frac)
        for k, r, v, d in c.exceptions:
            if k == it:
                sel = (x == v) if rq.rows(op) == 1 else (x[..., r] == v)
                if rq.rows(op) == 1:
                    cnt = cnt + d * sel
                else:
                    cnt[..., r] += d * sel
        return op.attrs["out_min"] + np.where(neg[it].astype(bool), L - cnt, cnt)


def test_hardware_requant_equals_qonnx_on_the_digits_test_set(digits_onnx, digits_ir,
                                                              digits_test_codes):
    from hfn_hls.data import load_dataset
    from hfn_hls.ir.build import execute_qonnx

    codes, _ = digits_test_codes
    got = CompactModel(digits_ir).run(codes)
    q = execute_qonnx(digits_onnx, load_dataset("digits").x_test)
    qcodes = np.rint(q / digits_ir.meta["output_scale"]).astype(np.int64)
    assert np.array_equal(got, qcodes), np.argwhere(got != qcodes)[:5]
    assert np.array_equal(got, GoldenModel(digits_ir).run(codes))
    sets = sum(rq.channel_sets(o) for o in digits_ir.walk() if o.kind == "requant")
    bits = sum(rq.requant_bits(o, digits_ir.tensors[o.inputs[0]].lo,
                               digits_ir.tensors[o.inputs[0]].hi)
               for o in digits_ir.walk() if o.kind == "requant")
    assert bits / sets <= 40, bits / sets
