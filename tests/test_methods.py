"""The training-method registry, the generic loop's hooks, checkpoints, and --method dense."""
import json
import subprocess
import sys
import types

import numpy as np
import onnx
import pytest
import torch

from hfn_hls import methods
from hfn_hls.data import load_dataset
from hfn_hls.errors import HfnError
from hfn_hls.export import export_model, read_metadata, read_model_metadata
from hfn_hls.ir.build import execute_qonnx
from hfn_hls.methods.base import Method
from hfn_hls.methods.dense import Dense
from hfn_hls.train import (CHECKPOINT, init_model, load_checkpoint, save_checkpoint,
                           train)


def hfn(*args):
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def one_line_error(rc, err, *needles):
    assert rc == 2 and "Traceback" not in err, err
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_registry():
    assert methods.names()[:3] == ["hfn", "dense", "layerfold"]
    for name in methods.names():
        m = methods.get_method(name)
        assert m.name == name and isinstance(m, Method) and m.help
    assert methods.get_method(None).name == "hfn"
    with pytest.raises(HfnError, match="unknown training method"):
        methods.get_method("nope")


def test_command_line_lists_methods_without_importing_torch():
    code = ("import sys\nfrom hfn_hls import cli\ntry:\n cli.main(['train', '--help'])\n"
            "except SystemExit:\n pass\nprint('TORCH', 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "TORCH False" in r.stdout, r.stdout + r.stderr
    for flag in ("--method", "--k", "--weight-bits", "--lambda", "--threshold",
                 "--finetune-epochs"):
        assert flag in r.stdout


def test_options_of_another_method_are_refused(tmp_path):
    rc, _, err = hfn("train", "--method", "dense", "--k", "0.3", "--preset", "digits",
                     "-o", tmp_path / "r")
    one_line_error(rc, err, "--k", "not an option of --method dense", "--weight-bits")
    rc, _, err = hfn("train", "--method", "dense", "--weight-bits", "9", "--preset",
                     "digits", "-o", tmp_path / "r")
    one_line_error(rc, err, "--weight-bits 9", "2 to 8 bits")
    rc, _, err = hfn("init", "--preset", "resnet18", "-o", tmp_path / "r")
    one_line_error(rc, err, "resnet18", "--method dense")
    assert not (tmp_path / "r" / CHECKPOINT).exists()


class Probe(Dense):
    """A method written in a test, registered like a real one: records every hook."""

    name = "probe"
    help = "test probe"

    def __init__(self):
        self.log = []

    def regulariser(self, model, config):
        self.log.append("reg")
        return sum(p.sum() for n, p in model.named_parameters() if "fc" in n) * 0.0

    def after_step(self, model, config):
        self.log.append("step")

    def after_training(self, model, config, trainer):
        self.log.append("after")
        trainer.fit(model, self, config, epochs=1, lr=0.01, weight_decay=0.0, desc="again")
        return model, {"extra_metric": 7}

    def finish(self, model, config):
        self.log.append("finish")

    def checkpoint_state(self, model, config):
        return {"probe": {"note": "kept"}}

    def restore(self, preset, config, state, where):
        self.log.append(("restore", state["probe"]["note"]))
        return super().restore(preset, config, state, where)


def test_generic_loop_calls_the_hooks(tmp_path, monkeypatch):
    probe = Probe()
    module = types.ModuleType("hfn_hls.methods.probe")
    module.METHOD = probe
    monkeypatch.setitem(sys.modules, "hfn_hls.methods.probe", module)
    monkeypatch.setitem(methods.REGISTRY, "probe", "probe")
    m = train("digits", tmp_path, method="probe", epochs=1, batch_size=512, threads=1,
              progress=False, weight_bits=4)
    steps = 3                                            # ceil(1437 / 512) per epoch
    assert probe.log == ["reg", "step"] * steps + ["after"] + ["reg", "step"] * steps + \
        ["finish"]
    assert m["method"] == "probe" and m["extra_metric"] == 7 and m["weight_bits"] == 4
    state = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    assert state["method"] == "probe" and state["method_config"] == {"weight_bits": 4}
    model = load_checkpoint(tmp_path)
    assert probe.log[-1] == ("restore", "kept") and model.method_name == "probe"


def test_checkpoint_from_before_the_registry_loads_as_hfn(tmp_path):
    model = init_model("digits", tmp_path / "new")
    state = torch.load(tmp_path / "new" / CHECKPOINT, weights_only=False)
    for key in ("method", "method_config"):
        del state[key]
    (tmp_path / "old").mkdir()
    torch.save(state, tmp_path / "old" / CHECKPOINT)
    old = load_checkpoint(tmp_path / "old")
    assert old.method_name == "hfn" and old.method_config == {"k": 0.5}
    a = read_metadata(onnx.load(str(export_model(model, tmp_path / "a.onnx"))))
    b = read_metadata(onnx.load(str(export_model(old, tmp_path / "b.onnx"))))
    assert a == b


@pytest.fixture(scope="module")
def dense_run(tmp_path_factory):
    """``--method dense`` through the Python API, exported."""
    run = tmp_path_factory.mktemp("dense") / "run"
    metrics = train("digits", run, method="dense", threads=1, progress=False)
    return run, metrics, export_model(load_checkpoint(run), run.parent / "dense.onnx")


def test_dense_digits(dense_run):
    run, m, _ = dense_run
    assert m["method"] == "dense" and m["weight_bits"] == 8
    assert m["test_accuracy"] >= 0.97
    assert json.loads((run / "metrics.json").read_text()) == json.loads(json.dumps(m))
    model = load_checkpoint(run)
    assert not model.hfn_layers()
    assert all(not b.folded for b in model.blocks) and len(model.blocks) == 4   # unfolded
    assert all(bn.affine for bn in model.modules() if isinstance(bn, torch.nn.BatchNorm2d))


def test_dense_export_executes_in_qonnx_like_brevitas(dense_run):
    run, m, onnx_path = dense_run
    model = load_checkpoint(run).eval()
    d = load_dataset("digits")
    with torch.no_grad():
        ref = model(torch.from_numpy(d.x_test)).numpy()
    q = execute_qonnx(onnx_path, d.x_test)
    assert np.array_equal(q, ref)
    assert (q.argmax(1) == d.y_test).mean() == m["test_accuracy"]
    proto = onnx.load(str(onnx_path))
    meta = read_model_metadata(proto)
    assert read_metadata(proto) is None
    assert meta == {"format": "hfn-hls-model", "version": 1, "method": "dense",
                    "preset": "digits", "dataset": "digits", "input_shape": [1, 8, 8],
                    "classes": 10, "act_bits": 4, "res_bits": 5, "weight_bits": 8,
                    "convs": 11}
    producers = {o: n for n in proto.graph.node for o in n.output}
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    assert len(convs) == 11
    assert all(producers[n.input[1]].op_type == "Quant" for n in convs)


def test_dense_weight_bits_and_init(tmp_path):
    model = init_model("digits", tmp_path / "run", method="dense", weight_bits=3)
    q = model.stem.quant_weight()
    ints = (q.value / q.scale).detach()
    assert torch.equal(ints, ints.round()) and ints.abs().max() <= 3      # narrow 3-bit
    s = float(q.scale)
    assert s == 2.0 ** round(np.log2(s))
    again = load_checkpoint(tmp_path / "run").eval()
    assert again.method_name == "dense" and again.method_config == {"weight_bits": 3}
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
