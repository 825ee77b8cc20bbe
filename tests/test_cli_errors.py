"""Bad input: one clear message naming the file or layer, exit code 2, no traceback."""
import json
import subprocess
import sys

import onnx
import pytest
from onnx import helper

from hfn_hls import lfsr
from hfn_hls.export import META_KEY


def hfn(*args, cwd=None):
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)],
                       capture_output=True, text=True, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


def assert_clean_error(rc, err, *needles):
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _edit_meta(src, dst, fn):
    m = onnx.load(str(src))
    prop = next(p for p in m.metadata_props if p.key == META_KEY)
    meta = json.loads(prop.value)
    fn(meta)
    prop.value = json.dumps(meta)
    onnx.save(m, str(dst))
    return dst


def test_not_an_onnx_file(tmp_path):
    p = tmp_path / "model.onnx"
    p.write_text("this is not a model")
    rc, _, err = hfn("ir", p)
    assert_clean_error(rc, err, str(p), "not a valid ONNX model")


def test_onnx_without_metadata(tmp_path, digits_onnx):
    """Without its metadata an HFN export is a model with float (unquantised) weights:
    refused, naming the first such Conv."""
    m = onnx.load(str(digits_onnx))
    del m.metadata_props[:]
    p = tmp_path / "plain.onnx"
    onnx.save(m, str(p))
    rc, _, err = hfn("ir", p)
    assert_clean_error(rc, err, str(p), "/stem/Conv", "float weights without a Quant node",
                       "'hfn' metadata")


def test_seeds_that_do_not_reproduce_the_weights(tmp_path, digits_onnx):
    def reseed(meta):
        meta["model_seed"] = 12345
        for l in meta["layers"]:
            l["seed"] = lfsr.derive_seed(12345, l["index"])

    p = _edit_meta(digits_onnx, tmp_path / "reseeded.onnx", reseed)
    rc, _, err = hfn("ir", p)
    assert_clean_error(rc, err, str(p), "layer stem", "do not match the LFSR stream")


def test_edited_seed_that_does_not_follow_from_model_seed(tmp_path, digits_onnx):
    def edit(meta):
        meta["layers"][3]["seed"] ^= 1

    p = _edit_meta(digits_onnx, tmp_path / "edited.onnx", edit)
    rc, _, err = hfn("ir", p)
    assert_clean_error(rc, err, "does not follow from model seed")


def test_unsupported_op(tmp_path, digits_onnx):
    m = onnx.load(str(digits_onnx))
    relu = next(n for n in m.graph.node if n.op_type == "Relu")
    relu.op_type = "Sigmoid"
    p = tmp_path / "sigmoid.onnx"
    onnx.save(m, str(p))
    rc, _, err = hfn("ir", p)
    assert_clean_error(rc, err, relu.name, "'Sigmoid' is not supported")


def test_missing_data_dir(tmp_path):
    rc, _, err = hfn("train", "--preset", "resnet20", "--dataset", "cifar10", "-o",
                     tmp_path / "run")
    assert_clean_error(rc, err, "cifar10", "--data-dir")
    rc, _, err = hfn("train", "--preset", "resnet20", "--dataset", "cifar10",
                     "--data-dir", tmp_path / "nowhere", "-o", tmp_path / "run")
    assert_clean_error(rc, err, str(tmp_path / "nowhere"), "archive not found")
    assert not (tmp_path / "run" / "model.pt").exists()


def test_unknown_preset_and_existing_output(tmp_path, digits_run):
    rc, _, err = hfn("init", "--preset", "nope", "-o", tmp_path / "r")
    assert_clean_error(rc, err, "nope", "unknown preset")
    rc, _, err = hfn("train", "--preset", "digits", "-o", digits_run[0])
    assert_clean_error(rc, err, "exists already", "--force")


def test_checkpoint_with_torch_rng_signs_is_refused(tmp_path, digits_run):
    import torch
    state = torch.load(digits_run[0] / "model.pt", weights_only=False)
    state["sign_source"] = "torch"
    (tmp_path / "run").mkdir()
    torch.save(state, tmp_path / "run" / "model.pt")
    rc, _, err = hfn("export", tmp_path / "run", "-o", tmp_path / "m.onnx")
    assert_clean_error(rc, err, "torch RNG", "re-search")
    assert not (tmp_path / "m.onnx").exists()


def test_export_refuses_to_overwrite(tmp_path, digits_run):
    out = tmp_path / "m.onnx"
    out.write_text("keep me")
    rc, _, err = hfn("export", digits_run[0], "-o", out)
    assert_clean_error(rc, err, str(out), "--force")
    assert out.read_text() == "keep me"
