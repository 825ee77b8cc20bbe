"""The IR document (docs/ir.md): version 2 round trip, version-1 files still load, and the
weight-source registry that turns a layer's params into weights."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hfn_hls import lfsr
from hfn_hls.errors import HfnError
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.model import VERSION, Graph, Layer
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.ir.requant import check_compact
from hfn_hls.lower import lower
from hfn_hls.weights import REGISTRY, SOURCES, get_source, layer_weights
from hfn_hls.weights.hfn import mask_of

V1 = Path(__file__).parent / "data" / "ir_v1_random2.json"   # written by the v1 code


def _structure(g: Graph) -> dict:
    """The document without requant parameters (random_graph draws requantisation
    functions since the compact form, issue 13.4; the v1 file holds quantile thresholds)."""
    d = json.loads(g.to_json())

    def strip(ops):
        for o in ops:
            if o["kind"] == "requant":
                o["attrs"] = {"out_min": o["attrs"]["out_min"],
                              "shape": [len(s["thresholds"]) for s in o["attrs"]["sets"]]}
            strip(o.get("body", []))
    strip(d["ops"])
    return d


def test_version_1_document_loads_as_version_2():
    d = json.loads(V1.read_text())
    assert d["version"] == 1 and "seed" in next(iter(d["layers"].values()))
    g = Graph.load(V1)
    now = random_graph(2, max_width=4, image=5)       # the same graph, built today
    assert VERSION == 2 and g.to_dict()["version"] == 2
    assert _structure(g) == _structure(now)
    for name, layer in g.layers.items():
        v1 = d["layers"][name]
        assert layer.source == "hfn" and layer.params == {
            "seed": v1["seed"], "mask": v1["mask"], "k": v1["k"]}
    x = np.random.default_rng(0).integers(0, 256, (4, *g.input_tensor.shape))
    assert GoldenModel(g).run(x).shape == GoldenModel(now).run(x).shape
    # a document without compact forms: the lowering derives them (the v1 thresholds are
    # quantiles, not affine: many exception points), proven on the input ranges
    assert not any("compact" in o.attrs for o in g.walk())
    rqs = lower(g).requants()
    assert rqs and sum(len(r.exceptions) for r in rqs) > 0
    for r in rqs:
        assert check_compact(r.op, r.compact, r.x.lo, r.x.hi) is None


def test_version_2_round_trip_and_unknown_versions():
    g = random_graph(3)
    d = json.loads(g.to_json())
    assert d["version"] == 2 and d["shared"] == {}
    assert set(next(iter(d["layers"].values()))) == {"name", "shape", "source", "params"}
    assert Graph.from_dict(d).to_json() == g.to_json()
    for bad in (0, 3):
        with pytest.raises(HfnError, match="version"):
            Graph.from_dict({**d, "version": bad})


def test_hfn_source_makes_lfsr_times_mask():
    g = random_graph(4)
    for layer in g.layers.values():
        co, kh, kw, ci = layer.shape
        bits = lfsr.sign_bits(layer.params["seed"], co, kh * kw * ci).reshape(co, kh, kw, ci)
        want = (1 - 2 * bits.astype(np.int64)) * mask_of(layer)
        w = layer_weights(layer, g)
        assert w.dtype == np.int64 and np.array_equal(w, want)
        src = get_source("hfn")
        assert src.storage_bits(layer, g) == {"mask": layer.size, "lfsr_states": 32 * co}
        assert src.mismatch({"seed": layer.params["seed"]}, w.astype(np.int8), {}) is None
        if np.count_nonzero(w):
            flipped = w.astype(np.int8).copy()
            flipped[np.nonzero(flipped)[0][0], ...] *= -1
            assert "do not match the LFSR stream" in src.mismatch(
                {"seed": layer.params["seed"]}, flipped, {})


def test_registry_lists_its_sources_and_refuses_unknown_ones():
    assert set(SOURCES) == set(REGISTRY) and "hfn" in REGISTRY
    with pytest.raises(HfnError, match="not a registered weight source"):
        layer_weights(Layer("x", [1, 1, 1, 1], "nope", {}))


def test_ir_imports_neither_golden_nor_torch():
    code = ("import sys, hfn_hls.ir.model, hfn_hls.ir.ranges, hfn_hls.ir.random_graph, "
            "hfn_hls.ir.build, hfn_hls.lower\n"
            "bad = [m for m in ('hfn_hls.golden', 'torch', 'brevitas') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
