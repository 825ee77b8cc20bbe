"""An HFN the user builds from the package's layers (not HfnResNet): export traces its
metadata, and the existing compiler takes it through ir -> generate -> csim -> sim."""
import json

import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from hfn_hls import lfsr
from hfn_hls.cli import main
from hfn_hls.errors import HfnError
from hfn_hls.export import export_model, read_metadata
from hfn_hls.golden import GoldenModel
from hfn_hls.ir.build import build_ir, execute_qonnx
from hfn_hls.models import (FoldedBlock, HfnConv2d, ResidualBlock, SeedSource, act_quant,
                            input_quant)


class TinyHfn(nn.Module):
    """8 -> 16 channels, 3-bit activations, a stride-2 projection block, then one block
    folded 3 times: a shape no preset has."""

    def __init__(self, model_seed=99, k=0.5, act_bits=3):
        super().__init__()
        seeds = SeedSource(model_seed)
        self.quant_in = input_quant()
        self.stem = HfnConv2d(1, 8, 3, seed=seeds(), k=k)
        self.stem_bn = nn.BatchNorm2d(8, affine=False)
        self.stem_act = act_quant(act_bits)
        self.down = ResidualBlock(8, 16, stride=2, seeds=seeds, k=k, act_bits=act_bits)
        self.body = FoldedBlock(16, 3, seeds=seeds, k=k, act_bits=act_bits)
        self.head = HfnConv2d(16, 10, 1, padding=0, seed=seeds(), k=k)

    def forward(self, x):
        x = self.stem_act(self.stem_bn(self.stem(self.quant_in(x))))
        x = self.body(self.down(x))
        return torch.flatten(self.head(F.adaptive_avg_pool2d(x, 1)), 1)


class LoopHfn(nn.Module):
    """A fold written as a Python loop over one (unmarked) block."""

    def __init__(self, seeds, n=2):
        super().__init__()
        self.n = n
        self.quant_in = input_quant()
        self.stem = HfnConv2d(1, 8, 3, seed=seeds(), k=0.5)
        self.stem_bn = nn.BatchNorm2d(8, affine=False)
        self.stem_act = act_quant(4)
        self.block = ResidualBlock(8, 8, seeds=seeds, k=0.5)
        self.head = HfnConv2d(8, 10, 1, padding=0, seed=seeds(), k=0.5)

    def forward(self, x):
        x = self.stem_act(self.stem_bn(self.stem(self.quant_in(x))))
        for _ in range(self.n):
            x = self.block(x)
        return torch.flatten(self.head(F.adaptive_avg_pool2d(x, 1)), 1)


def _calibrated(model, shape=(1, 8, 8), seed=0):
    torch.manual_seed(seed)
    model.train()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(4):
            model(torch.rand(16, *shape, generator=gen))
    return model.eval()


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    torch.manual_seed(0)
    model = _calibrated(TinyHfn())
    return export_model(model, tmp_path_factory.mktemp("tiny") / "tiny.onnx",
                        input_shape=(1, 8, 8))


def test_traced_metadata(tiny_onnx):
    meta = read_metadata(onnx.load(str(tiny_onnx)))
    assert meta["model_seed"] == 99 and meta["input_shape"] == [1, 8, 8]
    assert meta["classes"] == 10 and meta["act_bits"] == 3 and meta["res_bits"] == 4
    names = [l["name"] for l in meta["layers"]]
    assert names == ["stem", "down.convs.0", "down.convs.1", "down.shortcut",
                     "body.convs.0", "body.convs.1", "head"]
    for l in meta["layers"]:
        assert l["seed"] == lfsr.derive_seed(99, l["index"])
    assert meta["conv_calls"] == ["stem", "down.convs.0", "down.convs.1", "down.shortcut"] + \
        ["body.convs.0", "body.convs.1"] * 3 + ["head"]
    assert meta["folds"] == [{"name": "body", "iterations": 3,
                              "layers": ["body.convs.0", "body.convs.1"]}]
    assert meta["preset"] == "TinyHfn" and meta["sign_source"] == "lfsr"


