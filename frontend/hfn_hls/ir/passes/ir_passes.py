"""IR-to-IR passes, each ``apply(graph) -> (graph, changed)``."""
from __future__ import annotations

import copy

import numpy as np

from ...errors import HfnError
from ...weights import get_source
from ..model import Graph, Layer, Op
from ..ranges import infer_ranges
from ..requant import check_compact, derive


class VerifyWeights:
    """Identify each Conv's layer by its weights and prove them what its source makes.

    Each metadata layer names its weight source (``source``, default ``hfn``); the source
    checks the layer's metadata (for ``hfn``: the seed follows from the model seed,
    docs/weight-generation.md) and whether integer weights are what the layer makes (for
    ``hfn``: sign(LFSR(seed)) on every non-zero weight).  A generated Conv node (float
    weights; stored layers come named from the extraction) belongs to the
    metadata layer of its shape whose source accepts its weights; if none does, the error
    names the node's expected layer and the source's reason.  Every call of a layer (fold
    iterations) must see the same weights.
    """

    def __init__(self, where: str, meta: dict, call_weights: dict):
        self.where, self.meta, self.call_weights = where, meta, call_weights

    def apply(self, graph: Graph):
        layers = self.meta["layers"]
        for info in layers:
            reason = _source(info).check_metadata(info, self.meta)
            if reason:
                raise HfnError(f"{self.where} layer {info['name']}", reason,
                               "the metadata was edited or belongs to another model")
        seen: dict[str, np.ndarray] = {}
        calls = self.meta.get("conv_calls", [])
        for op in graph.walk():
            if op.kind != "conv" or "call" not in op.attrs:    # stored layers are named
                continue
            w = self.call_weights[op.attrs["call"]]
            shape = list(w.shape)
            cands = [l for l in layers if [l["shape_oihw"][i] for i in (0, 2, 3, 1)] == shape]
            expected = calls[op.attrs["call"]] if op.attrs["call"] < len(calls) else None
            where = f"{self.where} layer {expected or op.name}"
            if not cands:
                raise HfnError(where, f"no layer in the metadata has the weight shape {shape} "
                               "(OHWI)", "re-export the model with 'hfn-hls export'")
            match = [l for l in cands if _source(l).mismatch(l, w, self.meta) is None]
            if len(match) > 1:  # possible only for (nearly) empty masks: use the call order
                match = [l for l in match if l["name"] == expected] or match[:1]
            if not match:
                ref = next((l for l in cands if l["name"] == expected), cands[0])
                raise HfnError(f"{self.where} layer {ref['name']}",
                               _source(ref).mismatch(ref, w, self.meta),
                               "the metadata does not reproduce these weights; "
                               "re-export from an hfn-hls checkpoint")
            info = match[0]
            name = info["name"]
            op.attrs["layer"] = name
            if name in seen:
                if not np.array_equal(seen[name], w):
                    raise HfnError(f"{self.where} layer {name}", "a folded layer has different "
                                   "weights on different iterations",
                                   "fold iterations must share their weights")
                continue
            seen[name] = w
            src = _source(info)
            graph.layers[name] = Layer(name, shape, src.name, src.params(info, w))
            graph.shared.update(src.shared_stores(info, self.meta))
        return graph, False


def _source(info: dict):
    """The weight source of a metadata layer entry."""
    return get_source(info.get("source", "hfn"))


