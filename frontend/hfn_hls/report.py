"""On-chip memory figures of a network: per layer and in total.

Two views:
- **hardware**: what hfn-hls puts on chip — each layer's weight-source storage (for
  ``hfn``: 1 mask bit per unique weight and a 32-bit LFSR start state per output channel;
  for ``stored``: every weight at its width WB and the bias, ``WeightSource.storage_bits``),
  counted as ``generated_bits`` (sources that make weights on chip) or ``stored_bits``
  (sources that keep them), shared weight stores once, and the requantisation
  parameters in their compact form (``ir.ranges.requant_bits``: per channel and
  parameter set a base, a step and a direction bit, plus exception points — what the
  backends store; estimated from the preset when no model is given) — against the same
  network with stored weights in fp32 and int8, and against the **floor**: the weight
  sources' bits + 32 bits per requantisation channel × parameter set
  (``requant_channel_sets``: a row shared by all channels counts once per set);
- **reference convention**: the HFN reference code's ``utils/profiling.py::
  estimate_params_size`` (github Lopez-Angel/hidden-fold-networks):
  ``hidden = 32 (seed) + 1 bit per conv weight + 32 bits per learned BN gamma and beta``,
  ``dense = 32 bits per conv weight and per learned BN gamma, beta``; MB = 8e6 bits;
  conv weights of a folded block counted once; non-affine BN and running statistics not
  counted.  Dense baselines have affine BN everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

from .ir.model import Graph, Layer
from .ir.ranges import Interval, requant_bits, threshold_width
from .ir.requant import FLOOR_BITS_PER_CHANNEL_SET, channel_sets
from .models.plan import plan_blocks
from .models.presets import DATASETS, Preset
from .weights import get_source

MB_BITS = 8_000_000


@dataclass
class LayerCount:
    name: str
    shape: list[int]          # [co, kh, kw, ci]
    calls: int                # how often it runs per inference (fold iterations)
    bn_affine_params: int     # learned gamma + beta following this conv (all iterations)

    @property
    def weights(self) -> int:
        co, kh, kw, ci = self.shape
        return co * kh * kw * ci


def preset_layers(p: Preset) -> list[LayerCount]:
    """Unique conv layers of a preset, in forward order, with their learned BN params."""
    c_in, h, w, classes, stem = DATASETS[p.dataset]
    dense = not p.hfn
    layers = []
    k = 7 if stem == "imagenet" else 3
    layers.append(LayerCount("stem", [p.stem_width, k, k, c_in], 1,
                             2 * p.stem_width if dense else 0))
    for bi, b in enumerate(x for stage in plan_blocks(p) for x in stage):
        n = b.iterations
        affine = dense or b.folded
        if p.block == "basic":
            specs = [(b.out_ch, 3, b.in_ch), (b.out_ch, 3, b.out_ch)]
        else:
            specs = [(b.mid_ch, 1, b.in_ch), (b.mid_ch, 3, b.mid_ch), (b.out_ch, 1, b.mid_ch)]
        for i, (co, kk, ci) in enumerate(specs):
            layers.append(LayerCount(f"blocks.{bi}.convs.{i}", [co, kk, kk, ci], n,
                                     2 * co * n if affine else 0))
        if b.projection:
            layers.append(LayerCount(f"blocks.{bi}.shortcut", [b.out_ch, 1, 1, b.in_ch], 1,
                                     2 * b.out_ch if dense else 0))
    last = plan_blocks(p)[-1][-1].out_ch
    layers.append(LayerCount("fc", [classes, 1, 1, last], 1, 0))
    return layers


def reference_sizes(layers: list[LayerCount]) -> dict:
    """The reference code's figures (see module docstring)."""
    conv = sum(l.weights for l in layers)
    bn = sum(l.bn_affine_params for l in layers)
    return {"conv_weights": conv, "bn_params": bn,
            "hidden_mb": (32 + conv + 32 * bn) / MB_BITS,
            "dense_mb": 32 * (conv + bn) / MB_BITS}


