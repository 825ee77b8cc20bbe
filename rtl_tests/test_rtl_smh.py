"""RTL simulation of SMH networks (issue 12): the weight generator rtl/hfn_wgen_smh.v makes
each output-channel group's weights once (a tile buffer, prep / ready with the sequencer),
bit-exact with the golden model on digits test images (a trained --method smh model) and
on a ResNet-20-shaped CIFAR model; cycles per inference, tile fills included, within
1.5x of the convolutions' MACs / lanes."""
from __future__ import annotations

import numpy as np

from test_rtl_stored import digits_codes, simulate


def _check_cycles(res, bound=1.5):
    ratio = res["cycles_per_inference"] / res["ideal_cycles"]     # ideal = MACs / lanes
    assert ratio <= bound, (res["cycles_per_inference"], res["ideal_cycles"])
    return ratio


def test_smh_digits_rtl_bit_exact_on_20_images(tmp_path, smh_ir):
    prj, res = simulate(smh_ir, tmp_path, digits_codes(smh_ir, 20), "16")
    assert "hfn_wgen_smh" in (prj / "rtl" / "hfn_top.v").read_text()
    _check_cycles(res)


def test_smh_resnet20_shape_rtl_bit_exact_on_20_images(tmp_path, resnet20_smh):
    _, g, _ = resnet20_smh
    imgs = np.random.default_rng(5).integers(0, 256, (20, 32, 32, 3))
    _, res = simulate(g, tmp_path, imgs, "8x8")
    _check_cycles(res)
