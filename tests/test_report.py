"""Memory report against an independent count in the reference code's convention."""
import json
import subprocess
import sys

import pytest
import torch

from hfn_hls.models import build_model, get_preset
from hfn_hls.models.supermask import HfnConv2d
from hfn_hls.report import report_preset


def reference_count(model):
    """estimate_params_size of github Lopez-Angel/hidden-fold-networks, applied to our
    torch modules: affine BN weight+bias at 32 bits; every conv weight at 1 bit (hidden) or
    32 bits (dense); shared (folded) convs once; 32 seed bits."""
    bn = conv = 0
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and m.affine:
            bn += m.weight.numel() + m.bias.numel()
        elif isinstance(m, HfnConv2d):
            conv += m.signs.numel()
    return conv, bn, (32 + conv + 32 * bn) / 8e6, 32 * (conv + bn) / 8e6


@pytest.mark.parametrize("preset,dataset", [("digits", "digits"), ("resnet20", "cifar10"),
                                            ("resnet20", "cifar100")])
def test_counts_equal_the_torch_model(preset, dataset):
    p = get_preset(preset, dataset)
    conv, bn, hidden, dense = reference_count(build_model(p))
    r = report_preset(p)
    assert (r["conv_weights"], r["bn_params"]) == (conv, bn)
    assert r["hidden_mb"] == pytest.approx(hidden, rel=0, abs=1e-12)
    assert r["dense_mb"] == pytest.approx(dense, rel=0, abs=1e-12)


def _manual_bottleneck_count(blocks, folded, classes, stem_k, in_ch=3):
    """Independent count for bottleneck HFN/dense ResNets (widths 64..512, expansion 4)."""
    conv = 64 * in_ch * stem_k * stem_k
    bn = 0
    cin = 64
    for s, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks)):
        out = planes * 4
        def block(ci):
            return ci * planes + planes * planes * 9 + planes * out
        conv += block(cin) + cin * out            # projection block with 1x1 shortcut
        if folded[s]:
            conv += block(out)                    # one folded block, counted once
            bn += (n - 1) * 2 * (planes + planes + out)
        else:
            conv += (n - 1) * block(out)
        cin = out
    return conv + 2048 * classes, bn


def test_hfn_resnet_counts_independent():
    for name, blocks in [("hfn_resnet50_3_4_ubn", (3, 4, 6, 3)),
                         ("hfn_resnet152_3_4_ubn", (3, 8, 36, 3))]:
        r = report_preset(get_preset(name, "cifar100"))
        assert (r["conv_weights"], r["bn_params"]) == \
            _manual_bottleneck_count(blocks, (False, False, True, True), 100, 3)


def test_headline_ratios_fall_out_of_presets():
    """38.5x (CIFAR-100, against ResNet50) and 26.8x (ImageNet, against ResNet34)."""
    cifar = report_preset(get_preset("resnet50", "cifar100"))["dense_mb"] / \
        report_preset(get_preset("hfn_resnet152_3_4_ubn", "cifar100"))["hidden_mb"]
    imnet = report_preset(get_preset("resnet34", "imagenet"))["dense_mb"] / \
        report_preset(get_preset("hfn_resnet200_3_4_ubn", "imagenet"))["hidden_mb"]
    assert round(cifar, 1) == 38.5
    assert round(imnet, 1) == 26.8


def test_report_cli_json_and_against():
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", "report", "--preset",
                        "hfn_resnet152_3_4_ubn", "--dataset", "cifar100", "--against",
                        "resnet50", "--json"], capture_output=True, text=True, check=True)
    d = json.loads(r.stdout)
    assert d["hidden_mb"] == pytest.approx(2.460892, abs=1e-9)
    assert round(d["against"]["ratio"], 1) == 38.5
    assert d["totals"]["mask_bits"] == d["conv_weights"]


def test_report_of_a_model_file(digits_onnx, digits_ir):
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", "report", str(digits_onnx),
                        "--json"], capture_output=True, text=True, check=True)
    d = json.loads(r.stdout)
    assert d["totals"]["mask_bits"] == sum(l.size for l in digits_ir.layers.values())
    assert d["source"] == "model" and "hidden_mb" in d
    assert all(not row["requant_bits_estimated"] for row in d["layers"])
