"""Compile an IR graph into the RTL engine's parameters and ROM images (no files).

Widths come from the IR's proven ranges: fmap elements (EW), accumulators and the
requant datapath (VW), thresholds (TW).  See docs/rtl.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import HfnError
from ..ir.model import Graph, range_bits
from ..lanes import Lanes
from . import images as im
from .plan import Program, plan


@dataclass
class Rom:
    name: str                 # file stem
    width: int
    words: list
    kind: str                 # mask | state | threshold | table


@dataclass
class Design:
    params: dict
    roms: list = field(default_factory=list)
    thr_roms: dict = field(default_factory=dict)   # (u, s, o) -> Rom
    program: Program | None = None
    stats: dict = field(default_factory=dict)


def clog2(n: int) -> int:
    return max(1, (int(n) - 1).bit_length())


def _check_lanes(lanes: Lanes) -> None:
    po, pi = lanes.p_out, lanes.p_in
    if po & (po - 1) or pi & (pi - 1) or po > pi:
        raise HfnError(f"--lanes {lanes}", "the RTL engine needs powers of two with "
                       "P_OUT <= P_IN", "give e.g. 64 (8x8), 128 (8x16) or 4x8")


def _conv_bound(graph: Graph, p) -> int:
    """Largest |partial sum| of a pass's accumulators (all pixels if acc_all)."""
    w = graph.layers[p.conv.attrs["layer"]].ternary().reshape(
        graph.layers[p.conv.attrs["layer"]].shape[0], -1)
    x = graph.tensors[p.src]
    n = int(np.abs(w).sum(1).max()) * max(abs(x.lo), abs(x.hi))
    if p.acc_all:
        n *= x.shape[0] * x.shape[1]
    return n


