"""The ``stored`` weight source (issue 10) and the networks it compiles: a plain Brevitas CNN
(export_qonnx, no metadata), a model mixing stored and generated layers, ``--method dense``
and ``layerfold`` exports; golden == QONNX, C simulation bit-exact; refusals of what the
compiler does not take; the memory report's stored bits."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from hfn_hls.boards import load_board
from hfn_hls.data import load_dataset
from hfn_hls.golden import GoldenModel
from hfn_hls.hls import run_csim
from hfn_hls.ir.build import build_ir, execute_qonnx
from hfn_hls.ir.model import Graph, Layer
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.ir.ranges import weight_width
from hfn_hls.lanes import parse_lanes
from hfn_hls.project.writer import generate
from hfn_hls.weights import WeightQuant, get_source, layer_bias, layer_weights
from hfn_hls.weights.stored import decode, encode

from wgen_contract import check_cpp_generators

STORED = get_source("stored")


def hfn(*args):
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1, err
    return lines[0]


def golden_vs_qonnx(path, graph, x_nchw) -> tuple[np.ndarray, np.ndarray]:
    """(golden codes, QONNX outputs in codes) for float images: the golden model runs on
    the codes its input quantiser makes, QONNX on the images themselves."""
    gm = GoldenModel(graph)
    gold = gm.run(gm.quantize_input(x_nchw.transpose(0, 2, 3, 1)))
    q = execute_qonnx(path, x_nchw) / graph.meta["output_scale"]
    assert np.abs(q - np.rint(q)).max() < 0.05       # the outputs are scaled integers
    return gold, np.rint(q).astype(np.int64)


def csim(graph, tmp_path, codes, lanes="16"):
    prj = tmp_path / "prj"
    generate(graph, load_board("pynq-z2"), parse_lanes(lanes), prj, inputs=codes, rtl=False)
    return run_csim(prj)


# -- the source -------------------------------------------------------------------------------

def test_params_round_trip_and_validation():
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (5, 3, 3, 4))
    assert np.array_equal(decode(encode(w), w.shape), w)
    p = STORED.params({"bits": 8, "bias": [1, -2, 3, 4, 5], "scale": np.arange(1.0, 6.0)}, w)
    lay = Layer("l", [5, 3, 3, 4], "stored", p)
    assert STORED.validate_params(lay, None) is None
    assert np.array_equal(layer_weights(lay), w)
    assert layer_bias(lay).tolist() == [1, -2, 3, 4, 5]
    assert json.loads(json.dumps(p)) == p                       # JSON as it is
    bad = [({**p, "bits": 9}, "bits"), ({**p, "bits": 4}, "4-bit range"),
           ({**p, "bits": True}, "bits"),
           ({**p, "weights": p["weights"][:-2]}, "weights"), ({**p, "weights": "zz"}, "hex"),
           ({**p, "weights": p["weights"].upper()}, "hex"),
           ({**p, "bias": [1, 2]}, "bias"), ({**p, "bias": [1.5] * 5}, "integers"),
           ({**p, "scale": [1.0, 2.0]}, "scales"), ({**p, "scale": float("nan")}, "scale"),
           ({"bits": 8}, "weights")]
    for params, needle in bad:
        reason = STORED.validate_params(Layer("l", [5, 3, 3, 4], "stored", params), None)
        assert reason and reason.startswith("params: ") and needle in reason, (needle, reason)


def test_integer_weights_are_qonnx_integers_and_scales():
    """Per-output-channel float scales: the integers QONNX's Quant makes, one scale per
    channel; per-tensor: one float; refusals: no Quant node, more than 8 bits."""
    rng = np.random.default_rng(1)
    s = rng.uniform(0.01, 0.1, (4, 1, 1, 1)).astype(np.float32)
    q = rng.integers(-31, 32, (4, 2, 3, 3))
    w = (q * s).astype(np.float32)
    ints, scale = STORED.integer_weights(w, WeightQuant(np.broadcast_to(s, w.shape), 6))
    assert np.array_equal(ints, q.transpose(0, 2, 3, 1))
    assert np.allclose(scale, s.reshape(-1)) and np.ndim(scale) == 1
    ints, scale = STORED.integer_weights(w, WeightQuant(np.full(w.shape, 0.5, np.float32), 4))
    assert scale == 0.5 and ints.min() >= -8 and ints.max() <= 7    # clamped like QONNX
    with pytest.raises(ValueError, match="without a Quant node"):
        STORED.integer_weights(w, None)
    with pytest.raises(ValueError, match="10 bits exceeds 8"):
        STORED.integer_weights(w, WeightQuant(np.broadcast_to(s, w.shape), 10))


def test_weight_width_keeps_two_bits_ternary():
    g = Graph("g", "x", "y", {}, {}, [])
    for vals, wb in (([-1, 0, 1], 2), ([-2, 1], 3), ([-8, 7], 4), ([0, 5], 4), ([-128], 8)):
        w = np.array(vals).reshape(len(vals), 1, 1, 1)
        g.layers["l"] = Layer("l", list(w.shape), "stored", {"bits": 8, "weights": encode(w)})
        assert weight_width(g, "l") == wb, vals
        assert STORED.storage_bits(g.layers["l"], g) == {"weights": len(vals) * wb}




@pytest.mark.parametrize("lanes", ["1x8", "4x32", "2x3"])
def test_cpp_stored_generator_gives_the_layers_weights(tmp_path, lanes):
    """hfn_wgen_stored.h behind the generator contract, with the ROMs the source writes
    into parameters.h, gives every layer's weights in canonical order."""
    g = random_graph(4, max_width=6, stored=1.0, weight_bits=7)
    layers = list(g.layers.values())
    assert {l.source for l in layers} == {"stored"}
    gens = [STORED.hls_generator(l, g, parse_lanes(lanes), f"L{i}") for i, l in enumerate(layers)]
    check_cpp_generators(tmp_path, g, layers, gens)


