"""Train -> export -> IR -> golden model on digits, against QONNX execution and Brevitas."""
import json
import re

import numpy as np
import onnx
import torch

from hfn_hls.data import load_dataset
from hfn_hls.export import read_metadata
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.build import execute_qonnx
from hfn_hls.ir.model import Graph
from hfn_hls.weights import layer_weights
from hfn_hls.weights import layer_weights


def test_digits_accuracy_and_metrics(digits_run):
    run, metrics = digits_run
    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert 0.97 <= on_disk["test_accuracy"] <= 1.0
    assert on_disk["train_seconds"] > 0
    assert (run / "model.pt").is_file()


def test_export_carries_metadata(digits_onnx):
    meta = read_metadata(onnx.load(str(digits_onnx)))
    assert meta["preset"] == "digits" and meta["sign_source"] == "lfsr"
    assert [f["iterations"] for f in meta["folds"]] == [2, 1]
    assert len(meta["conv_calls"]) == 11 and len(meta["layers"]) == 9


def test_ir_has_folds_and_verified_layers(digits_ir):
    folds = [o for o in digits_ir.ops if o.kind == "fold"]
    assert [f.attrs["iterations"] for f in folds] == [2, 1]
    body_layers = [o.attrs["layer"] for o in folds[0].body if o.kind == "conv"]
    assert body_layers == ["blocks.0.convs.0", "blocks.0.convs.1"]
    assert all(len(o.attrs["sets"]) == 2 for o in folds[0].body if o.kind == "requant")
    assert len(digits_ir.layers) == 9
    text = digits_ir.to_json()
    assert Graph.from_dict(json.loads(text)).to_json() == text


def test_ir_weights_equal_the_onnx_weights(digits_onnx, digits_ir):
    """Each Conv node's weight (named after its module: /blocks.0/convs.1_1/Conv is the
    second call of blocks.0.convs.1) equals its IR layer's integer weights."""
    m = onnx.load(str(digits_onnx))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    seen = set()
    for n in m.graph.node:
        if n.op_type != "Conv":
            continue
        name = re.sub(r"_\d+$", "", n.name.strip("/").rsplit("/", 1)[0]).replace("/", ".")
        oihw = layer_weights(digits_ir.layers[name]).transpose(0, 3, 1, 2)
        assert np.array_equal(inits[n.input[1]], oihw), (n.name, name)
        seen.add(name)
    assert seen == set(digits_ir.layers)


def test_golden_equals_qonnx_and_brevitas_on_the_test_set(digits_run, digits_onnx, digits_ir,
                                                         digits_test_codes):
    from hfn_hls.train import load_checkpoint

    codes, labels = digits_test_codes
    gold = GoldenModel(digits_ir).run(codes)
    d = load_dataset("digits")
    q = execute_qonnx(digits_onnx, d.x_test)
    qcodes = np.rint(q / digits_ir.meta["output_scale"]).astype(np.int64)
    assert np.array_equal(qcodes, gold), np.argwhere(qcodes != gold)[:5]
    model = load_checkpoint(digits_run[0]).eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(d.x_test)).numpy()
    brevitas_acc = (logits.argmax(1) == labels).mean()
    golden_acc = (gold.argmax(1) == labels).mean()
    assert golden_acc == brevitas_acc
    assert golden_acc == digits_run[1]["test_accuracy"]


def test_resnet20_golden_equals_qonnx(resnet20_onnx, resnet20_ir):
    rng = np.random.default_rng(0)
    x = rng.random((8, 3, 32, 32)).astype(np.float32)
    gm = GoldenModel(resnet20_ir)
    gold = gm.run(gm.quantize_input(x.transpose(0, 2, 3, 1)))
    q = execute_qonnx(resnet20_onnx, x)
    qcodes = np.rint(q / resnet20_ir.meta["output_scale"]).astype(np.int64)
    assert len(np.unique(gold)) > 3                       # a meaningful comparison
    assert np.array_equal(qcodes, gold), np.argwhere(qcodes != gold)[:5]
    folds = [o for o in resnet20_ir.ops if o.kind == "fold"]
    assert [f.attrs["iterations"] for f in folds] == [3]


def test_quantize_input_matches_the_quant_node(digits_ir):
    gm = GoldenModel(digits_ir)
    s = digits_ir.input_tensor.scale
    x = np.array([0.0, s * 0.5, s * 1.5, 1.0, 5.0]).reshape(1, 1, 5, 1)
    assert gm.quantize_input(x).reshape(-1).tolist() == [0, 0, 2, min(round(1.0 / s), 255), 255]