def _requant_bits_graph(graph: Graph) -> tuple[dict[str, int], dict[str, int]]:
    """Requantisation bits and channel × parameter-set pairs, attributed to the conv
    layer whose output they requantise (else ``(residual)``)."""
    producer = {}
    for op in graph.walk():
        producer[op.output] = op
    bits: dict[str, int] = {}
    sets: dict[str, int] = {}
    for op in graph.walk():
        if op.kind != "requant":
            continue
        n = requant_bits(op, Interval.of(graph.tensors[op.inputs[0]]))
        p = producer.get(op.inputs[0])
        owner = p.attrs["layer"] if p is not None and p.kind == "conv" else "(residual)"
        bits[owner] = bits.get(owner, 0) + n
        sets[owner] = sets.get(owner, 0) + channel_sets(op)
    return bits, sets


def _row(layer: Layer, graph: Graph | None, calls, requant_bits, estimated,
         channel_sets: int = 0) -> dict:
    """One layer: its source's on-chip bits by kind (``weight_bits``), as
    ``generated_bits`` or ``stored_bits`` by the source's kind, the ``hfn`` kinds also as
    ``mask_bits`` / ``lfsr_state_bits`` columns."""
    n = layer.size
    src = get_source(layer.source)
    kinds = src.storage_bits(layer, graph)
    bits = sum(kinds.values())
    return {"name": layer.name, "shape": list(layer.shape), "calls": calls, "unique_weights": n,
            "source": layer.source, "weight_bits": bits,
            "generated_bits": bits if src.generated else 0,
            "stored_bits": 0 if src.generated else bits,
            "weight_bits_by_kind": kinds, "mask_bits": kinds.get("mask", 0),
            "lfsr_state_bits": kinds.get("lfsr_states", 0), "requant_bits": requant_bits,
            "requant_bits_estimated": estimated, "requant_channel_sets": channel_sets, "dense_fp32_bits": 32 * n,
            "dense_int8_bits": 8 * n, "macs_per_call": None}


def _totals(rows: list[dict], shared_bits: int = 0) -> dict:
    t = {k: sum(r[k] for r in rows) for k in ("unique_weights", "weight_bits", "generated_bits",
                                               "stored_bits", "mask_bits",
                                               "lfsr_state_bits", "requant_bits",
                                               "requant_channel_sets", "dense_fp32_bits",
                                               "dense_int8_bits")}
    t["shared_bits"] = shared_bits
    t["on_chip_bits"] = t["weight_bits"] + shared_bits + t["requant_bits"]
    t["floor_bits"] = t["weight_bits"] + shared_bits + \
        FLOOR_BITS_PER_CHANNEL_SET * t["requant_channel_sets"]
    t["ratio_floor"] = t["on_chip_bits"] / t["floor_bits"] if t["floor_bits"] else None
    t["requant_bits_per_channel_set"] = (t["requant_bits"] / t["requant_channel_sets"]
                                         if t["requant_channel_sets"] else None)
    t["ratio_fp32"] = t["dense_fp32_bits"] / t["on_chip_bits"]
    t["ratio_int8"] = t["dense_int8_bits"] / t["on_chip_bits"]
    return t


def report_preset(p: Preset) -> dict:
    layers = preset_layers(p)
    rows = []
    levels_act, levels_res = (1 << p.act_bits) - 1, (1 << p.res_bits) - 1
    for l in layers:
        co, kh, kw, ci = l.shape
        if l.name == "fc":
            rq = sets = 0
        else:
            # estimated: the requant after this conv, its input range the worst case
            # K * max code; per channel and set a compact row: a base of TW + F bits, a
            # step of TW - log2(L) + F + 1 bits and a direction bit, F = log2(L) + 2
            # fraction bits: an upper estimate (about 38 bits a row for digits and
            # resnet20; their exported models measure 25-27, scripts/bench_requant.py)
            k = kh * kw * ci
            last = l.name.endswith("shortcut") or l.name.endswith(
                f"convs.{1 if p.block == 'basic' else 2}")
            levels = levels_res if last else levels_act
            tw = threshold_width(Interval(-k * levels_act, k * levels_act))
            frac = levels.bit_length() + 2
            sets = co * l.calls
            rq = sets * ((tw + frac) + (tw - levels.bit_length() + frac + 1) + 1)
        rows.append(_row(Layer(l.name, l.shape, "hfn"), None, l.calls, rq, True, sets))
    return {"model": p.name, "dataset": p.dataset, "hfn": p.hfn, "source": "preset",
            "layers": rows, "totals": _totals(rows), **reference_sizes(layers)}