def compile_design(graph: Graph, lanes: Lanes, floor: dict | None = None) -> Design:
    """Parameters and ROM images of ``graph``.  ``floor`` (from ``common_floor``) raises
    widths and ROM depths so that several graphs share one identical top (one Verilator
    build simulates them all: only the ROM images differ)."""
    _check_lanes(lanes)
    fp = (floor or {}).get("params", {})
    fd = (floor or {}).get("depths", {})
    po, pi = lanes.p_out, lanes.p_in
    for lay in graph.layers.values():
        if lay.source != "hfn":
            raise HfnError(f"layer {lay.name}", f"weight source {lay.source!r}",
                           "the RTL engine generates 'hfn' layers only")
    prog = plan(graph)
    t = graph.tensors
    inp = graph.input_tensor
    stored = {graph.input} | {p.out for p in prog.passes if p.out} | {
        p.res for p in prog.passes if p.res}
    ew = max(range_bits(min(t[n].lo, -1), t[n].hi) for n in stored)
    ew = max(ew, 9)
    sw = ew + clog2(pi) + 1 if pi > 1 else ew + 1
    requants = [r for p in prog.passes for r in (p.r1, p.rs, p.r2) if r is not None]
    vals = [sw]
    for p in prog.passes:
        b = _conv_bound(graph, p)
        vals.append(range_bits(-b - 1, b + 1) + 1)
    for r in requants:
        for n in (r.inputs[0], r.output):
            vals.append(range_bits(min(t[n].lo, -1), t[n].hi + 1) + 1)
        vals.append(range_bits(-1, len(r.attrs["sets"][0]["thresholds"][0])) + 1)
    for p in prog.passes:
        if p.add and p.r2 is not None:
            n = p.r2.inputs[0]
            vals.append(range_bits(min(t[n].lo, -1), t[n].hi + 1) + 1)
    vw = max(vals + [fp.get("VW", 0)])
    ew = max(ew, fp.get("EW", 0))
    sw = max(sw, fp.get("SW", 0))
    vw = max(vw, sw)
    if vw > 32:
        raise HfnError(graph.name, f"accumulators need {vw} bits",
                       "the RTL engine outputs int32: reduce the network's ranges")
    tw = max([im.requant_width(graph, r) for r in requants] + [2, fp.get("TW", 0)])
    stages = max([2, fp.get("B", 0)] + [im.tree_depth(len(r.attrs["sets"][0]["thresholds"][0]))
                        for r in requants])

    # ---- ROM images
    masks, states, mask_base, st_base = [], [], {}, {}
    units = [im.ThresholdImages(stages, po) for _ in range(3)]
    table = []
    nf = im.n_fields(stages)
    max_g = 1
    geo_vals = [0]
    buf_d = 1
    for item in prog.items:
        f = [0] * nf
        if item[0] == "loop":
            f[0], f[1] = im.T_LOOP, item[1]
            table.append(f)
            continue
        if item[0] == "endloop":
            f[0] = im.T_ENDLOOP
            table.append(f)
            continue
        p = item[1]
        lay = graph.layers[p.conv.attrs["layer"]]
        co, kh, kw, ci = lay.shape
        ih, iw, c_src = t[p.src].shape
        if c_src != ci:
            raise HfnError(f"op {p.conv.name}", "input channels differ from the layer's",
                           "the IR is inconsistent: rebuild it")
        s, pad = int(p.conv.attrs["stride"]), int(p.conv.attrs["pad"])
        if p.acc_all:
            oh, ow = ih, iw
        else:
            oh, ow = t[p.out].shape[:2]
        nc, g = im.ceil_div(ci, pi), im.ceil_div(co, po)
        nco = im.ceil_div(t[p.out].shape[2], pi) if p.out else 1
        if lay.name not in mask_base:
            mask_base[lay.name], st_base[lay.name] = len(masks), len(states)
            masks += im.mask_words(graph, lay.name, po, pi)
            states += im.state_words(graph, lay.name, po)
        if p.out:
            buf_d = max(buf_d, oh * ow * nco)
        max_g = max(max_g, g)
        flags = int(p.add) | (int(p.out is None) << 1) | (int(p.acc_all) << 2) | (
            int(p.release) << 3)
        nbuf = prog.nbuf
        geo = dict(TYPE=im.T_CONV, SRC=nbuf if p.src_buf == -2 else p.src_buf,
                   DST=max(p.out_buf, 0), RES=max(p.res_buf, 0), FLAGS=flags, IH=ih, IW=iw,
                   OH=oh, OW=ow, KH=kh, KW=kw, S=s, PAD=pad, NC=nc, NCO=nco,
                   NLAST=ci - (nc - 1) * pi, G=g, KCH=kh * kw * nc, ROWSTRIDE=iw * nc,
                   STEPOW=s * nc, STEPOH=s * iw * nc, MASKBASE=mask_base[lay.name],
                   STBASE=st_base[lay.name], COUT=co, AORIGIN=(-pad * iw - pad) * nc)
        for k, v in geo.items():
            f[im.FIELDS.index(k)] = v
        geo_vals += [geo["AORIGIN"], -pad, oh * ow * nco + g, ih * iw * nc, geo["STEPOH"]]
        for u, r in enumerate((p.r1, p.rs, p.r2)):
            base = im.NF0 + u * (5 + 2 * stages)
            if r is None:
                f[base + 2] = stages
                continue
            d = units[u].place(graph, r)
            f[base:base + 5] = [1, d["pc"], d["s0"], d["out_min"], d["levels"]]
            f[base + 5:base + 5 + stages] = d["bases"]
            f[base + 5 + stages:base + 5 + 2 * stages] = d["strides"]
        table.append(f)
    table.append([im.T_END] + [0] * (nf - 1))
    iters = [it[1] for it in prog.items if it[0] == "loop"]

    roms = [Rom("table", 32 * nf, [sum((v & 0xFFFFFFFF) << (32 * i) for i, v in enumerate(r))
                                   for r in table], "table"),
            Rom("mask", po * pi, masks, "mask"),
            Rom("state", 32 * po, states, "state")]
    for r in roms:
        r.words += [0] * (fd.get(r.name, 0) - len(r.words))
    thr = {}
    taw = max(stages + 1, clog2(max_g) + 1)
    for u in range(3):
        for s_ in range(stages):
            for o in range(po):
                cells = units[u].mem[s_][o]
                name = f"thr_u{u}_s{s_}_l{o}"
                if cells or fd.get(name):
                    words = [(n << tw) | (v & ((1 << tw) - 1)) for n, v in cells]
                    words += [0] * (fd.get(name, 0) - len(words))
                    thr[(u, s_, o)] = Rom(name, tw + 1, words, "threshold")
                    taw = max(taw, clog2(len(words)) + 1)
    gw = max(clog2(max_g) if max_g > 1 else 1, fp.get("GW", 0))
    taw = max(taw, gw + 1, fp.get("TAW", 0))
    in_nc = im.ceil_div(inp.shape[2], pi)
    out_c = t[graph.output].shape[2]
    cls_pad = im.ceil_div(out_c, po) * po
    buf_d = max(buf_d, fp.get("BUF_D", 0))
    cw = max(fp.get("CW", 0), range_bits(min(geo_vals) - 1, max(geo_vals + [buf_d, max(iters + [1])]) + 1) + 2,
             clog2(buf_d) + 3, clog2(inp.shape[0] * inp.shape[1] * in_nc) + 3, 8)
    params = dict(P_OUT=po, P_IN=pi, RATIO=pi // po, NW=pi.bit_length(), EW=ew, SW=sw,
                  VW=vw, B=stages, SW_=stages.bit_length(), TW=tw, TAW=taw, CW=cw, GW=gw,
                  NBUF=max(prog.nbuf, fp.get("NBUF", 0)), BUF_D=buf_d, BUF_AW=clog2(buf_d),
                  IN_D=inp.shape[0] * inp.shape[1] * in_nc,
                  IN_AW=clog2(inp.shape[0] * inp.shape[1] * in_nc),
                  IN_C=inp.shape[2], IN_NC=in_nc, IN_PIX=inp.shape[0] * inp.shape[1],
                  CLASSES=out_c, CLS_PAD=cls_pad, MAW=clog2(len(masks)),
                  SAW=clog2(len(states)), TBL_AW=clog2(len(table)), NF=nf)
    d = Design(params, roms, thr, prog)
    for k in ("MAW", "SAW", "TBL_AW"):
        params[k] = max(params[k], fp.get(k, 0))
    d.stats = _stats(graph, prog, roms, thr, lanes)
    return d


