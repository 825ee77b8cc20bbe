"""Layer Folding (--method layerfold): the closed-form merge, the α rules, the fold of a
network, the run's metrics and its export, executed by qonnx."""
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from hfn_hls.data import load_dataset
from hfn_hls.export import export_model, read_metadata, read_model_metadata
from hfn_hls.ir.build import build_ir, execute_qonnx
from hfn_hls.methods import get_method
from hfn_hls.methods.layerfold import _acts, count_convs, fold_model, load_prefold
from hfn_hls.models.layerfold import (LayerFoldAct, clip_alphas, merge_conv_bn_conv,
                                      regulariser)
from hfn_hls.train import configure, load_checkpoint, make_model
from test_stored import golden_vs_qonnx


def _bn(m, gen):
    return (torch.rand(m, generator=gen, dtype=torch.float64) + 0.5,        # gamma
            torch.randn(m, generator=gen, dtype=torch.float64),             # beta
            torch.randn(m, generator=gen, dtype=torch.float64),             # mean
            torch.rand(m, generator=gen, dtype=torch.float64) + 0.2)        # var


@pytest.mark.parametrize("k1,s1,p1,k2,p2", [(3, 1, 1, 3, 1), (3, 2, 1, 3, 1),
                                            (1, 1, 0, 3, 1), (1, 2, 0, 3, 1)])
def test_merge_equals_conv_bn_conv_in_the_interior(k1, s1, p1, k2, p2):
    """A float identity (tolerance 1e-9 in float64): merged conv == conv2(bn(conv1(x)))
    wherever conv2 reads no padding; 3x3+3x3 -> 5x5 (stride 2: 7x7)."""
    gen = torch.Generator().manual_seed(k1 * 10 + s1)
    ci, m, co, hw = 3, 5, 4, 13
    w1 = torch.randn(m, ci, k1, k1, generator=gen, dtype=torch.float64)
    w2 = torch.randn(co, m, k2, k2, generator=gen, dtype=torch.float64)
    g, b, mu, var = _bn(m, gen)
    eps = 1e-5
    x = torch.randn(2, ci, hw, hw, generator=gen, dtype=torch.float64)
    h = F.conv2d(x, w1, stride=s1, padding=p1)
    h = (h - mu[:, None, None]) / torch.sqrt(var[:, None, None] + eps) * g[:, None, None] \
        + b[:, None, None]
    ref = F.conv2d(h, w2, padding=p2)
    K, bias = merge_conv_bn_conv(w1, s1, g, b, mu, var, eps, w2)
    assert K.shape[-1] == k1 + s1 * (k2 - 1)
    if (k1, k2) == (3, 3):
        assert K.shape[-1] == (5 if s1 == 1 else 7)
    got = F.conv2d(x, K, bias, stride=s1, padding=p1 + s1 * p2)
    assert got.shape == ref.shape
    inner = (slice(None), slice(None), slice(p2, -p2), slice(p2, -p2))
    assert torch.allclose(got[inner], ref[inner], rtol=0, atol=1e-9)
    assert not torch.allclose(got, ref, rtol=0, atol=1e-9)   # the border differs


def test_alpha_clipping_and_regulariser():
    acts = [LayerFoldAct(4, a) for a in (-0.3, 0.0, 0.5, 1.2)]
    reg = regulariser(acts, 0.25)
    assert reg.item() == pytest.approx(0.25 * sum(abs(1 - a * a) for a in (-0.3, 0, .5, 1.2)))
    reg.backward()      # d/dα λ|1−α²| = −2λα (α < 1), +2λα (α > 1)
    grads = [a.alpha.grad.item() for a in acts]
    assert grads == pytest.approx([0.15, 0.0, -0.25, 0.6])
    clip_alphas(acts)
    assert [a.alpha.item() for a in acts] == pytest.approx([0.0, 0.0, 0.5, 1.2])