@pytest.mark.parametrize("seed,stored,pool,lanes", [(0, 1.0, True, "4x8"), (3, 0.5, True, "2x4"),
                                                    (5, 0.5, False, "16"), (8, 1.0, False, "3x5")])
def test_random_stored_graphs_csim(tmp_path, seed, stored, pool, lanes):
    """Random graphs whose layers are stored (with biases) or mixed with hfn layers, with
    and without max pooling, through C simulation: bit-exact with the golden model."""
    g = random_graph(seed, stored=stored, pool=pool, weight_bits=5)
    assert any(l.source == "stored" for l in g.layers.values())
    assert any(layer_bias(l, g) is not None for l in g.layers.values())
    codes = np.random.default_rng(seed).integers(0, 256, (20, *g.input_tensor.shape))
    r = csim(g, tmp_path, codes, lanes)
    assert r["vectors"] == 20 and r["mismatches"] == 0, r
    assert len(np.unique(GoldenModel(g).run(codes))) > 3


# -- the Brevitas CNN (tests/brevitas_cnn.py) ------------------------------------------------

def test_brevitas_cnn_compiles_as_a_stored_model(brevitas_cnn, brevitas_cnn_ir):
    g = brevitas_cnn_ir
    assert {l.source for l in g.layers.values()} == {"stored"}
    assert list(g.layers) == ["stem", "conv1", "conv2", "fc"]
    assert [o.kind for o in g.ops].count("maxpool") == 1 and "add" in [o.kind for o in g.ops]
    assert len(g.layers["stem"].params["scale"]) == 16          # per-channel float scales
    assert g.layers["fc"].shape == [10, 4, 4, 16]               # linear on the 4x4 map
    assert len(g.layers["fc"].params["bias"]) == 10             # its Int32 bias
    assert "bias" not in g.layers["conv2"].params               # float bias: in the requant
    assert g.meta["classes"] == 10 and g.meta["output_scale"] > 0
    text = g.to_json()
    assert Graph.from_dict(json.loads(text)).to_json() == text


def test_linear_after_flatten_takes_nchw_order(brevitas_cnn, brevitas_cnn_ir):
    """The Gemm's input feature f = (c*H + h)*W + w (NCHW flatten) is the IR layer's weight
    [o, h, w, c] (channels-last)."""
    from hfn_hls.weights.stored import quantise

    m = onnx.load(str(brevitas_cnn[0]))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    wq = next(n for n in m.graph.node if n.op_type == "Quant" and n.input[0] == "fc.weight")
    scale = inits[wq.input[1]]
    q = quantise(inits["fc.weight"], WeightQuant(np.broadcast_to(scale, (10, 256)), 8))
    w = layer_weights(brevitas_cnn_ir.layers["fc"])
    for o, c, h, x in [(0, 0, 0, 1), (3, 5, 2, 3), (9, 15, 3, 0), (7, 1, 0, 0)]:
        assert w[o, h, x, c] == q[o, (c * 4 + h) * 4 + x]


def test_brevitas_cnn_golden_equals_qonnx_on_every_code(brevitas_cnn, brevitas_cnn_ir):
    """Every output code of every digits test image, exact; the golden model's accuracy is
    the Brevitas model's."""
    d = load_dataset("digits")
    gold, q = golden_vs_qonnx(brevitas_cnn[0], brevitas_cnn_ir, d.x_test)
    assert gold.shape == (360, 10)
    assert np.array_equal(q, gold), np.argwhere(q != gold)[:5]
    acc = float((gold.argmax(1) == d.y_test).mean())
    assert acc == brevitas_cnn[1] and acc > 0.9


