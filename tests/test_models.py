"""Supermask layers and the folded ResNet builder."""
import numpy as np
import torch

from hfn_hls import lfsr
from hfn_hls.models import build_model, get_preset
from hfn_hls.models.resnet import plan_blocks
from hfn_hls.models.supermask import HfnConv2d, top_k_mask


def test_top_k_keeps_exactly_the_reference_count():
    s = torch.randn(8, 4, 3, 3)
    for k in (0.1, 0.3, 0.5, 1.0):
        m = top_k_mask(s, k)
        assert int(m.sum()) == s.numel() - int((1 - k) * s.numel())
        kept = s.abs()[m.bool()]
        dropped = s.abs()[~m.bool()]
        if dropped.numel():
            assert kept.min() >= dropped.max()


def test_straight_through_gradient_reaches_scores():
    conv = HfnConv2d(2, 3, 3, seed=lfsr.derive_seed(1, 0), k=0.5)
    conv(torch.randn(1, 2, 5, 5)).sum().backward()
    assert conv.scores.grad is not None and conv.scores.grad.abs().sum() > 0


def test_signs_come_from_the_lfsr_and_constant_is_hfn_kaiming():
    seed = lfsr.derive_seed(9, 2)
    conv = HfnConv2d(3, 4, 3, seed=seed, k=0.3)
    assert np.array_equal(conv.signs.numpy(), lfsr.layer_signs(seed, (4, 3, 3, 3)))
    assert abs(conv.c - np.sqrt(2) / np.sqrt(27 * 0.3)) < 1e-12
    x = torch.randn(1, 3, 6, 6)
    w = conv.c * conv.signs * conv.mask()
    ref = torch.nn.functional.conv2d(x, w, padding=1)
    assert torch.allclose(conv(x), ref, atol=1e-5)   # float path; exactness is in the IR


def test_folded_stage_is_one_block_iterated():
    p = get_preset("resnet20")
    plan = plan_blocks(p)
    assert [(b.name, b.iterations) for b in plan[0]] == [("stage1.fold", 3)]
    assert [b.iterations for b in plan[1]] == [1, 1, 1] and plan[1][0].projection
    hfn = get_preset("hfn_resnet50_3_4_ubn")
    names = [(b.name, b.iterations) for s in plan_blocks(hfn) for b in s]
    assert ("stage3.proj", 1) in names and ("stage3.fold", 5) in names
    assert ("stage4.fold", 2) in names


def test_bn_affine_only_in_folded_blocks():
    m = build_model(get_preset("digits"))
    for name, mod in m.named_modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            folded = name.startswith("blocks.") and m.blocks[int(name.split(".")[1])].plan.folded
            assert mod.affine == folded, name


def test_layer_seeds_follow_forward_order():
    m = build_model(get_preset("digits"), model_seed=77)
    for i, (_, conv) in enumerate(m.hfn_layers()):
        assert conv.seed == lfsr.derive_seed(77, i)


def test_weights_unchanged_by_training(digits_run):
    """The signs the trained checkpoint stores (read raw, not through load_checkpoint,
    which rebuilds them) are the LFSR signs of a freshly built model."""
    from hfn_hls.train import load_checkpoint

    state = torch.load(digits_run[0] / "model.pt", map_location="cpu", weights_only=False)
    fresh = build_model(load_checkpoint(digits_run[0]).preset, state["model_seed"])
    layers = list(fresh.hfn_layers())
    assert len(layers) == 9
    for n, m in layers:
        assert torch.equal(state["state_dict"][f"{n}.signs"], m.signs), n
