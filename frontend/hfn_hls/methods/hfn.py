"""``--method hfn`` (the default): edge-popup supermask search over frozen LFSR weights.

Only the scores (and the affine BatchNorm of folded blocks, and the quantiser scales)
train; weight decay on the scores only; after training the masks are frozen.  The
checkpoint records ``sign_source: lfsr`` and loading checks every layer's signs against
the LFSR.  Export writes the ``hfn`` metadata (docs/ir.md), traced from the model.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import HfnError
from .base import Method, Option, TrainSettings


def _check_k(v):
    return None if 0 < v <= 1 else "kept fraction must be in (0, 1]"


class Hfn(Method):
    name = "hfn"
    help = "HFN supermask search: LFSR weights frozen, 1-bit masks learned (default)"
    options = (Option("--k", "kept fraction of the supermask, e.g. --k 0.3", float,
                      check=_check_k),)
    settings = TrainSettings(lr=0.1, weight_decay=5e-4)
    hfn = True

    def configure(self, preset, given):
        preset, config = super().configure(preset, given)
        if not preset.hfn:
            raise HfnError(f"--preset {preset.name}", "is a dense baseline, not an HFN preset",
                           f"train it with --method dense, or report it with "
                           f"'hfn-hls report --preset {preset.name}'")
        if config["k"] is not None:
            preset = replace(preset, k=float(config["k"]))
        return preset, {"k": preset.k}

    def build(self, preset, config, model_seed):
        from ..models.resnet import HfnResNet
        return HfnResNet(preset, model_seed)

    def param_groups(self, model, config, weight_decay):
        decay, no_decay = [], []
        for n, p in model.named_parameters():
            (decay if n.endswith("scores") else no_decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay},
                {"params": no_decay, "weight_decay": 0.0}]

    def after_training(self, model, config, trainer):
        from .. import lfsr
        for name, m in model.hfn_layers():
            fresh = m.signs.new_tensor(lfsr.layer_signs(m.seed, tuple(m.signs.shape)))
            if not _equal(m.signs.cpu(), fresh.cpu()):
                raise AssertionError(f"layer {name}: weights changed during training")
        return model, {}

    def finish(self, model, config):
        model.freeze()

    def metrics(self, model, config):
        return {"k": config["k"]}

    def checkpoint_state(self, model, config):
        return {"sign_source": "lfsr"}

    def restore(self, preset, config, state, where):
        if state.get("sign_source") != "lfsr":
            raise HfnError(where, "weight signs were drawn from the torch RNG and "
                           "cannot be regenerated on chip",
                           "re-search the masks with 'hfn-hls train'")
        model = self.build(preset, config, int(state["model_seed"]))
        sd = state["state_dict"]
        for name, m in model.hfn_layers():
            key = f"{name}.signs"
            if key in sd and not _equal(sd[key], m.signs):
                raise HfnError(f"{where} layer {name}", "stored weight signs differ "
                               f"from the LFSR stream of seed 0x{m.seed:08x}",
                               "the checkpoint was not made with hfn-hls' LFSR; re-search "
                               "the masks")
            if key in sd and m.frozen_mask.numel() == 0 and \
                    sd.get(f"{name}.frozen_mask") is not None:
                import torch
                m.frozen_mask = torch.zeros_like(sd[f"{name}.frozen_mask"])
        return model

    def export_metadata(self, model, config):
        from ..export import hfn_metadata
        return hfn_metadata(model)


def _equal(a, b) -> bool:
    import torch
    return torch.equal(a, b)


METHOD = Hfn()
