"""The golden model's arithmetic (docs/arithmetic.md) on hand-made cases."""
import json

import numpy as np

from hfn_hls.golden import GoldenModel, conv2d, maxpool2d, requant
from hfn_hls.ir.model import Graph
from hfn_hls.ir.random_graph import random_graph


def test_conv2d_matches_direct_loops():
    rng = np.random.default_rng(1)
    x = rng.integers(-8, 9, (2, 5, 6, 3))
    w = rng.integers(-1, 2, (4, 3, 3, 3))
    for stride, pad in [(1, 1), (2, 1), (1, 0), (2, 0)]:
        y = conv2d(x, w, stride, pad)
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        for n in range(2):
            for i in range(y.shape[1]):
                for j in range(y.shape[2]):
                    for c in range(4):
                        ref = (xp[n, i * stride:i * stride + 3, j * stride:j * stride + 3, :]
                               * w[c]).sum()
                        assert y[n, i, j, c] == ref


def test_requant_counts_thresholds_with_direction():
    x = np.arange(-5, 6).reshape(1, 1, 11, 1).repeat(2, axis=3)
    th = np.array([[-2, 0, 3], [-1, 1, 4]])
    d = np.array([1, -1])
    y = requant(x, th, d, -1)
    ref0 = -1 + (x[..., 0:1] >= -2) + (x[..., 0:1] >= 0) + (x[..., 0:1] >= 3)
    ref1 = -1 + (-x[..., 1:2] >= -1) + (-x[..., 1:2] >= 1) + (-x[..., 1:2] >= 4)
    assert np.array_equal(y, np.concatenate([ref0, ref1], axis=3))


def test_requant_shared_row_broadcasts():
    x = np.array([[[[0, 5, 10]]]])
    y = requant(x, np.array([[1, 6]]), np.array([1]), 0)
    assert y.tolist() == [[[[0, 1, 2]]]]


def test_maxpool_ignores_padding():
    x = -np.ones((1, 2, 2, 1), dtype=np.int64) * 3
    y = maxpool2d(x, 3, 2, 1)
    assert y.tolist() == [[[[-3]]]]


def test_fold_runs_body_n_times_with_per_iteration_sets():
    g = None
    for s in range(40):
        g = random_graph(s)
        if any(o.kind == "fold" and o.attrs["iterations"] > 1 for o in g.ops):
            break
    fold = next(o for o in g.ops if o.kind == "fold" and o.attrs["iterations"] > 1)
    rq = [o for o in fold.body if o.kind == "requant"]
    assert all(len(o.attrs["sets"]) == fold.attrs["iterations"] for o in rq)
    m = GoldenModel(g)
    x = np.random.default_rng(0).integers(0, 256, (3, *g.input_tensor.shape))
    trace = {}
    m.run(x, trace)
    assert len(trace[fold.attrs["body_output"]]) == fold.attrs["iterations"]


def test_ir_json_roundtrip_is_stable():
    g = random_graph(4)
    text = g.to_json()
    g2 = Graph.from_dict(json.loads(text))
    assert g2.to_json() == text
    x = np.random.default_rng(0).integers(0, 256, (4, *g.input_tensor.shape))
    y = GoldenModel(g).run(x)
    assert len({tuple(r) for r in y}) == 4           # informative outputs
    assert np.array_equal(y, GoldenModel(g2).run(x))


def test_out_of_range_input_is_refused():
    g = random_graph(1)
    x = np.full((1, *g.input_tensor.shape), 300)
    try:
        GoldenModel(g).run(x)
    except ValueError as e:
        assert "outside" in str(e)
    else:
        raise AssertionError("out-of-range input accepted")
