"""``--method layerfold``: Layer Folding (Ben Dror et al. 2021; reference code github
LayerFolding/Layer-Folding, ``ResNet_Cifar10_prefold.py`` / ``_postfold.py``).

1. Pre-fold training: the preset built unfolded with stored weights (as ``--method
   dense``), every block activation a learned ``σ_α(x) = α·x + (1−α)·ReLU(x)`` (one α per
   activation, initialised 0, clipped to ≥ 0 after each step), loss +
   ``λ·Σ|1 − α²|`` (``--lambda``, 0.25 as in the reference).  The stem's activation stays
   a ReLU, as in the reference.
2. Folding: α ≥ ``--threshold`` (0.9) counts as linear.  Inside a block, conv j → BN j →
   conv j+1 around a linear activation become ONE conv in closed form (two 3x3 → 5x5;
   stride 2 → 7x7), its bias absorbed exactly into BN j+1's running mean, so no conv has a
   bias; a linear activation after the residual addition is dropped (its quantiser stays).
   The other activations keep their learned slope: α = 0 is a ReLU, 0 < α < threshold a
   LeakyReLU of slope α (exported as ONNX LeakyRelu).
3. Fine-tuning (``--finetune-epochs``, default: the pre-fold epochs; ``--finetune-lr``,
   default a tenth of the pre-fold rate) with the α fixed, quantised as before.

metrics.json: ``test_accuracy`` (after folding and fine-tuning),
``test_accuracy_before_fold``, ``test_accuracy_folded`` (folded, before fine-tuning),
``convs_before``, ``convs_after`` (conv layers: stem, block convs, projection shortcuts,
the 1x1 classifier), the α of every activation and which were merged or dropped.
"""
from __future__ import annotations

from .base import Method, Option, TrainSettings
from .dense import DEFAULT_WEIGHT_BITS, WEIGHT_BITS

LAMBDA = 0.25
THRESHOLD = 0.9


def _positive(v):
    return None if v > 0 else "must be > 0"


def _non_negative(v):
    return None if v >= 0 else "must be >= 0"


def _threshold(v):
    return None if 0 < v <= 1 else "must be in (0, 1]"


class LayerFold(Method):
    name = "layerfold"
    help = ("Layer Folding: learn which activations are linear, merge conv-BN-conv, "
            "fine-tune (stored weights)")
    options = (WEIGHT_BITS,
               Option("--lambda", f"weight of the regulariser λ·|1−α²| (default {LAMBDA})",
                      float, check=_non_negative),
               Option("--threshold", f"α at or above which an activation is linear "
                      f"(default {THRESHOLD})", float, check=_threshold),
               Option("--finetune-epochs", "epochs of fine-tuning after folding (default: "
                      "the pre-fold epochs)", int, check=_non_negative),
               Option("--finetune-lr", "learning rate of the fine-tuning (default: a tenth "
                      "of --lr)", float, check=_positive))
    settings = TrainSettings(lr=0.1, weight_decay=5e-4)
    can_init = False

    def configure(self, preset, given):
        preset, config = super().configure(preset, given)
        defaults = {"weight_bits": DEFAULT_WEIGHT_BITS, "lambda": LAMBDA,
                    "threshold": THRESHOLD}
        for key, v in defaults.items():
            if config[key] is None:
                config[key] = v
        config["weight_bits"] = int(config["weight_bits"])
        return preset, config

    def train_desc(self, preset) -> str:
        return f"pre-fold {preset.name}"

    # -- the model ------------------------------------------------------------------
    def build(self, preset, config, model_seed, merged=None):
        from ..models.blocks import stored_conv_factory
        from ..models.layerfold import LayerFoldAct
        from ..models.resnet import ResNet

        def act():
            return LayerFoldAct(preset.act_bits)
        return ResNet(preset, stored_conv_factory(config["weight_bits"]), folded=False,
                      act=act, out_act=act, merged=merged)

    def restore(self, preset, config, state, where):
        fold = state.get("layerfold") or {}
        model = self.build(preset, config, int(state.get("model_seed", 0)),
                           merged={k: tuple(v) for k, v in fold.get("merged", {}).items()})
        modes = fold.get("modes", {})
        for name, act in _acts(model):
            if name in modes and modes[name] != "learn":
                act.set_mode(modes[name])
        model.layerfold_prefold = fold.get("prefold_state_dict")
        return model

    # -- training -------------------------------------------------------------------
    def regulariser(self, model, config):
        from ..models.layerfold import regulariser
        acts = [a for _, a in _acts(model) if a.mode == "learn"]
        return regulariser(acts, config["lambda"]) if acts else None

    def after_step(self, model, config):
        from ..models.layerfold import clip_alphas
        clip_alphas([a for _, a in _acts(model) if a.mode == "learn"])

    def after_training(self, model, config, trainer):
        import copy
        before = trainer.evaluate(model)
        prefold = copy.deepcopy(model.state_dict())
        convs_before = count_convs(model)
        alphas = {n: float(a.alpha.detach()) for n, a in _acts(model)}
        merged, dropped = fold_model(model, config)
        folded = trainer.evaluate(model)
        epochs = config["finetune_epochs"]
        epochs = trainer.epochs if epochs is None else int(epochs)
        lr = config["finetune_lr"] or trainer.lr / 10
        if epochs:
            trainer.fit(model, self, config, epochs=epochs, lr=lr,
                        weight_decay=trainer.weight_decay,
                        desc=f"fine-tune {model.preset.name}")
        model.layerfold_prefold = prefold
        return model, {
            "test_accuracy_before_fold": before, "test_accuracy_folded": folded,
            "convs_before": convs_before, "convs_after": count_convs(model),
            "alphas": alphas, "merged": merged, "dropped": dropped,
            "finetune_epochs": epochs, "finetune_lr": lr}

    # -- results --------------------------------------------------------------------
    def metrics(self, model, config):
        return {"weight_bits": config["weight_bits"], "lambda": config["lambda"],
                "threshold": config["threshold"]}

    def checkpoint_state(self, model, config):
        merged = {b.plan.name: list(b.merged) for b in model.blocks if b.merged}
        return {"layerfold": {"merged": merged,
                              "modes": {n: a.mode for n, a in _acts(model)},
                              "prefold_state_dict": getattr(model, "layerfold_prefold", None)}}

    def export_metadata(self, model, config):
        from ..export import model_metadata
        return model_metadata(model, layerfold={
            "threshold": config["threshold"], "lambda": config["lambda"],
            "alphas": {n: float(a.alpha.detach()) for n, a in _acts(model)},
            "modes": {n: a.mode for n, a in _acts(model)},
            "merged": {b.plan.name: list(b.merged) for b in model.blocks if b.merged}})


