"""The ``Method`` interface: everything a training method decides, as hooks that the
generic loop (``train.py``), the checkpoint code and ``export.py`` call.

Every hook has a default that suits an ordinary network (stored weights); a method
overrides what differs.  torch is imported inside the hooks (see ``methods/__init__``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import HfnError


@dataclass(frozen=True)
class Option:
    """A method option: the command-line flag, its argparse keywords (no default: an
    option not given is None and the method's default applies) and the check of a value
    (returns an error reason or None)."""

    flag: str
    help: str
    type: type = float
    default: object = None
    check: object = None          # callable(value) -> str | None
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class TrainSettings:
    """The generic loop's settings a method may change (defaults of train())."""

    lr: float = 0.1
    weight_decay: float = 5e-4
    epochs: int | None = None      # None: the preset's


class Method:
    """Base class of a training method.  Subclasses set ``name``, ``help``, ``options``."""

    name: str = ""
    help: str = ""
    options: tuple[Option, ...] = ()
    settings: TrainSettings = TrainSettings()
    can_init: bool = True          # ``hfn-hls init`` (untrained model) makes sense
    hfn: bool = False              # weights generated on chip (LFSR x mask)

    # -- configuration --------------------------------------------------------------
    def configure(self, preset, given: dict) -> tuple[object, dict]:
        """Validate the options given (name -> value, only those not None) against this
        method; return the preset to build and the method's config (JSON-able)."""
        known = {o.dest: o for o in self.options}
        for key in given:
            if key not in known:
                raise HfnError(f"--{key.replace('_', '-')}",
                               f"is not an option of --method {self.name}",
                               self._options_hint())
        config = {}
        for key, o in known.items():
            v = given.get(key, o.default)
            if isinstance(v, float) and not math.isfinite(v):
                raise HfnError(f"{o.flag} {v}", "not a finite number", o.help)
            if v is not None and o.check is not None:
                reason = o.check(v)
                if reason:
                    raise HfnError(f"{o.flag} {v}", reason, o.help)
            config[key] = v
        return preset, config

    def _options_hint(self) -> str:
        if not self.options:
            return f"--method {self.name} takes no options of its own"
        return f"--method {self.name} takes {', '.join(o.flag for o in self.options)}"

    # -- the model ------------------------------------------------------------------
    def build(self, preset, config: dict, model_seed: int):
        """The untrained model of ``preset``."""
        raise NotImplementedError

    def restore(self, preset, config: dict, state: dict, where: str):
        """The model of a checkpoint (file ``where``), with the structure it had when
        saved; the caller loads ``state["state_dict"]`` into it."""
        return self.build(preset, config, int(state.get("model_seed", 0)))

    def check_loaded(self, model, state: dict, where: str) -> None:
        """Checks on a loaded checkpoint (after ``load_state_dict``)."""

    # -- training -------------------------------------------------------------------
    def train_desc(self, preset) -> str:
        """The progress bar's label of the main training."""
        return f"train {preset.name}"

    def param_groups(self, model, config: dict, weight_decay: float) -> list[dict]:
        """Optimiser groups: weight decay on conv weights, none on BatchNorm, quantiser
        scales and other scalars."""
        decay, no_decay = [], []
        for n, p in model.named_parameters():
            if not p.requires_grad:
                continue
            (decay if n.endswith("weight") and p.dim() > 1 else no_decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay},
                {"params": no_decay, "weight_decay": 0.0}]

    def regulariser(self, model, config: dict):
        """Extra loss added to the cross entropy (a scalar tensor), or None."""
        return None

    def after_step(self, model, config: dict) -> None:
        """Runs after every optimiser step (e.g. clipping)."""

    def after_training(self, model, config: dict, trainer) -> tuple[object, dict]:
        """Runs once after the main training (e.g. folding + fine-tuning with
        ``trainer.fit``); returns the final model and extra metrics."""
        return model, {}

    def finish(self, model, config: dict) -> None:
        """Puts a trained or initialised model in its final, exportable form."""

    # -- results --------------------------------------------------------------------
    def metrics(self, model, config: dict) -> dict:
        """Method-specific entries of metrics.json."""
        return dict(config)

    def checkpoint_state(self, model, config: dict) -> dict:
        """Extra top-level checkpoint entries (e.g. the structure after folding)."""
        return {}

    def export_metadata(self, model, config: dict) -> dict[str, dict]:
        """ONNX ``metadata_props`` to write: ``{key: JSON object}``."""
        from ..export import model_metadata
        return model_metadata(model)


__all__ = ["Option", "TrainSettings", "Method"]