def test_user_hfn_compiles_and_simulates_bit_exact(tiny_onnx, tmp_path, capsys):
    """export -> hfn-hls ir -> generate -> csim -> sim, every output equal to the golden
    model (csim on 200 vectors, RTL simulation on 10 images)."""
    assert main(["ir", str(tiny_onnx), "-o", str(tmp_path / "ir.json")]) == 0
    out = capsys.readouterr().out
    assert "folds: body x3" in out and "weights verified" in out
    g = build_ir(tiny_onnx)
    x = np.random.default_rng(1).random((32, 1, 8, 8)).astype(np.float32)
    gm = GoldenModel(g)
    gold = gm.run(gm.quantize_input(x.transpose(0, 2, 3, 1)))
    q = np.rint(execute_qonnx(tiny_onnx, x) / g.meta["output_scale"]).astype(np.int64)
    assert (q == gold).mean() >= 0.999 and np.array_equal(q.argmax(1), gold.argmax(1))
    prj = tmp_path / "prj"
    assert main(["generate", str(tiny_onnx), "-o", str(prj), "--lanes", "4"]) == 0
    capsys.readouterr()
    assert main(["csim", str(prj), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["vectors"] == 200 and res["mismatches"] == 0
    assert main(["sim", str(prj), "-n", "10", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["vectors"] == 10 and res["mismatches"] == 0


def test_loop_fold_is_found_by_call_order(tmp_path):
    seeds = SeedSource(5)
    model = _calibrated(LoopHfn(seeds, n=2))
    out = export_model(model, tmp_path / "loop.onnx", input_shape=(1, 8, 8))
    meta = read_metadata(onnx.load(str(out)))
    assert meta["folds"] == [{"name": "block", "iterations": 2,
                              "layers": ["block.convs.0", "block.convs.1"]}]
    g = build_ir(out)
    assert [o.attrs["iterations"] for o in g.ops if o.kind == "fold"] == [2]
    x = np.random.default_rng(2).random((16, 1, 8, 8)).astype(np.float32)
    gm = GoldenModel(g)
    gold = gm.run(gm.quantize_input(x.transpose(0, 2, 3, 1)))
    q = np.rint(execute_qonnx(out, x) / g.meta["output_scale"]).astype(np.int64)
    assert (q == gold).mean() >= 0.999


def test_preset_folds_traced_like_the_plan(tmp_path):
    from hfn_hls.models.plan import plan_blocks
    from hfn_hls.train import init_model

    model = init_model("digits", tmp_path / "run")
    meta = read_metadata(onnx.load(str(export_model(model, tmp_path / "m.onnx"))))
    plan = [b for s in plan_blocks(model.preset) for b in s if b.folded]
    assert [(f["name"], f["iterations"]) for f in meta["folds"]] == \
        [(b.name, b.iterations) for b in plan] == [("stage1.fold", 2), ("stage2.fold", 1)]
    assert meta["method"] == "hfn" and meta["preset"] == "digits"


def test_export_errors_name_the_layer(tmp_path):
    m = _calibrated(LoopHfn(SeedSource(5), n=1))
    m.head = HfnConv2d(8, 10, 1, padding=0, seed=12345, k=0.5)        # a bare integer seed
    with pytest.raises(HfnError, match="layer head.*SeedSource"):
        export_model(m, tmp_path / "a.onnx", input_shape=(1, 8, 8))
    m = _calibrated(LoopHfn(SeedSource(5), n=1))
    m.head = HfnConv2d(8, 10, 1, padding=0, seed=SeedSource(6)(), k=0.5)
    with pytest.raises(HfnError, match="several model seeds"):
        export_model(m, tmp_path / "b.onnx", input_shape=(1, 8, 8))
    m = _calibrated(LoopHfn(SeedSource(5), n=1))
    with pytest.raises(HfnError, match="input shape"):
        export_model(m, tmp_path / "c.onnx")

    class Twice(LoopHfn):
        def forward(self, x):                     # stem called twice, not as a block
            x = self.stem_act(self.stem_bn(self.stem(self.quant_in(x))))
            x = self.block(x)
            x = self.stem_act(self.stem_bn(self.stem(x[:, :1])))
            return torch.flatten(self.head(F.adaptive_avg_pool2d(x, 1)), 1)

    m = _calibrated(Twice(SeedSource(5)))
    with pytest.raises(HfnError, match="layer stem.*not as one block"):
        export_model(m, tmp_path / "d.onnx", input_shape=(1, 8, 8))
    assert not list(tmp_path.glob("*.onnx"))


def test_readme_example_exports_and_compiles(tmp_path, monkeypatch):
    """The README's Python API example, run as written."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Python API: an HFN of your own", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    g = build_ir(tmp_path / "my.onnx")
    assert [o.attrs["iterations"] for o in g.ops if o.kind == "fold"] == [3]
    assert len(g.layers) == 7
