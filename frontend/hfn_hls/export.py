"""Export to QONNX (brevitas.export.export_qonnx) with the model's metadata inside.

Everything the metadata says is found by TRACING one forward pass (forward hooks, call
order), not from preset attributes, so a network the user built from the package's
layers (``hfn_hls.models``: ``HfnConv2d``, ``SeedSource``, ``ResidualBlock``,
``FoldedBlock``, the quantisers) exports like a preset:

- a model with generated layers (``HfnConv2d``) gets the ``hfn`` metadata (ONNX
  ``metadata_props`` key ``hfn``, docs/ir.md): model seed and per-layer seeds and
  indices, k and the layer constants, the quantiser widths, the order in which the Conv
  nodes are called and the fold groups;
- any other model (stored weights: ``--method dense``, ``layerfold``) gets the small
  ``hfn-hls`` block (method, preset, data set, input shape, classes, widths).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import torch
import torch.nn as nn

from .errors import HfnError
from .metadata import (META_FORMAT, META_KEY, MODEL_META_FORMAT, MODEL_META_KEY,  # noqa: F401
                       read_metadata, read_model_metadata)
from .models.blocks import ResidualBlock
from .models.supermask import GAIN, HfnConv2d


# -- tracing ----------------------------------------------------------------------------

@dataclass
class Trace:
    """What one forward pass of a model does, in call order."""

    input_shape: tuple[int, int, int]
    classes: int
    calls: list[str] = field(default_factory=list)          # HfnConv2d calls (names)
    convs: list[str] = field(default_factory=list)          # every conv call (names)
    folds: list[dict] = field(default_factory=list)         # marked folds, first call order
    quants: list[tuple[str, bool, int]] = field(default_factory=list)  # (name, signed, bits)

    @property
    def act_bits(self) -> int | None:
        """Widest unsigned activation quantiser (the input quantiser excluded)."""
        b = [bits for _, signed, bits in self.quants[1:] if not signed]
        return max(b) if b else None

    @property
    def res_bits(self) -> int | None:
        """Widest signed quantiser (residual operands, leaky / linear activations)."""
        b = [bits for _, signed, bits in self.quants[1:] if signed]
        return max(b) if b else None


def _is_conv(m: nn.Module) -> bool:
    return isinstance(m, (HfnConv2d, nn.Conv2d))


def _quant_info(m: nn.Module):
    aq = getattr(m, "act_quant", None)
    if aq is None or not hasattr(aq, "is_signed") or not hasattr(aq, "bit_width"):
        return None
    try:
        return bool(aq.is_signed), int(aq.bit_width())
    except Exception:   # a proxy without a quantiser (quantisation disabled)
        return None


def input_shape_of(model: nn.Module, input_shape=None) -> tuple[int, int, int]:
    shape = input_shape or getattr(model, "input_shape", None)
    if shape is None:
        raise HfnError(type(model).__name__, "the input shape is unknown",
                       "pass input_shape=(C, H, W) to export_model, or set "
                       "model.input_shape")
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise HfnError(type(model).__name__, f"input shape {shape} is not (C, H, W)",
                       "pass input_shape=(C, H, W)")
    return shape


def trace(model: nn.Module, input_shape=None) -> Trace:
    """One forward pass on zeros with hooks on the convs, quantisers and folded blocks."""
    shape = input_shape_of(model, input_shape)
    names = {m: n for n, m in model.named_modules()}
    t = Trace(shape, 0)
    frames: list[dict] = []
    hooks = []

    def conv_hook(mod, inp, out):
        t.convs.append(names[mod])
        if isinstance(mod, HfnConv2d):
            t.calls.append(names[mod])
            for f in frames:
                f["calls"].append(names[mod])
                f["pos"].append(len(t.calls) - 1)

    def quant_hook(mod, inp, out):
        info = _quant_info(mod)
        if info is not None:
            t.quants.append((names[mod], *info))

    def fold_pre(mod, inp):
        frames.append({"module": mod, "calls": [], "pos": []})

    def fold_post(mod, inp, out):
        f = frames.pop()
        t.folds.append({"module": mod, "name": mod.fold_name or names[mod],
                        "calls": f["calls"], "pos": f["pos"]})

    for m in model.modules():
        if _is_conv(m):
            hooks.append(m.register_forward_hook(conv_hook))
        elif _quant_info(m) is not None:
            hooks.append(m.register_forward_hook(quant_hook))
        if isinstance(m, ResidualBlock) and m.folded:
            hooks.append(m.register_forward_pre_hook(fold_pre))
            hooks.append(m.register_forward_hook(fold_post))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, *shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if out.dim() != 2:
        raise HfnError(type(model).__name__, f"the output has shape {list(out.shape)}, not "
                       "(batch, classes)", "end the network with a classifier and flatten")
    t.classes = int(out.shape[1])
    return t


def conv_call_order(model: nn.Module, input_shape=None) -> list[str]:
    """Names of the generated layers in the order their convolutions execute."""
    return trace(model, input_shape).calls


# -- fold groups ---------------------------------------------------------------------------

def _fold_of_frame(f: dict) -> dict:
    calls = f["calls"]
    layers = list(dict.fromkeys(calls))
    if not layers:
        raise HfnError(f"fold {f['name']}", "a folded block without generated layers",
                       "build its convs from HfnConv2d")
    n = len(calls) // len(layers)
    if calls != layers * n:
        raise HfnError(f"fold {f['name']}", "its layers are not called in one repeated order",
                       "a folded block runs the same convs in the same order each iteration")
    return {"name": f["name"], "iterations": n, "layers": layers}


def _common_prefix(names: list[str]) -> str:
    parts = [n.split(".") for n in names]
    out = []
    for group in zip(*parts):
        if len(set(group)) != 1:
            break
        out.append(group[0])
    return ".".join(out)


def _block_name(body: list[str], modules: dict) -> str:
    """The innermost module holding all of ``body`` (containers such as ModuleList, which
    are never called, do not count)."""
    name = _common_prefix(body)
    while name and isinstance(modules.get(name), (nn.ModuleList, nn.ModuleDict)):
        name = name.rpartition(".")[0]
    return name


def fold_groups(t: Trace, modules: dict | None = None) -> list[dict]:
    """Fold groups: every folded ``ResidualBlock`` (marked), plus layers that are called
    more than once elsewhere, grouped by their repetition (``for _ in range(n):
    x = block(x)``), named after the module that holds them.  In order of first call."""
    modules = modules or {}
    groups = [(f["pos"][0] if f["pos"] else 0, _fold_of_frame(f)) for f in t.folds]
    marked = {p for f in t.folds for p in f["pos"]}
    rest = [(p, n) for p, n in enumerate(t.calls) if p not in marked]
    in_folds = {n for f in t.folds for n in f["calls"]}
    for _, name in rest:
        if name in in_folds:
            raise HfnError(f"layer {name}", "is called inside a folded block and outside it",
                           "give the folded block its own layers")
    count: dict[str, int] = {}
    for _, n in rest:
        count[n] = count.get(n, 0) + 1
    seen: set[str] = set()
    i = 0
    while i < len(rest):
        p, name = rest[i]
        if count[name] == 1 or name in seen:
            i += 1
            continue
        n = count[name]
        j = next(k for k in range(i + 1, len(rest)) if rest[k][1] == name)
        body = [x for _, x in rest[i:j]]
        seq = [x for _, x in rest[i:i + n * len(body)]]
        if seq != body * n or any(count[b] != n for b in body) or len(set(body)) != len(body):
            raise HfnError(f"layer {name}", f"is called {n} times, but not as one block "
                           "repeated", "run a fold as a FoldedBlock, or as "
                           "'for _ in range(n): x = block(x)'")
        groups.append((p, {"name": _block_name(body, modules) or f"fold{len(groups)}",
                           "iterations": n, "layers": body}))
        seen.update(body)
        i += n * len(body)
    return [g for _, g in sorted(groups, key=lambda x: x[0])]


# -- metadata ----------------------------------------------------------------------------

def _model_name(model: nn.Module) -> tuple[str | None, str | None]:
    p = getattr(model, "preset", None)
    if p is not None:
        return p.name, p.dataset
    return getattr(model, "name", type(model).__name__), getattr(model, "dataset", None)


def hfn_metadata(model: nn.Module, input_shape=None) -> dict[str, dict]:
    """``{"hfn": metadata}`` of a model with generated layers, traced (docs/ir.md)."""
    t = trace(model, input_shape)
    mods = dict(model.named_modules())
    called = list(dict.fromkeys(t.calls))
    if not called:
        raise HfnError(type(model).__name__, "has no generated layer (HfnConv2d)",
                       "export it as a stored-weight model")
    origins = {}
    for name in called:
        m = mods[name]
        if m.seed_origin is None:
            raise HfnError(f"layer {name}", "its seed was not drawn from a SeedSource, so its "
                           "model seed and index are unknown",
                           "build it with seed=seeds(), seeds = "
                           "hfn_hls.models.SeedSource(model_seed)")
        origins[name] = m.seed_origin
    model_seeds = sorted({o[0] for o in origins.values()})
    if len(model_seeds) > 1:
        raise HfnError(type(model).__name__, f"layers draw seeds from several model seeds "
                       f"{model_seeds}", "draw all seeds of a model from one SeedSource")
    by_index: dict[int, str] = {}
    for name, (_, idx) in origins.items():
        if idx in by_index:
            raise HfnError(f"layer {name}", f"has the seed index {idx} of layer "
                           f"{by_index[idx]}", "give every layer its own seeds() call")
        by_index[idx] = name
    layers = []
    for idx in sorted(by_index):
        name = by_index[idx]
        m = mods[name]
        layers.append({"name": name, "index": idx, "seed": m.seed, "k": m.k, "c": m.c,
                       "shape_oihw": [m.out_ch, m.in_ch, m.kernel, m.kernel],
                       "stride": m.stride, "pad": m.padding})
    ks = {m["k"] for m in layers}
    preset, dataset = _model_name(model)
    c, h, w = t.input_shape
    meta = {"format": META_FORMAT, "version": 1, "method": "hfn", "preset": preset,
            "dataset": dataset, "model_seed": model_seeds[0], "act_bits": t.act_bits,
            "res_bits": t.res_bits, "k": ks.pop() if len(ks) == 1 else None, "gain": GAIN,
            "input_shape": [c, h, w], "classes": t.classes, "sign_source": "lfsr",
            "layers": layers, "conv_calls": t.calls, "folds": fold_groups(t, mods)}
    return {META_KEY: meta}


def _weight_bits(model: nn.Module) -> int | None:
    bits = []
    for m in model.modules():
        wq = getattr(m, "weight_quant", None)
        if isinstance(m, nn.Conv2d) and wq is not None and hasattr(wq, "bit_width"):
            try:
                bits.append(int(wq.bit_width()))
            except Exception:
                pass
    return max(bits) if bits else None


def model_metadata(model: nn.Module, input_shape=None, **extra) -> dict[str, dict]:
    """``{"hfn-hls": metadata}`` of a model without generated layers (docs/ir.md)."""
    t = trace(model, input_shape)
    preset, dataset = _model_name(model)
    c, h, w = t.input_shape
    meta = {"format": MODEL_META_FORMAT, "version": 1,
            "method": getattr(model, "method_name", None), "preset": preset,
            "dataset": dataset, "input_shape": [c, h, w], "classes": t.classes,
            "act_bits": t.act_bits, "res_bits": t.res_bits,
            "weight_bits": _weight_bits(model), "convs": len(t.convs), **extra}
    return {MODEL_META_KEY: meta}


def metadata(model: nn.Module, input_shape=None) -> dict:
    """The metadata export writes (``{key: JSON object}``): the method's if the model
    came from a training method, else ``hfn`` for models with generated layers and
    ``hfn-hls`` for the rest."""
    method_name = getattr(model, "method_name", None)
    if method_name is not None:
        from .methods import get_method
        return get_method(method_name).export_metadata(model, model.method_config)
    if any(isinstance(m, HfnConv2d) for m in model.modules()):
        return hfn_metadata(model, input_shape)
    return model_metadata(model, input_shape)


# -- export ---------------------------------------------------------------------------------

def export_model(model: nn.Module, out_path: str | Path, *, input_shape=None,
                 verbose: bool = False) -> Path:
    """Write ``out_path`` (QONNX + metadata) atomically; returns the path.

    ``input_shape`` (C, H, W) is needed when the model has no ``input_shape`` attribute."""
    from brevitas.export import export_qonnx

    out_path = Path(out_path)
    model.eval()
    if not all(m.frozen for m in model.modules() if isinstance(m, HfnConv2d)):
        for m in model.modules():
            if isinstance(m, HfnConv2d):
                m.freeze()
    shape = input_shape_of(model, input_shape)
    metas = metadata(model, input_shape)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    from .atomic import recover, tmp_path
    recover(out_path)                       # leftovers of a killed export
    tmp = str(tmp_path(out_path))           # beside it, then os.replace (atomic.py)
    try:
        sink = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink if not verbose else io.StringIO()):
            warnings.simplefilter("ignore")
            export_qonnx(model, args=torch.zeros(1, *shape), export_path=tmp, dynamo=False)
        m = onnx.load(tmp)
        del m.metadata_props[:]
        for key in sorted(metas):
            prop = m.metadata_props.add()
            prop.key, prop.value = key, json.dumps(metas[key], sort_keys=True)
        onnx.save(m, tmp)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_path
