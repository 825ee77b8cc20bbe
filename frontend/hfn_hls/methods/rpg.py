"""``--method rpg``: Recurrent Parameter Generators (Wang et al. 2021; WACV 2023).

Every conv of the preset's ResNet (stages unfolded) takes its weights from one shared,
trained ring of ``N`` parameters through a per-layer affine map and LFSR sign flips
(``models/rpg.py``, docs/weight-generation.md "source: rpg"); BatchNorm is ordinary.
``--dof F``: the ring size, as a fraction of the virtual conv weights if F < 1, else an
absolute number of entries (rounded up to a multiple of 64).  ``--ring-bits B``: the
ring's Brevitas integer width (4..8, default 8).  Export writes the ``hfn`` metadata
with ``method: rpg``, the layers' map parameters and the ring (``shared.ring``).
"""
from __future__ import annotations

from ..errors import HfnError
from .base import Method, Option, TrainSettings

DEFAULT_DOF = 0.1
DEFAULT_RING_BITS = 8


def _check_dof(v):
    return None if v > 0 else "DoF must be a positive fraction (< 1) or ring size (>= 1)"


def _check_bits(v):
    return None if v == int(v) and 4 <= v <= 8 else "the ring has 4 to 8 bits"


class Rpg(Method):
    name = "rpg"
    help = "Recurrent Parameter Generators: all conv weights from one trained ring"
    options = (Option("--dof", "ring size: fraction of the virtual conv weights (< 1) or "
                      f"entries (>= 1), default {DEFAULT_DOF}", float, check=_check_dof),
               Option("--ring-bits", f"ring width, 4-8 bits (default {DEFAULT_RING_BITS})",
                      int, check=_check_bits))
    settings = TrainSettings(lr=0.1, weight_decay=5e-5)

    def configure(self, preset, given):
        preset, config = super().configure(preset, given)
        if config["dof"] is None:
            config["dof"] = DEFAULT_DOF
        if config["ring_bits"] is None:
            config["ring_bits"] = DEFAULT_RING_BITS
        config["dof"] = float(config["dof"])
        config["ring_bits"] = int(config["ring_bits"])
        return preset, config

    def build(self, preset, config, model_seed):
        from ..models.rpg import build_rpg_resnet
        return build_rpg_resnet(preset, config["dof"], config["ring_bits"], model_seed)

    def train_desc(self, preset) -> str:
        return f"train {preset.name} (rpg)"

    def finish(self, model, config):
        from ..models.rpg import freeze
        freeze(model)

    def check_loaded(self, model, state, where):
        from ..models.rpg import freeze
        n = state.get("rpg_ring_size")
        if n is not None and int(n) != model.ring.n:
            raise HfnError(where, f"the checkpoint's ring has {n} entries, the model "
                           f"{model.ring.n}", "re-train the run")
        freeze(model)

    def metrics(self, model, config):
        return {"dof": model.ring.n, "virtual_weights": model.virtual_weights,
                "dof_fraction": model.ring.n / model.virtual_weights,
                "ring_bits": model.ring.bits, "dof_option": config["dof"]}

    def checkpoint_state(self, model, config):
        return {"rpg_ring_size": model.ring.n, "sign_source": "lfsr"}

    def export_metadata(self, model, config):
        return rpg_metadata(model)


def rpg_metadata(model, input_shape=None) -> dict:
    """``{"hfn": metadata}`` of an RPG model (docs/ir.md): the conv call order traced
    from one forward pass, the layers' map parameters and the ring."""
    from ..export import _model_name, trace
    from ..metadata import META_FORMAT, META_KEY
    from ..models.rpg import freeze, rpg_layers
    from ..weights import rpg as contract

    freeze(model)
    layers = rpg_layers(model)
    names = {m: n for n, m in layers}
    calls: list[str] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: calls.append(names[mod]))
             for _, m in layers]
    try:
        t = trace(model, input_shape)          # one forward pass: the hooks see the calls
    finally:
        for h in hooks:
            h.remove()
    ring = model.ring
    ints = ring.ints()
    entries = []
    for name, m in sorted(layers, key=lambda x: x[1].index):
        entries.append({"name": name, "source": "rpg", "ring": contract.RING,
                        "index": m.index, "seed": m.seed, "a": m.a, "b": m.b, "n": ring.n,
                        "c": m.c, "scale": ring.scale() * m.c,
                        "shape_oihw": [m.out_ch, m.in_ch, m.kernel, m.kernel],
                        "stride": m.stride, "pad": m.padding})
    preset, dataset = _model_name(model)
    c, h, w = t.input_shape
    meta = {"format": META_FORMAT, "version": 1, "method": "rpg", "preset": preset,
            "dataset": dataset, "model_seed": model.model_seed, "act_bits": t.act_bits,
            "res_bits": t.res_bits, "k": None, "input_shape": [c, h, w],
            "classes": t.classes, "sign_source": "lfsr", "layers": entries,
            "conv_calls": calls, "folds": [], "dof": ring.n,
            "virtual_weights": model.virtual_weights,
            "shared": {contract.RING: {"kind": contract.RING_KIND, "n": ring.n,
                                       "bits": ring.bits, "narrow": True,
                                       "values": contract.encode(ints),
                                       "scale": ring.scale()}}}
    return {META_KEY: meta}


METHOD = Rpg()
