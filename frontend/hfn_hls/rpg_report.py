"""RPG memory figures of a preset (``hfn-hls report --preset P --rpg-dof F`` and the
papers' configurations, ``--rpg-config NAME``): DoF, ring bits, per-layer virtual
weights, on-chip bits against dense fp32 / int8 and against hls4ml storing the expanded
weights.  Computed from the preset's layers (``report.preset_layers``), nothing fitted.

Two accountings of the ring:
- **this project** (``--method rpg``): every conv (stem, blocks, shortcuts, classifier)
  on the ring; on chip the ring (N x bits, one copy per output lane: ``P_OUT`` copies),
  a 32-bit LFSR state and a ring start index per output channel;
- **the papers** (reference code ``super_resnet_equal.py``): the ring holds the blocks'
  convs and the downsample shortcuts; stem, classifier and BatchNorm are ordinary
  parameters.  ``params_reduction`` = the preset's parameters (convs + BN affine) over
  the trained ones (ring + stem + classifier + BN affine).
"""
from __future__ import annotations

from dataclasses import replace

from .models.presets import get_preset
from .report import preset_layers
from .weights import rpg as contract

STATE_BITS = 32

# the papers' configurations: (preset, data set, how N follows)
PAPER_CONFIGS = {
    # ResNet-18 with the DoF of one 512 -> 512 3x3 conv (67.2 % top-1)
    "resnet18-one-conv": ("resnet18", "imagenet", "one_conv"),
    # ResNet-34 with ResNet-18's DoF (the reference code's ring: 2422 * 4608)
    "resnet34-resnet18-dof": ("resnet34", "imagenet", "resnet18_ring"),
    # ResNet-34 with 0.25 % DoF ("> 400x fewer parameters", 41.6 % top-1)
    "resnet34-0.25pct": ("resnet34", "imagenet", 0.0025),
}


def _ring_layers(layers):
    """The papers' ring layers: the blocks' convs and shortcuts (not stem, not fc)."""
    return [l for l in layers if l.name.startswith("blocks.")]


def paper_ring_size(how, layers) -> int:
    if how == "one_conv":
        return 512 * 512 * 9
    if how == "resnet18_ring":
        r18 = sum(l.weights for l in _ring_layers(preset_layers(get_preset("resnet18",
                                                                           "imagenet"))))
        return -(-r18 // 4608) * 4608          # the reference code's multiple of 4608
    return int(round(how * sum(l.weights + l.bn_affine_params for l in layers)))


def rpg_report(preset, dof: float | None = None, ring_bits: int = 8, p_out: int = 1,
               config: str | None = None) -> dict:
    preset = replace(preset, folded=(False,) * len(preset.folded))   # rpg: unfolded
    layers = preset_layers(preset)
    virtual = sum(l.weights for l in layers)
    ring_virtual = sum(l.weights for l in _ring_layers(layers))
    if config is not None:
        n_paper = paper_ring_size(PAPER_CONFIGS[config][2], layers)
        n = contract.ring_size(n_paper, virtual)
    else:
        n_paper = None
        n = contract.ring_size(dof, virtual)
    rw = max(1, (n - 1).bit_length())
    rows = []
    for l in layers:
        co = l.shape[0]
        rows.append({"name": l.name, "shape": l.shape, "virtual_weights": l.weights,
                     "on_ring_in_paper": l.name.startswith("blocks."),
                     "lfsr_state_bits": STATE_BITS * co, "ring_start_bits": rw * co})
    per_channel = sum(r["lfsr_state_bits"] + r["ring_start_bits"] for r in rows)
    ring = n * ring_bits
    bn = sum(l.bn_affine_params for l in layers)
    params = virtual + bn
    ordinary = sum(l.weights for l in layers if not l.name.startswith("blocks."))
    trained_paper = (n_paper if n_paper is not None else n) + ordinary + bn
    return {
        "source": "rpg", "preset": preset.name, "dataset": preset.dataset, "config": config,
        "dof": n, "dof_paper": n_paper, "ring_bits": ring_bits, "ring_index_bits": rw,
        "virtual_weights": virtual, "ring_virtual_weights_paper": ring_virtual,
        "dof_fraction": n / virtual,
        "layers": rows,
        "on_chip_bits": ring * p_out + per_channel, "ring_copies": p_out,
        "ring_storage_bits": ring, "per_channel_bits": per_channel,
        "dense_fp32_bits": 32 * virtual, "dense_int8_bits": 8 * virtual,
        "hls4ml_expanded_bits": ring_bits * virtual,
        "params": params, "params_trained_paper": trained_paper,
        "params_reduction_paper": params / trained_paper,
        "virtual_over_dof": virtual / n,
    }


def format_rpg_report(r: dict) -> str:
    out = [f"RPG report: {r['preset']} ({r['dataset']})" +
           (f", paper configuration {r['config']}" if r["config"] else ""),
           f"{'layer':28s} {'shape [co,kh,kw,ci]':22s} {'virtual':>10s} {'paper ring':>10s}"]
    for row in r["layers"]:
        out.append(f"{row['name']:28s} {str(row['shape']):22s} {row['virtual_weights']:>10d} "
                   f"{'yes' if row['on_ring_in_paper'] else 'no':>10s}")
    b = r["ring_bits"]
    out += [
        f"DoF (ring entries): {r['dof']}" + (f" (paper: {r['dof_paper']})"
                                             if r["dof_paper"] else ""),
        f"virtual conv weights: {r['virtual_weights']} ({r['virtual_over_dof']:.1f}x the DoF; "
        f"DoF fraction {r['dof_fraction']:.4%})",
        f"ring: {r['ring_storage_bits']} bits ({b}-bit entries) x {r['ring_copies']} "
        f"copies + {r['per_channel_bits']} bits of LFSR states and ring starts = "
        f"{r['on_chip_bits']} bits on chip",
        f"dense fp32: {r['dense_fp32_bits']} bits ({r['dense_fp32_bits'] / r['on_chip_bits']:.1f}x), "
        f"dense int8: {r['dense_int8_bits']} bits ({r['dense_int8_bits'] / r['on_chip_bits']:.1f}x), "
        f"hls4ml with the expanded {b}-bit weights: {r['hls4ml_expanded_bits']} bits "
        f"({r['hls4ml_expanded_bits'] / r['on_chip_bits']:.1f}x)",
        f"papers' accounting (stem, classifier, BN ordinary): {r['params']} parameters / "
        f"{r['params_trained_paper']} trained = {r['params_reduction_paper']:.1f}x fewer"]
    return "\n".join(out)