def load_prefold(run_dir):
    """The network of a layerfold run as it was BEFORE folding (the pre-fold weights kept
    in its checkpoint), every σ_α fixed as what it is: a ReLU (α = 0) or a LeakyReLU of
    slope α — the same function, in ops a compiler reads.  For before/after figures
    (scripts/bench_layerfold.py)."""
    from ..errors import HfnError
    from ..train import tag_model, load_checkpoint

    folded = load_checkpoint(run_dir)
    sd = getattr(folded, "layerfold_prefold", None)
    if getattr(folded, "method_name", None) != METHOD.name or sd is None:
        raise HfnError(str(run_dir), "is not a layerfold run with its pre-fold weights",
                       "train one with 'hfn-hls train --method layerfold'")
    config = folded.method_config
    model = METHOD.build(folded.preset, config, folded.model_seed)
    model.load_state_dict(sd)
    for _, a in _acts(model):
        a.set_mode("relu" if float(a.alpha.detach()) == 0.0 else "leaky")
    model.eval()
    return tag_model(model, METHOD, folded.preset, config, folded.model_seed)


def _acts(model) -> list:
    """(name, LayerFoldAct) of the model's blocks, e.g. ``stage1.block0.acts.0``,
    ``stage1.block0.out``."""
    from ..models.layerfold import block_acts
    return [(f"{b.plan.name}.{n}", a) for b in model.blocks for n, a in block_acts(b)]


def count_convs(model) -> int:
    """Conv layers of the network (stem, block convs, shortcuts, 1x1 classifier)."""
    import torch.nn as nn
    return sum(1 for m in model.modules() if isinstance(m, nn.Conv2d))


def fold_model(model, config) -> tuple[list[str], list[str]]:
    """Fold ``model`` in place (pre-fold training done); returns the merged inner
    activations and the dropped activations after an addition, by name."""
    import torch.nn as nn

    from ..models.blocks import stored_conv_factory
    from ..models.layerfold import LayerFoldAct, merge_pair

    thr = config["threshold"]
    make = stored_conv_factory(config["weight_bits"])
    model.eval()
    merged, dropped = [], []
    for b in model.blocks:
        it = b.iters[0]
        if len(b.iters) != 1:
            raise AssertionError("layer folding works on unfolded blocks")
        linear = [j for j, a in enumerate(it.acts)
                  if isinstance(a, LayerFoldAct) and float(a.alpha.detach()) >= thr]
        for j in sorted(linear, reverse=True):
            new = merge_pair(b, j, make)
            convs = list(b.convs)
            convs[j:j + 2] = [new]
            b.convs = nn.ModuleList(convs)
            bns = list(it.bns)
            del bns[j]
            it.bns = nn.ModuleList(bns)
            acts = list(it.acts)
            del acts[j]
            it.acts = nn.ModuleList(acts)
            merged.append(f"{b.plan.name}.acts.{j}")
        b.merged = tuple(sorted(linear))
        for j, a in enumerate(it.acts):
            if isinstance(a, LayerFoldAct):
                a.set_mode(_mode(a, thr))
        if isinstance(it.out_act, LayerFoldAct):
            mode = _mode(it.out_act, thr)
            it.out_act.set_mode(mode)
            if mode == "linear":
                dropped.append(f"{b.plan.name}.out")
    return merged, dropped


def _mode(act, thr: float) -> str:
    a = float(act.alpha.detach())
    return "linear" if a >= thr else "relu" if a == 0.0 else "leaky"


METHOD = LayerFold()