def test_activation_modes_are_the_same_function():
    """σ_α == LeakyReLU(α) (exported as such); α = 0 with an unsigned quantiser of the same
    learned scale == the signed one on every input."""
    torch.manual_seed(0)
    x = torch.randn(64, 8, 4, 4) * 2
    a = LayerFoldAct(4, 0.3)
    a.train()
    for _ in range(3):
        a(x)
    a.eval()
    ref = a(x)
    a.set_mode("leaky")
    assert torch.equal(a(x), ref) and not a.alpha.requires_grad
    r = LayerFoldAct(4, 0.0)
    r.train()
    for _ in range(3):
        r(x)
    r.eval()
    ref = r(x)
    signed_levels = ref.unique().numel()
    r.set_mode("relu")
    assert torch.equal(r(x), ref) and signed_levels > 2
    assert not r.quant.act_quant.is_signed and int(r.quant.act_quant.bit_width()) == 4


def _forced_model(alphas):
    """An untrained digits layerfold model whose α are set by hand, calibrated."""
    meth, p, config = configure("digits", None, "layerfold", None, {})
    torch.manual_seed(1)
    model = make_model(meth, p, config, 2021)
    for (_, act), a in zip(_acts(model), alphas):
        act.alpha.data.fill_(a)
    model.train()
    d = load_dataset("digits")
    with torch.no_grad():
        for i in range(0, 320, 64):
            model(torch.from_numpy(d.x_train[i:i + 64]))
    model.eval()
    return meth, config, model, d


def test_fold_keeps_the_function_of_a_linear_network_in_the_interior():
    """α = 1 everywhere: folding changes the network only where a merged conv's border
    differs, and removes one conv per block."""
    meth, config, model, d = _forced_model([1.0] * 8)
    before = count_convs(model)
    x = torch.from_numpy(d.x_test[:64])
    merged, dropped = fold_model(model, config)
    assert count_convs(model) == before - 4 and len(merged) == 4 and len(dropped) == 4
    for b in model.blocks:
        k = b.convs[0].kernel_size[0]
        assert k == (7 if b.plan.stride == 2 else 5) and b.convs[0].bias is None
    assert model(x).shape == (64, 10)


def test_folded_export_runs_in_qonnx_like_brevitas(tmp_path):
    """Leaky, ReLU and linear activations and merged convs: the exported file (LeakyRelu
    nodes, Quant weights of power-of-two scale, no conv bias) executes in qonnx exactly
    like the Brevitas model."""
    meth, config, model, d = _forced_model([0.0, 0.4, 0.95, 0.0, 0.2, 1.0, 0.0, 0.97])
    fold_model(model, config)
    modes = [a.mode for _, a in _acts(model)]
    assert modes == ["relu", "leaky", "relu", "leaky", "linear", "relu", "linear"], modes
    out = export_model(model, tmp_path / "lf.onnx")
    m = onnx.load(str(out))
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("LeakyRelu") == 2 and ops.count("Conv") == count_convs(model) == 10
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    producers = {o: n for n in m.graph.node for o in n.output}
    for n in m.graph.node:
        if n.op_type == "Conv":
            assert len(n.input) == 2 or not n.input[2], "conv bias"
            q = producers[n.input[1]]
            assert q.op_type == "Quant"
        if n.op_type == "Quant":
            s = float(np.asarray(inits[n.input[1]]).reshape(-1)[0])
            assert s == 2.0 ** round(np.log2(s)), (n.name, s)
    meta = read_model_metadata(m)
    assert meta["method"] == "layerfold" and meta["convs"] == 10 and read_metadata(m) is None
    assert meta["layerfold"]["merged"] == {"stage1.block1": [0]}
    x = d.x_test[:96]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert np.array_equal(execute_qonnx(out, x), ref)
    # it compiles: the leaky activations' requant rows take a knee (docs/arithmetic.md)
    g = build_ir(out)
    assert sum(len(s.get("knees", [])) for o in g.walk() if o.kind == "requant"
               for s in o.attrs["compact"]["sets"]) > 0
    gold, q = golden_vs_qonnx(out, g, x)
    assert np.array_equal(q, gold)