def report_graph(graph: Graph, preset: Preset | None) -> dict:
    rq, cs = _requant_bits_graph(graph)
    calls = {}
    for op in graph.ops:
        body = op.body if op.kind == "fold" else [op]
        n = op.attrs.get("iterations", 1) if op.kind == "fold" else 1
        for b in body:
            if b.kind == "conv":
                calls[b.attrs["layer"]] = calls.get(b.attrs["layer"], 0) + n
    rows = [_row(l, graph, calls.get(name, 1), rq.get(name, 0), False, cs.get(name, 0))
            for name, l in graph.layers.items()]
    if "(residual)" in rq:
        rows.append({"name": "(residual requant)", "shape": [], "calls": 1,
                     "unique_weights": 0, "source": None, "weight_bits": 0,
                     "generated_bits": 0, "stored_bits": 0,
                     "weight_bits_by_kind": {}, "mask_bits": 0, "lfsr_state_bits": 0,
                     "requant_bits": rq["(residual)"], "requant_bits_estimated": False,
                     "requant_channel_sets": cs["(residual)"],
                     "dense_fp32_bits": 0, "dense_int8_bits": 0, "macs_per_call": None})
    shared = sum(n for src in sorted({l.source for l in graph.layers.values()})
                 for n in get_source(src).shared_bits(graph).values())
    hfn = any(get_source(l.source).generated for l in graph.layers.values())
    out = {"model": graph.name, "dataset": graph.meta.get("dataset"), "hfn": hfn,
           "source": "model", "layers": rows, "totals": _totals(rows, shared)}
    if preset is not None:
        out.update(reference_sizes(preset_layers(preset)))
    return out


def format_report(r: dict) -> str:
    lines = [f"{r['model']} ({r['dataset']}): on-chip model storage"
             + (" (requantisation estimated from the preset)" if r["source"] == "preset" else "")]
    hdr = f"{'layer':28s} {'shape':>18s} {'src':>6s} {'calls':>5s} {'mask bits':>11s} " \
          f"{'lfsr bits':>10s} {'stored bits':>11s} {'requant bits':>12s} {'fp32 bits':>12s}"
    lines += [hdr, "-" * len(hdr)]
    for row in r["layers"]:
        shape = "x".join(map(str, row["shape"]))
        lines.append(f"{row['name'][:28]:28s} {shape:>18s} {str(row['source'] or '-'):>6s} "
                     f"{row['calls']:5d} {row['mask_bits']:11d} {row['lfsr_state_bits']:10d} "
                     f"{row['stored_bits']:11d} {row['requant_bits']:12d} "
                     f"{row['dense_fp32_bits']:12d}")
    t = r["totals"]
    lines += ["-" * len(hdr),
              f"weights: generated {t['generated_bits']} bits (mask + LFSR start states), "
              f"stored {t['stored_bits']} bits",
              f"on chip: {t['on_chip_bits']} bits = {t['on_chip_bits'] / 8e6:.4f} MB  "
              f"(dense fp32 {t['dense_fp32_bits'] / 8e6:.4f} MB: {t['ratio_fp32']:.1f}x; "
              f"int8 {t['dense_int8_bits'] / 8e6:.4f} MB: {t['ratio_int8']:.1f}x)",
              f"floor: {t['floor_bits']} bits (weight sources + {FLOOR_BITS_PER_CHANNEL_SET} x "
              f"{t['requant_channel_sets']} requant channel-sets)"
              + (f"; on chip = {t['ratio_floor']:.3f}x the floor" if t["ratio_floor"] else "")
              + (f"; requantisation {t['requant_bits_per_channel_set']:.1f} bits per "
                 "channel-set" if t["requant_bits_per_channel_set"] is not None else "")]
    if "hidden_mb" in r:
        lines.append(f"reference convention (estimate_params_size): hidden {r['hidden_mb']:.6f} "
                     f"MB, dense {r['dense_mb']:.6f} MB ({r['conv_weights']} conv weights, "
                     f"{r['bn_params']} learned BN parameters)")
    return "\n".join(lines)
