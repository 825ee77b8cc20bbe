"""The generic training loop, the checkpoint format and ``init``.

What is trained, and how, is the training method's (``hfn_hls.methods``, ``--method``;
default ``hfn``: edge-popup supermask search over frozen LFSR weights).  This module runs
the loop every method shares: SGD with momentum 0.9, cosine learning rate, cross entropy
plus the method's regulariser, the method's hook after every step, a progress bar.  Runs
on the CPU by default; under ``torchrun`` with several processes it uses
DistributedDataParallel (NCCL on GPUs, gloo otherwise).
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from . import lfsr  # noqa: F401 (re-exported)
from .data import DataSplit, load_dataset
from .errors import HfnError
from .methods import DEFAULT, get_method
from .models import get_preset

CHECKPOINT = "model.pt"
METRICS = "metrics.json"
FORMAT = "hfn-checkpoint"


# -- models of a method -----------------------------------------------------------

def make_model(method, preset, config: dict, model_seed: int) -> nn.Module:
    """``method.build`` plus the attributes that checkpoints and export read."""
    model = method.build(preset, config, int(model_seed))
    return tag_model(model, method, preset, config, model_seed)


def tag_model(model, method, preset, config, model_seed):
    """Record on ``model`` what made it: its method and config, preset and model seed."""
    model.method_name, model.method_config = method.name, dict(config)
    model.preset, model.model_seed = preset, int(model_seed)
    return model


def method_of(model: nn.Module):
    return get_method(getattr(model, "method_name", DEFAULT))


# -- checkpoints ---------------------------------------------------------------------

def _checkpoint_schema():
    from typing import Any, Optional

    from pydantic import Field

    from .validate import Doc, Name

    class CheckpointDoc(Doc):
        """The top-level entries of ``model.pt`` besides the weights (``state_dict``)."""

        format: str
        version: int = Field(ge=1, le=1)
        method: Name = DEFAULT
        method_config: Optional[dict[str, Any]] = None
        preset: Name
        dataset: Optional[Name] = None
        model_seed: int = Field(0, ge=0, le=2**32 - 1)
        preset_fields: Optional[dict[str, Any]] = None

    return CheckpointDoc



def save_checkpoint(model: nn.Module, run_dir: Path, extra: dict | None = None) -> Path:
    """Write ``run_dir/model.pt``: the method, its config, the preset and the weights."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    method = method_of(model)
    config = getattr(model, "method_config", {})
    p = model.preset
    state = {"format": FORMAT, "version": 1, "method": method.name, "method_config": config,
             "preset": p.name, "dataset": p.dataset, "model_seed": model.model_seed,
             "preset_fields": {k: v for k, v in asdict(p).items()},
             "state_dict": model.state_dict(), **method.checkpoint_state(model, config),
             **(extra or {})}
    path = run_dir / CHECKPOINT
    from .atomic import write_file
    write_file(path, lambda tmp: torch.save(state, tmp))      # beside it, then renamed
    return path


def load_checkpoint(run_dir: str | Path) -> nn.Module:
    """Rebuild the model of a run directory (or checkpoint file), whatever its method."""
    path = Path(run_dir)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise HfnError(str(path), "no checkpoint here",
                       "give a run directory made by 'hfn-hls train' or 'hfn-hls init'")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # corrupt or foreign file
        raise HfnError(str(path), f"cannot read the checkpoint ({type(e).__name__})",
                       "re-create it with 'hfn-hls train' or 'hfn-hls init'") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise HfnError(str(path), "not an hfn-hls checkpoint",
                       "re-create it with 'hfn-hls train' or 'hfn-hls init'")
    fix = "re-create it with 'hfn-hls train' or 'hfn-hls init'"
    from .validate import check
    check(_checkpoint_schema(), {k: v for k, v in state.items() if k != "state_dict"}, str(path), fix)
    if not isinstance(state.get("state_dict"), dict):
        raise HfnError(str(path), "\"state_dict\" is missing or not a dictionary", fix)
    method = get_method(state.get("method", DEFAULT))    # version-1 files before methods: hfn
    preset = get_preset(state["preset"], state["dataset"])
    try:
        if "preset_fields" in state:
            f = dict(state["preset_fields"])
            f.pop("name", None)
            for key in ("widths", "blocks", "folded"):
                f[key] = tuple(f[key])
            preset = replace(preset, **f)
        config = dict(state.get("method_config") or {})
        if method.name == "hfn" and not config:
            config = {"k": preset.k}
        model = method.restore(preset, config, state, str(path))
        model.load_state_dict(state["state_dict"])
    except HfnError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        msg = " ".join(str(e).split())[:200]
        raise HfnError(str(path), f"the checkpoint does not fit its preset and method "
                       f"({type(e).__name__}: {msg})", fix) from None
    method.check_loaded(model, state, str(path))
    return tag_model(model, method, preset, config, state.get("model_seed", 0))