class DetectFolds:
    """Turn the unrolled iterations of each fold group into one ``fold`` op.

    Iteration t's input X_t is what the t-th call of the fold's first layer reads; its
    output is the requant after the residual addition whose shortcut operand comes from
    X_t (folded blocks have identity shortcuts).  Iteration t's ops are those between the
    two in the dataflow.  All iterations must have the same ops and layers, and each must
    read only its predecessor's output.
    """

    def __init__(self, where: str, meta: dict):
        self.where, self.meta = where, meta

    def apply(self, graph: Graph):
        changed = False
        for fold in self.meta["folds"]:
            self._fold(graph, fold)
            changed = True
        return graph, changed

    def _iteration(self, ops: list[Op], x: str, where: str) -> list[int]:
        """Indices (in op order) of one iteration reading ``x``."""
        prod = {o.output: i for i, o in enumerate(ops)}
        short = [i for i, o in enumerate(ops) if o.kind == "requant" and o.inputs == [x]]
        add = next((i for i, o in enumerate(ops) if o.kind == "add" and
                    any(prod.get(t) in short for t in o.inputs)), None)
        out = next((i for i, o in enumerate(ops) if add is not None and o.kind == "requant"
                    and o.inputs == [ops[add].output]), None)
        if out is None:
            raise HfnError(where, "cannot find the iteration's residual output",
                           "a folded block must end with identity-shortcut add + activation")
        members, stack = {out}, [out]
        while stack:
            o = ops[stack.pop()]
            for t in o.inputs:
                j = prod.get(t)
                if t != x and j is not None and j not in members:
                    members.add(j)
                    stack.append(j)
        return sorted(members)

    def _fold(self, graph: Graph, fold: dict) -> None:
        ops = graph.ops
        n = fold["iterations"]
        where = f"{self.where} fold {fold['name']}"
        firsts = [o for o in ops if o.kind == "conv" and o.attrs.get("layer") == fold["layers"][0]]
        if len(firsts) != n:
            raise HfnError(where, f"metadata says {n} iterations, the graph has {len(firsts)}",
                           "re-export with 'hfn-hls export'")
        segs_idx = [self._iteration(ops, f.inputs[0], where) for f in firsts]
        segs = [[ops[i] for i in idx] for idx in segs_idx]
        ref = segs[0]
        x0 = firsts[0].inputs[0]
        sig0 = [(o.kind, o.attrs.get("layer"), o.attrs.get("out_min")) for o in ref]
        for t, seg in enumerate(segs):
            if [(o.kind, o.attrs.get("layer"), o.attrs.get("out_min")) for o in seg] != sig0:
                raise HfnError(where, f"iteration {t} differs in structure from iteration 0",
                               "a folded block must repeat the same ops")
            if t > 0 and firsts[t].inputs[0] != segs[t - 1][-1].output:
                raise HfnError(where, f"iteration {t} does not read iteration {t - 1}'s output",
                               "iterations of a fold must be chained")
        body = copy.deepcopy(ref)
        bin_name = f"{fold['name']}.in"
        graph.tensors[bin_name] = copy.deepcopy(graph.tensors[x0])
        graph.tensors[bin_name].name = bin_name
        for p, o in enumerate(body):
            o.inputs = [bin_name if i == x0 else i for i in o.inputs]
            if o.kind == "requant":
                o.attrs["sets"] = [segs[t][p].attrs["sets"][0] for t in range(n)]
        body_out = ref[-1].output
        last_out = segs[-1][-1].output
        out = f"{fold['name']}.out"
        graph.tensors[out] = copy.deepcopy(graph.tensors[body_out])
        graph.tensors[out].name = out
        removed = {id(o) for seg in segs for o in seg}
        for seg in segs[1:]:
            for o in seg:
                graph.tensors.pop(o.output, None)
        rest = [o for o in ops if id(o) not in removed]
        for o in rest:
            o.inputs = [out if i == last_out else i for i in o.inputs]
        if graph.output == last_out:
            graph.output = out
        fop = Op("fold", fold["name"], [x0], out,
                 {"iterations": n, "body_input": bin_name, "body_output": body_out},
                 body=body)
        pos = next(i for i, o in enumerate(ops) if id(o) in removed)
        kept_before = [o for o in ops[:pos] if id(o) not in removed]
        kept_after = [o for o in ops[pos:] if id(o) not in removed]
        for o in kept_after:
            if any(i in {x.output for x in ref} for i in o.inputs):
                raise HfnError(where, f"op {o.name} outside the fold reads a tensor inside it",
                               "only the fold's output may be used after it")
        graph.ops = kept_before + [fop] + kept_after


class InferRanges:
    """Proven value ranges of all tensors (hfn_hls.ir.ranges)."""

    def apply(self, graph: Graph):
        infer_ranges(graph)
        return graph, False


class StripCallIndices:
    """Conv ``call`` indices only serve the passes above; drop them from the result."""

    def apply(self, graph: Graph):
        for op in graph.walk():
            op.attrs.pop("call", None)
        return graph, False


class CompactRequant:
    """Derive each requant's compact form (``hfn_hls.ir.requant``: per row a base and a
    fixed-point step, a tie mode, a knee where a row has two slopes, exceptions where
    neither reproduces the thresholds) from
    its thresholds on its input's proven range, prove it reproduces them, and store it
    as ``attrs["compact"]``.  Runs after ``InferRanges`` (the proof holds on [lo, hi])."""

    def apply(self, graph: Graph):
        changed = False
        for op in graph.walk():
            if op.kind != "requant":
                continue
            x = graph.tensors[op.inputs[0]]
            try:
                c = derive(op, x.lo, x.hi)
            except ValueError as e:
                raise HfnError(f"requant {op.name}", str(e),
                               "the requantisation is not a BatchNorm [+ one LeakyReLU] + "
                               "quantiser chain") from None
            reason = check_compact(op, c, x.lo, x.hi)
            if reason is not None:                     # a defect of derive(), never data
                raise AssertionError(f"{op.name}: compact form does not reproduce: {reason}")
            attrs = c.to_attrs()
            changed |= op.attrs.get("compact") != attrs
            op.attrs["compact"] = attrs
        return graph, changed
