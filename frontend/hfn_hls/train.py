"""Supermask training (edge-popup) and the checkpoint format.

Only the scores (and the affine BatchNorm of folded blocks, and the quantiser scales)
train; the LFSR weights are buffers that never change.  SGD with momentum 0.9, cosine
learning rate, weight decay 5e-4, as the HFN reference.  Runs on the CPU by default;
under ``torchrun`` with several processes it uses DistributedDataParallel (NCCL on GPUs,
gloo otherwise).
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from . import lfsr
from .data import DataSplit, load_dataset
from .errors import HfnError
from .models import build_model, get_preset
from .models.resnet import HfnResNet

CHECKPOINT = "model.pt"
METRICS = "metrics.json"
FORMAT = "hfn-checkpoint"


# -- checkpoints ---------------------------------------------------------------------

def save_checkpoint(model: HfnResNet, run_dir: Path, extra: dict | None = None) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    p = model.preset
    state = {"format": FORMAT, "version": 1, "preset": p.name, "dataset": p.dataset,
             "model_seed": model.model_seed, "sign_source": "lfsr",
             "preset_fields": {k: v for k, v in asdict(p).items()},
             "state_dict": model.state_dict(), **(extra or {})}
    path = run_dir / CHECKPOINT
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(run_dir: str | Path) -> HfnResNet:
    """Rebuild the model of a run directory (or checkpoint file) and check its signs."""
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
    if state.get("sign_source") != "lfsr":
        raise HfnError(str(path), "weight signs were drawn from the torch RNG and cannot be "
                       "regenerated on chip", "re-search the masks with 'hfn-hls train'")
    preset = get_preset(state["preset"], state["dataset"])
    if "preset_fields" in state:
        from dataclasses import replace
        f = dict(state["preset_fields"])
        f.pop("name", None)
        for key in ("widths", "blocks", "folded"):
            f[key] = tuple(f[key])
        preset = replace(preset, **f)
    model = build_model(preset, state["model_seed"])
    sd = state["state_dict"]
    for name, m in model.hfn_layers():
        key = f"{name}.signs"
        if key in sd and not torch.equal(sd[key], m.signs):
            raise HfnError(f"{path} layer {name}", "stored weight signs differ from the LFSR "
                           f"stream of seed 0x{m.seed:08x}",
                           "the checkpoint was not made with hfn-hls' LFSR; re-search the masks")
        if key in sd and m.frozen_mask.numel() == 0 and sd.get(f"{name}.frozen_mask") is not None:
            m.frozen_mask = torch.zeros_like(sd[f"{name}.frozen_mask"])
    model.load_state_dict(sd)
    return model


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


def train(preset_name: str, run_dir: str | Path, *, dataset: str | None = None,
          data_dir: str | None = None, epochs: int | None = None, batch_size: int = 64,
          lr: float = 0.1, weight_decay: float = 5e-4, model_seed: int = 2021,
          seed: int = 0, threads: int | None = None, progress: bool = True,
          act_bits: int | None = None, k: float | None = None) -> dict:
    """Search the supermask; write the checkpoint and metrics.json; return the metrics."""

    run_dir = Path(run_dir)
    p = configured_preset(preset_name, dataset, act_bits, k)
    data = load_dataset(p.dataset, data_dir)
    epochs = epochs or int(p.extra.get("epochs", 100))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)

    model = build_model(p, model_seed)
    device = torch.device("cpu")
    net: nn.Module = model
    if world > 1:
        import torch.distributed as dist
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            model.to(device)
        net = nn.parallel.DistributedDataParallel(model)
    signs_before = {n: m.signs.clone() for n, m in model.hfn_layers()}

    decay, no_decay = [], []
    for n, prm in model.named_parameters():
        (decay if n.endswith("scores") else no_decay).append(prm)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=lr, momentum=0.9)
    xtr = torch.from_numpy(data.x_train)
    ytr = torch.from_numpy(data.y_train)
    n = len(xtr)
    steps_per_epoch = math.ceil(n / (batch_size * world))
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    t0 = time.time()
    bar = _progress(range(epochs), epochs, f"train {p.name}", progress and rank == 0)
    for ep in bar:
        net.train()
        perm = torch.randperm(n, generator=g)[rank::world]
        running = 0.0
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = xtr[idx].to(device), ytr[idx].to(device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item() * len(idx)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{running / len(perm):.3f}")
        if world > 1:
            _sync_from_rank0(model)
    train_seconds = time.time() - t0
    model.to("cpu")
    for nme, m in model.hfn_layers():
        if not torch.equal(m.signs, signs_before[nme]):
            raise AssertionError(f"layer {nme}: weights changed during training")
    model.freeze()
    metrics = {
        "preset": p.name, "dataset": p.dataset, "epochs": epochs,
        "test_accuracy": evaluate(model, data.x_test, data.y_test),
        "train_accuracy": evaluate(model, data.x_train, data.y_train),
        "train_seconds": round(train_seconds, 3),
        "test_images": int(len(data.x_test)), "model_seed": model_seed,
        "act_bits": p.act_bits, "res_bits": p.res_bits, "k": p.k,
        "world_size": world,
    }
    if rank == 0:
        save_checkpoint(model, run_dir)
        (run_dir / METRICS).write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
    return metrics


def configured_preset(preset_name: str, dataset: str | None, act_bits: int | None = None,
                      k: float | None = None):
    """A preset with the command line's overrides (activation width, kept fraction)."""
    from dataclasses import replace

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
               act_bits: int | None = None, k: float | None = None) -> HfnResNet:
    """An untrained model (random scores) for hardware work without data.

    A few forward passes on random inputs in training mode initialise the BatchNorm
    statistics and the quantiser scales, so the network is not degenerate."""
    p = configured_preset(preset_name, dataset, act_bits, k)
    torch.manual_seed(seed)
    model = build_model(p, model_seed)
    if calibrate:
        c, h, w = model.input_shape
        gen = torch.Generator().manual_seed(seed)
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.rand(16, c, h, w, generator=gen))
    model.eval()
    model.freeze()
    save_checkpoint(model, Path(run_dir))
    return model


__all__ = ["train", "init_model", "load_checkpoint", "save_checkpoint", "evaluate", "lfsr"]
