"""Shared pytest fixtures: a trained digits model and an untrained resnet20, exported and
compiled to IR once per session, for the front-end, HLS and RTL tests alike."""
from __future__ import annotations

import os
import warnings

import pytest

os.environ.setdefault("ORT_LOGGING_LEVEL", "3")
warnings.filterwarnings("ignore")


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """(run_dir, metrics) of the digits preset trained with its default settings."""
    from hfn_hls.train import train

    run = tmp_path_factory.mktemp("digits_run")
    metrics = train("digits", run, threads=2, progress=False)
    return run, metrics


@pytest.fixture(scope="session")
def digits_onnx(digits_run, tmp_path_factory):
    from hfn_hls.export import export_model
    from hfn_hls.train import load_checkpoint

    out = tmp_path_factory.mktemp("digits_onnx") / "model.onnx"
    return export_model(load_checkpoint(digits_run[0]), out)


@pytest.fixture(scope="session")
def digits_ir(digits_onnx):
    from hfn_hls.ir.build import build_ir

    return build_ir(digits_onnx)


@pytest.fixture(scope="session")
def digits_test_codes(digits_ir):
    """(codes NHWC, labels) of the digits test split, quantised with the model's scale."""
    from hfn_hls.data import load_dataset
    from hfn_hls.golden import GoldenModel

    d = load_dataset("digits")
    return GoldenModel(digits_ir).quantize_input(d.x_test.transpose(0, 2, 3, 1)), d.y_test


@pytest.fixture(scope="session")
def resnet20_onnx(tmp_path_factory):
    from hfn_hls.export import export_model
    from hfn_hls.train import init_model

    run = tmp_path_factory.mktemp("resnet20_run")
    model = init_model("resnet20", run)
    return export_model(model, run / "model.onnx")


@pytest.fixture(scope="session")
def resnet20_ir(resnet20_onnx):
    from hfn_hls.ir.build import build_ir

    return build_ir(resnet20_onnx)


# -- stored-weight models (issue 10): tests/brevitas_cnn.py ----------------------------------

def _user_models():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
    import brevitas_cnn
    return brevitas_cnn


@pytest.fixture(scope="session")
def brevitas_cnn(tmp_path_factory):
    """(model.onnx, Brevitas test accuracy): the plain-Brevitas CNN, trained on digits for
    a few seconds, exported with brevitas' export_qonnx (no hfn-hls metadata)."""
    import torch

    torch.set_num_threads(1)
    return _user_models().train_and_export(tmp_path_factory.mktemp("bcnn") / "bcnn.onnx")


@pytest.fixture(scope="session")
def brevitas_cnn_ir(brevitas_cnn):
    from hfn_hls.ir.build import build_ir

    return build_ir(brevitas_cnn[0])


@pytest.fixture(scope="session")
def mixed_onnx(tmp_path_factory):
    """A stored stem and classifier around a generated (hfn) body, exported by hfn-hls."""
    return _user_models().mixed_export(tmp_path_factory.mktemp("mixed") / "mixed.onnx")


def _trained_onnx(tmp_path_factory, method: str, **kw):
    from hfn_hls.export import export_model
    from hfn_hls.train import load_checkpoint, train

    run = tmp_path_factory.mktemp(f"{method}_run")
    metrics = train("digits", run, method=method, threads=1, progress=False, **kw)
    return export_model(load_checkpoint(run), run / "model.onnx"), metrics


@pytest.fixture(scope="session")
def dense_onnx(tmp_path_factory):
    """(model.onnx, metrics): digits, --method dense (8-bit stored weights), 2 epochs."""
    return _trained_onnx(tmp_path_factory, "dense", epochs=2)


@pytest.fixture(scope="session")
def layerfold_onnx(tmp_path_factory):
    """(model.onnx, metrics): digits, --method layerfold, 3 + 1 epochs (convs merged)."""
    return _trained_onnx(tmp_path_factory, "layerfold", epochs=3, finetune_epochs=1)


@pytest.fixture(scope="session")
def ops_onnx(tmp_path_factory):
    """Strided and 5x5 convs, a signed linear activation, AvgPool2d, Transpose + MatMul
    (no metadata)."""
    return _user_models().ops_export(tmp_path_factory.mktemp("ops") / "ops.onnx")


@pytest.fixture(scope="session")
def leaky_onnx(tmp_path_factory):
    """The op-set model with a LeakyReLU of slope 1/8 before its first quantiser (requant
    rows with a knee)."""
    return _user_models().ops_export(tmp_path_factory.mktemp("leaky") / "leaky.onnx",
                                     leaky=0.125)


def _smh_trained(tmp_path_factory):
    from hfn_hls.export import export_model
    from hfn_hls.train import load_checkpoint, train

    run = tmp_path_factory.mktemp("smh_run")
    metrics = train("digits", run, method="smh", fraction=0.25, epochs=2, threads=1,
                    progress=False)
    return run, metrics, export_model(load_checkpoint(run), run / "model.onnx")


@pytest.fixture(scope="session")
def smh_run(tmp_path_factory):
    """(run dir, metrics, model.onnx): digits, --method smh --fraction 0.25, 2 epochs."""
    return _smh_trained(tmp_path_factory)


@pytest.fixture(scope="session")
def smh_ir(smh_run):
    from hfn_hls.ir.build import build_ir

    return build_ir(smh_run[2])


@pytest.fixture(scope="session")
def resnet20_smh(tmp_path_factory):
    """(model.onnx, IR, model): an untrained ResNet-20-shaped SMH model (CIFAR input)."""
    from hfn_hls.export import export_model
    from hfn_hls.ir.build import build_ir
    from hfn_hls.train import init_model

    run = tmp_path_factory.mktemp("r20_smh")
    model = init_model("resnet20", run, method="smh", fraction=0.25)
    path = export_model(model, run / "model.onnx")
    return path, build_ir(path), model
