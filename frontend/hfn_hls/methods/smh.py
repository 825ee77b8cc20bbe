"""``--method smh``: Structured Multi-Hashing (Eban et al., CVPR 2020).

The preset's block convs and projection shortcuts (with ``--ends smh`` also the stem and
the 1x1 classifier; by default, ``--ends stored``, those two stay ordinary 8-bit stored
convs) take their weights from one virtual matrix ``L . R`` (``models/smh.py``): ``n = ceil(sqrt(P))`` for
the ``P`` virtual weights of those convs, rank ``r = floor(0.5 f P / n)`` for
``--fraction f`` (or ``--rank r``), so ``L``, ``R`` hold about ``f P`` trained numbers.
Activations and residual quantisers are the HFN models'; every BatchNorm is affine; the
stages are unfolded.  Export writes the ``hfn`` metadata with ``method: smh``, the SMH
layers (``source: smh``, offset, shift) and the shared store (``L``, ``R`` as integers):
docs/weight-generation.md, "source: smh".
"""
from __future__ import annotations

from .base import Method, Option, TrainSettings

DEFAULT_FRACTION = 0.25
ENDS = ("smh", "stored")


def _check_fraction(v):
    return None if 0 < v <= 1 else "the fraction of trained variables must be in (0, 1]"


def _check_rank(v):
    from ..weights.smh import MAX_RANK
    return None if v == int(v) and 1 <= v <= MAX_RANK else \
        f"the rank must be an integer in 1..{MAX_RANK}"


def _check_ends(v):
    return None if v in ENDS else f"choose one of: {', '.join(ENDS)}"


class Smh(Method):
    name = "smh"
    help = "Structured Multi-Hashing: every conv weight a dot product of two factor rows"
    options = (
        Option("--fraction", f"SMH: trained variables as a fraction of the virtual conv "
               f"weights (default {DEFAULT_FRACTION})", float, check=_check_fraction),
        Option("--rank", "SMH: the factors' rank r (instead of --fraction)", int,
               check=_check_rank),
        Option("--ends", "SMH: stem and classifier as ordinary 8-bit stored convs "
               "('stored', default) or from L.R too ('smh')", str, check=_check_ends),
    )
    settings = TrainSettings(lr=0.05, weight_decay=5e-4)   # 0.1: less stable on digits

    def configure(self, preset, given):
        preset, config = super().configure(preset, given)
        if config["fraction"] is None:
            config["fraction"] = DEFAULT_FRACTION
        config["ends"] = config["ends"] or "stored"
        return preset, config

    def build(self, preset, config, model_seed):
        from ..models.quant import stored_conv
        from ..models.resnet import ResNet
        from ..models.smh import SmhPool, smh_conv_factory, smh_layers
        model = ResNet(preset, smh_conv_factory(), folded=False)
        if config.get("ends") == "smh":
            model.fc.positive = True        # output codes keep the logits' order
        else:
            s, f = model.stem, model.fc
            model.stem = stored_conv(s.in_ch, s.out_ch, s.kernel, s.stride, s.padding,
                                     weight_bits=8)
            model.fc = stored_conv(f.in_ch, f.out_ch, f.kernel, f.stride, f.padding,
                                   weight_bits=8)
        pool = SmhPool(fraction=config["fraction"], rank=config.get("rank"))
        pool.materialise([m for _, m in smh_layers(model)])
        model.smh_pool = pool
        return model

    def param_groups(self, model, config, weight_decay):
        decay, no_decay = [], []
        for n, p in model.named_parameters():
            if not p.requires_grad:
                continue
            big = (n.endswith("weight") and p.dim() > 1) or n in ("smh_pool.L", "smh_pool.R")
            (decay if big else no_decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay},
                {"params": no_decay, "weight_decay": 0.0}]

    def metrics(self, model, config):
        from ..models.smh import smh_layers
        pool = model.smh_pool
        scalars = len(smh_layers(model))
        bn = sum(p.numel() for m in model.modules() if m.__class__.__name__ == "BatchNorm2d"
                 for p in m.parameters())
        stored = sum(m.weight.numel() for m in (model.stem, model.fc)
                     if not hasattr(m, "pool"))
        return {"fraction": config["fraction"], "ends": config["ends"], "rank": pool.rank,
                "n": pool.n, "virtual_weights": pool.virtual_weights,
                "variables": pool.variables() + scalars, "factor_variables": pool.variables(),
                "layer_scalars": scalars, "bn_variables": int(bn),
                "stored_weights": int(stored),
                "compression": round(pool.virtual_weights / (pool.variables() + scalars), 3),
                "compression_all_convs": round((pool.virtual_weights + stored) /
                                               (pool.variables() + scalars + stored), 3)}

    def export_metadata(self, model, config):
        return smh_metadata(model)


def smh_metadata(model) -> dict:
    """``{"hfn": metadata}`` of an SMH model (docs/weight-generation.md, "source: smh"),
    traced: the SMH convs in call order; freezes their weights for the export."""
    import torch

    from ..export import _model_name, trace
    from ..metadata import META_FORMAT, META_KEY
    from ..models.smh import smh_layers
    layers = smh_layers(model)
    names = {m: n for n, m in layers}
    calls: list[str] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: calls.append(names[mod]))
             for _, m in layers]
    try:
        t = trace(model)
    finally:
        for h in hooks:
            h.remove()
    pool = model.smh_pool
    model.eval()
    for _, m in layers:
        m.freeze()
    with torch.no_grad():           # shifts as the frozen weights were made
        infos = [{"name": n, "source": "smh", "store": "smh", "offset": m.offset,
                  "shift": m.shift, "shape_oihw": [m.out_ch, m.in_ch, m.kernel, m.kernel],
                  "stride": m.stride, "pad": m.padding} for n, m in layers]
    preset, dataset = _model_name(model)
    c, h, w = t.input_shape
    meta = {"format": META_FORMAT, "version": 1, "method": "smh", "preset": preset,
            "dataset": dataset, "model_seed": 0, "act_bits": t.act_bits,
            "res_bits": t.res_bits, "k": None, "input_shape": [c, h, w],
            "classes": t.classes, "layers": infos, "conv_calls": calls, "folds": [],
            "shared": {"smh": pool.export_store()}}
    return {META_KEY: meta}


METHOD = Smh()