def hfn(*args):
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="module")
def layerfold_run(tmp_path_factory):
    """``hfn-hls train --method layerfold --preset digits`` + ``hfn-hls export``."""
    run = tmp_path_factory.mktemp("layerfold") / "run"
    rc, out, err = hfn("train", "--method", "layerfold", "--preset", "digits", "-o", run,
                       "--threads", "1")
    assert rc == 0, err
    assert "pre-fold digits" in err and "fine-tune digits" in err      # progress bars
    onnx_path = run.parent / "model.onnx"
    rc, out, err = hfn("export", run, "-o", onnx_path)
    assert rc == 0, err
    return run, json.loads((run / "metrics.json").read_text()), onnx_path


def test_layerfold_metrics(layerfold_run):
    run, m, _ = layerfold_run
    for key in ("test_accuracy", "test_accuracy_before_fold", "convs_before", "convs_after",
                "test_accuracy_folded", "alphas", "merged", "dropped"):
        assert key in m, key
    assert m["method"] == "layerfold" and m["convs_before"] == 11
    assert m["convs_after"] == m["convs_before"] - len(m["merged"]) < m["convs_before"]
    assert all(a >= 0 for a in m["alphas"].values())
    assert m["test_accuracy_before_fold"] >= 0.97
    assert m["test_accuracy"] >= m["test_accuracy_before_fold"] - 0.01
    model = load_checkpoint(run)
    assert count_convs(model) == m["convs_after"]
    d = load_dataset("digits")
    with torch.no_grad():
        acc = (model(torch.from_numpy(d.x_test)).argmax(1).numpy() == d.y_test).mean()
    assert acc == m["test_accuracy"]
    before = load_prefold(run)
    assert count_convs(before) == m["convs_before"]
    with torch.no_grad():
        acc = (before(torch.from_numpy(d.x_test)).argmax(1).numpy() == d.y_test).mean()
    assert acc == m["test_accuracy_before_fold"]


def test_layerfold_export_executes_in_qonnx_like_brevitas(layerfold_run):
    run, m, onnx_path = layerfold_run
    model = load_checkpoint(run).eval()
    d = load_dataset("digits")
    with torch.no_grad():
        ref = model(torch.from_numpy(d.x_test)).numpy()
    q = execute_qonnx(onnx_path, d.x_test)
    assert np.array_equal(q, ref)
    assert (q.argmax(1) == d.y_test).mean() == m["test_accuracy"]
    meta = read_model_metadata(onnx.load(str(onnx_path)))
    assert meta["convs"] == m["convs_after"] and meta["input_shape"] == [1, 8, 8]


def test_layerfold_has_no_untrained_form(tmp_path):
    rc, _, err = hfn("init", "--method", "layerfold", "--preset", "digits", "-o", tmp_path)
    assert rc == 2 and "Traceback" not in err and "hfn-hls train --method layerfold" in err
    assert get_method("layerfold").can_init is False


def test_layerfold_through_the_python_api(tmp_path):
    """``train(method="layerfold", ...)`` with the method's options as keywords."""
    from hfn_hls.train import train

    m = train("digits", tmp_path, method="layerfold", epochs=1, finetune_epochs=1,
              threads=1, progress=False, weight_bits=6, **{"lambda": 0.5, "threshold": 0.8})
    assert m["finetune_epochs"] == 1 and m["weight_bits"] == 6
    assert m["lambda"] == 0.5 and m["threshold"] == 0.8
    for key in ("test_accuracy", "test_accuracy_before_fold", "convs_before", "convs_after"):
        assert key in m
    state = torch.load(tmp_path / "model.pt", weights_only=False)
    assert state["method"] == "layerfold" and state["method_config"]["weight_bits"] == 6
    model = load_checkpoint(tmp_path)
    assert count_convs(model) == m["convs_after"]
    merged = {f"{b.plan.name}.acts.{j}" for b in model.blocks for j in b.merged}
    assert merged == set(m["merged"])
    assert all(m["alphas"][n] >= 0.8 for n in merged)