def _stats(graph: Graph, prog: Program, roms: list, thr: dict, lanes: Lanes) -> dict:
    bits = {"mask": 0, "state": 0, "threshold": 0, "table": 0}
    for r in list(roms) + list(thr.values()):
        bits[r.kind] += r.width * len(r.words)
    macs = engine_macs = 0
    mult = 1
    for item in prog.items:
        if item[0] == "loop":
            mult = item[1]
        elif item[0] == "endloop":
            mult = 1
        else:
            p = item[1]
            lay = graph.layers[p.conv.attrs["layer"]]
            out = graph.tensors[p.conv.output].shape
            macs += mult * out[0] * out[1] * lay.size
            src = graph.tensors[p.src].shape
            pix = src[0] * src[1] if p.acc_all else out[0] * out[1]
            engine_macs += mult * pix * lay.size
    unique = sum(l.size for l in graph.layers.values())
    return {"rom_bits": bits, "unique_weights": unique, "macs": macs,
            "engine_macs": engine_macs, "ideal_cycles": -(-macs // lanes.total)}


def common_floor(designs: list[Design]) -> dict:
    """The smallest floor under which all ``designs`` get one identical top."""
    params: dict = {}
    depths: dict = {}
    for d in designs:
        for k, v in d.params.items():
            params[k] = max(params.get(k, v), v)
        for r in list(d.roms) + list(d.thr_roms.values()):
            depths[r.name] = max(depths.get(r.name, 0), len(r.words))
    return {"params": params, "depths": depths}