def test_brevitas_cnn_csim_bit_exact_on_120_images(tmp_path, brevitas_cnn_ir):
    gm = GoldenModel(brevitas_cnn_ir)
    codes = gm.quantize_input(load_dataset("digits").x_test.transpose(0, 2, 3, 1))[:120]
    r = csim(brevitas_cnn_ir, tmp_path, codes)
    assert r["vectors"] == 120 and r["mismatches"] == 0, r


def test_rest_of_the_op_set_golden_and_csim(tmp_path, ops_onnx):
    """Strided 3x3 and 5x5 convolutions, a float conv bias, a signed activation, AvgPool2d
    over the map, QuantLinear exported as Transpose + MatMul: golden == QONNX, csim
    bit-exact."""
    kinds = [n.op_type for n in onnx.load(str(ops_onnx)).graph.node]
    for op in ("AveragePool", "Transpose", "MatMul"):
        assert op in kinds, op
    g = build_ir(ops_onnx)
    assert [l.shape for l in g.layers.values()] == [[8, 3, 3, 1], [12, 5, 5, 8], [10, 1, 1, 12]]
    assert [o.kind for o in g.ops] == ["conv", "requant", "conv", "requant", "global_sum", "conv"]
    assert g.tensors[g.ops[1].output].lo < 0                 # the signed activation
    x = np.random.default_rng(4).random((64, 1, 8, 8)).astype(np.float32)
    gold, q = golden_vs_qonnx(ops_onnx, g, x)
    assert np.array_equal(q, gold) and len(np.unique(gold)) > 10
    codes = np.random.default_rng(5).integers(0, 256, (30, 8, 8, 1))
    r = csim(g, tmp_path, codes, "2x4")
    assert r["vectors"] == 30 and r["mismatches"] == 0, r


def test_leaky_relu_with_a_general_slope_golden_and_csim(tmp_path, leaky_onnx):
    """A LeakyReLU of slope 1/8 before the signed quantiser: two slopes per requant row,
    stored as a knee (docs/arithmetic.md); golden == QONNX on every image of the digits
    test set, csim bit-exact (the hfn::rq_knee stage)."""
    path = leaky_onnx
    assert "LeakyRelu" in [n.op_type for n in onnx.load(str(path)).graph.node]
    g = build_ir(path)
    knees = [len(o.attrs["compact"]["sets"][0].get("knees", [])) for o in g.walk()
             if o.kind == "requant"]
    assert knees[0] == 8, knees                      # every channel of the leaky requant
    d = load_dataset("digits")
    gold, q = golden_vs_qonnx(path, g, d.x_test)
    assert np.array_equal(q, gold) and len(np.unique(gold)) > 10
    codes = GoldenModel(g).quantize_input(d.x_test.transpose(0, 2, 3, 1))[:40]
    r = csim(g, tmp_path, codes, "2x4")
    assert r["vectors"] == 40 and r["mismatches"] == 0, r


# -- a model mixing sources; dense and layerfold exports ---------------------------------------

def test_mixed_model_golden_and_csim(tmp_path, mixed_onnx):
    g = build_ir(mixed_onnx)
    src = {n: l.source for n, l in g.layers.items()}
    assert src["stem"] == src["head"] == "stored"
    assert {s for n, s in src.items() if n not in ("stem", "head")} == {"hfn"}
    assert any(o.kind == "fold" for o in g.ops)
    x = np.random.default_rng(1).random((16, 1, 8, 8)).astype(np.float32)
    gold, q = golden_vs_qonnx(mixed_onnx, g, x)
    assert np.array_equal(q, gold) and len(np.unique(gold)) > 3
    codes = np.random.default_rng(2).integers(0, 256, (50, 8, 8, 1))
    r = csim(g, tmp_path, codes)
    assert r["vectors"] == 50 and r["mismatches"] == 0, r


@pytest.mark.parametrize("method", ["dense", "layerfold"])
def test_method_exports_compile_golden_and_csim(tmp_path, request, method):
    path, metrics = request.getfixturevalue(f"{method}_onnx")
    g = build_ir(path)
    assert {l.source for l in g.layers.values()} == {"stored"}
    assert len(g.layers) == metrics.get("convs_after", len(g.layers))
    if method == "layerfold":
        assert metrics["merged"], "the short training merged no conv: nothing tested"
        assert max(l.shape[1] for l in g.layers.values()) >= 5          # a merged kernel
    d = load_dataset("digits")
    gold, q = golden_vs_qonnx(path, g, d.x_test)
    assert np.array_equal(q, gold), np.argwhere(q != gold)[:5]
    assert float((gold.argmax(1) == d.y_test).mean()) == pytest.approx(
        metrics["test_accuracy"], abs=1e-9)
    codes = GoldenModel(g).quantize_input(d.x_test.transpose(0, 2, 3, 1))[:100]
    r = csim(g, tmp_path, codes)
    assert r["vectors"] == 100 and r["mismatches"] == 0, r