# -- training ------------------------------------------------------------------------

def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False,
                dynamic_ncols=True)


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(x[i:i + batch]))
            correct += int((out.argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(x)


def _sync_from_rank0(model: nn.Module) -> None:
    """Rank 0's parameters and buffers to every rank (after each epoch).  DDP averages
    gradients, but what each rank computes from its own batches diverges: BatchNorm
    running statistics and the quantisers' runtime statistics, which then initialise
    their scale parameters.  The checkpoint is rank 0's; every rank continues from it
    and ends with it (tests/test_train_distributed.py)."""
    import torch.distributed as dist
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.numel():
                dist.broadcast(t.data, 0)


class Trainer:
    """The loop every method shares; methods call ``fit`` again for later stages
    (e.g. fine-tuning after Layer Folding)."""

    def __init__(self, data: DataSplit, *, batch_size: int, seed: int, progress: bool,
                 lr: float, weight_decay: float, epochs: int, world: int = 1, rank: int = 0,
                 device=None):
        self.data, self.batch_size = data, batch_size
        self.lr, self.weight_decay, self.epochs = lr, weight_decay, epochs   # main stage's
        self.seconds = 0.0            # total time in fit()
        self.progress, self.world, self.rank = progress, world, rank
        self.device = device or torch.device("cpu")
        self.generator = torch.Generator().manual_seed(seed)
        self.xtr = torch.from_numpy(data.x_train)
        self.ytr = torch.from_numpy(data.y_train)

    def fit(self, model: nn.Module, method, config: dict, *, epochs: int, lr: float,
            weight_decay: float, desc: str) -> float:
        """Train ``model`` for ``epochs``; returns the seconds it took."""
        model.to(self.device)
        net: nn.Module = model
        if self.world > 1:
            net = nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.SGD(method.param_groups(model, config, weight_decay), lr=lr,
                              momentum=0.9)
        n = len(self.xtr)
        steps_per_epoch = math.ceil(n / (self.batch_size * self.world))
        total = max(1, epochs * steps_per_epoch)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
        loss_fn = nn.CrossEntropyLoss()
        t0 = time.time()
        bar = _progress(range(epochs), epochs, desc, self.progress and self.rank == 0)
        for _ in bar:
            net.train()
            perm = torch.randperm(n, generator=self.generator)[self.rank::self.world]
            running = 0.0
            for i in range(0, len(perm), self.batch_size):
                idx = perm[i:i + self.batch_size]
                xb, yb = self.xtr[idx].to(self.device), self.ytr[idx].to(self.device)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(xb), yb)
                reg = method.regulariser(model, config)
                if reg is not None:
                    loss = loss + reg
                loss.backward()
                opt.step()
                sched.step()
                method.after_step(model, config)
                running += loss.item() * len(idx)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{running / len(perm):.3f}")
            if self.world > 1:
                _sync_from_rank0(model)
        model.to("cpu")
        dt = time.time() - t0
        self.seconds += dt
        return dt

    def evaluate(self, model: nn.Module, split: str = "test") -> float:
        d = self.data
        if split == "test":
            return evaluate(model, d.x_test, d.y_test)
        return evaluate(model, d.x_train, d.y_train)


def _method_options(method_name: str | None, k: float | None, options: dict) -> dict:
    given = {key: v for key, v in options.items() if v is not None}
    if k is not None:
        given["k"] = k
    return given


def configure(preset_name: str, dataset: str | None, method_name: str | None,
              act_bits: int | None, given: dict):
    """The method, the preset to build (with the command line's overrides) and the
    method's config."""
    method = get_method(method_name)
    p = configured_preset(preset_name, dataset, act_bits)
    p, config = method.configure(p, given)
    return method, p, config


def train(preset_name: str, run_dir: str | Path, *, method: str | None = None,
          dataset: str | None = None, data_dir: str | None = None,
          epochs: int | None = None, batch_size: int = 64, lr: float | None = None,
          weight_decay: float | None = None, model_seed: int = 2021, seed: int = 0,
          threads: int | None = None, progress: bool = True, act_bits: int | None = None,
          k: float | None = None, **options) -> dict:
    """Train ``preset_name`` with a training method; write the checkpoint and
    metrics.json; return the metrics.  ``options`` are the method's (e.g.
    ``weight_bits=4``); ``k`` is the HFN method's kept fraction."""
    run_dir = Path(run_dir)
    meth, p, config = configure(preset_name, dataset, method, act_bits,
                                _method_options(method, k, options))
    data = load_dataset(p.dataset, data_dir)
    epochs = epochs or meth.settings.epochs or int(p.extra.get("epochs", 100))
    lr = meth.settings.lr if lr is None else lr
    weight_decay = meth.settings.weight_decay if weight_decay is None else weight_decay
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)

    model = make_model(meth, p, config, model_seed)
    device = torch.device("cpu")
    if world > 1:
        import torch.distributed as dist
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    trainer = Trainer(data, batch_size=batch_size, seed=seed, progress=progress, lr=lr,
                      weight_decay=weight_decay, epochs=epochs, world=world, rank=rank,
                      device=device)
    trainer.fit(model, meth, config, epochs=epochs, lr=lr, weight_decay=weight_decay,
                desc=meth.train_desc(p))
    model, extra = meth.after_training(model, config, trainer)
    train_seconds = trainer.seconds
    tag_model(model, meth, p, config, model_seed)
    meth.finish(model, config)
    metrics = {
        "method": meth.name, "preset": p.name, "dataset": p.dataset, "epochs": epochs,
        "test_accuracy": evaluate(model, data.x_test, data.y_test),
        "train_accuracy": evaluate(model, data.x_train, data.y_train),
        "train_seconds": round(train_seconds, 3),
        "test_images": int(len(data.x_test)), "model_seed": model_seed,
        "act_bits": p.act_bits, "res_bits": p.res_bits, "world_size": world,
        **meth.metrics(model, config), **extra,
    }
    if rank == 0:
        save_checkpoint(model, run_dir)
        from .atomic import write_file
        write_file(run_dir / METRICS, json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
    return metrics


def configured_preset(preset_name: str, dataset: str | None, act_bits: int | None = None,
                      k: float | None = None):
    """A preset with the command line's overrides (activation width; HFN's kept
    fraction, kept here for callers from before the method registry)."""
    p = get_preset(preset_name, dataset)
    if act_bits is not None:
        if not 2 <= act_bits <= 8:
            raise HfnError(f"--act-bits {act_bits}", "unsupported activation width",
                           "choose 2 to 8 bits")
        p = replace(p, act_bits=act_bits, res_bits=act_bits + 1)
    if k is not None:
        if not 0 < k <= 1:
            raise HfnError(f"--k {k}", "kept fraction must be in (0, 1]", "e.g. --k 0.3")
        p = replace(p, k=k)
    return p


def init_model(preset_name: str, run_dir: str | Path, *, dataset: str | None = None,
               model_seed: int = 2021, seed: int = 0, calibrate: bool = True,
               act_bits: int | None = None, k: float | None = None,
               method: str | None = None, **options) -> nn.Module:
    """An untrained model (random scores / weights) for hardware work without data.

    A few forward passes on random inputs in training mode initialise the BatchNorm
    statistics and the quantiser scales, so the network is not degenerate."""
    meth, p, config = configure(preset_name, dataset, method, act_bits,
                                _method_options(method, k, options))
    if not meth.can_init:
        raise HfnError(f"--method {meth.name}", "has no untrained form (it is a training "
                       "procedure)", f"use 'hfn-hls train --method {meth.name}'")
    torch.manual_seed(seed)
    model = make_model(meth, p, config, model_seed)
    if calibrate:
        c, h, w = model.input_shape
        gen = torch.Generator().manual_seed(seed)
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.rand(16, c, h, w, generator=gen))
    model.eval()
    meth.finish(model, config)
    save_checkpoint(model, Path(run_dir))
    return model


__all__ = ["train", "init_model", "load_checkpoint", "save_checkpoint", "evaluate",
           "make_model", "Trainer", "lfsr"]