# -- what the compiler refuses: one line naming the node, exit 2 --------------------------------

def _export(model, path, shape=(1, 1, 8, 8)):
    import warnings

    from brevitas.export import export_qonnx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model.eval(), args=torch.zeros(*shape), export_path=str(path),
                     dynamo=False)
    return path


class _Net(torch.nn.Module):
    def __init__(self, conv, cat=False):
        super().__init__()
        import brevitas.nn as qnn
        from brevitas.quant import Uint8ActPerTensorFloat
        self.inp = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat)
        self.conv, self.cat = conv, cat

    def forward(self, x):
        x = self.inp(x)
        return torch.cat([x, x], 1) if self.cat else self.conv(x)


def _bad_model(case: str):
    """(model, input shape, node named in the error, reason in the error)."""
    import brevitas.nn as qnn
    torch.manual_seed(0)
    if case == "float weights":
        return _Net(torch.nn.Conv2d(1, 4, 3)), 1, "/conv/Conv", \
            "float weights without a Quant node"
    if case == "grouped":
        return _Net(qnn.QuantConv2d(4, 4, 3, groups=2)), 4, "/conv/Conv", \
            "grouped convolution (group=2)"
    if case == "concat":
        return _Net(None, cat=True), 1, "/Concat", "'Concat' is not supported"
    return _Net(qnn.QuantConv2d(1, 4, 3, weight_bit_width=10)), 1, "/conv/Conv", \
        "weight width 10 bits exceeds 8"


@pytest.mark.parametrize("case", ["float weights", "grouped", "concat", "wide weights"])
def test_bad_input_is_one_line_exit_2(tmp_path, case):
    model, ch, node, needle = _bad_model(case)
    path = _export(model, tmp_path / "bad.onnx", (1, ch, 8, 8))
    for cmd in (["ir", path], ["generate", path, "-o", tmp_path / "prj"]):
        rc, _, err = hfn(*cmd)
        assert rc == 2, err
        line = one_line_error(err)
        assert node in line and needle in line, line


# -- the memory report -------------------------------------------------------------------------

def test_report_counts_stored_beside_generated_bits(brevitas_cnn, mixed_onnx):
    rc, out, err = hfn("report", brevitas_cnn[0], "--json")
    assert rc == 0, err
    r = json.loads(out)
    g = build_ir(brevitas_cnn[0])
    want = sum(l.size * weight_width(g, n) for n, l in g.layers.items()) + \
        10 * STORED.bias_bits(g.layers["fc"])
    t = r["totals"]
    assert t["stored_bits"] == want and t["generated_bits"] == 0 and t["mask_bits"] == 0
    assert t["on_chip_bits"] == want + t["requant_bits"]
    assert r["hfn"] is False
    fc = next(l for l in r["layers"] if l["name"] == "fc")
    assert fc["stored_bits"] == 2560 * weight_width(g, "fc") + 10 * STORED.bias_bits(g.layers["fc"])
    assert fc["weight_bits_by_kind"]["bias"] == 10 * STORED.bias_bits(g.layers["fc"])
    rc, out, err = hfn("report", mixed_onnx, "--json")
    r = json.loads(out)
    rows = {l["name"]: l for l in r["layers"]}
    gm = build_ir(mixed_onnx)
    assert rows["stem"]["stored_bits"] == 72 * weight_width(gm, "stem") > 0
    assert rows["stem"]["generated_bits"] == 0
    body = rows["body.convs.0"]
    assert body["generated_bits"] == body["mask_bits"] + body["lfsr_state_bits"] > 0
    assert body["stored_bits"] == 0
    assert r["totals"]["stored_bits"] == sum(l["stored_bits"] for l in r["layers"])
    assert r["totals"]["generated_bits"] == sum(l["generated_bits"] for l in r["layers"])
    rc, out, _ = hfn("report", mixed_onnx)
    assert "stored bits" in out and "weights: generated" in out


def test_ir_loader_asks_the_source_to_validate_its_params(tmp_path):
    g = random_graph(0, stored=1.0)
    name = next(iter(g.layers))
    g.layers[name].params["weights"] = g.layers[name].params["weights"][:-4]
    p = tmp_path / "ir.json"
    g.save(p)
    rc, _, err = hfn("generate", p, "-o", tmp_path / "prj")
    assert rc == 2
    line = one_line_error(err)
    assert f"layer {name}" in line and "params: " in line and "weights" in line, line
