"""Compile a lowered Program into the pixel engine's schedule: per-pass geometry (tiles,
fill rows, routing classes), the per-stream ROM images (kept-weight windows per term,
unit start states, compact requantisation rows) and the layer tables (docs/rtl.md, "pixel
engine").

Nothing here re-derives fusion, buffers or ranges: they come from ``hfn_hls.lower``.
The schedule (which weight is kept) is the layer's integer weights ``!= 0`` (the source's
golden weights), so zero-skipping is the same for every source; the values come through
the source's value port (hfn: the LFSR sign from one start state per output channel).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

import numpy as np

from ... import lfsr
from ...errors import HfnError
from ...ints import ceil_div
from ...ir.model import Graph, range_bits
from ...ir.ranges import Interval
from ...lower import ConvPass, CopyPass, Fold, Program, Requant, lower
from ...weights import get_source, layer_weights
from .. import images as im
from ..design import (check_program, clog2, exception_words, requant_value_bits,
                      unit_params, word_width)
from .config import PixelConfig

WIN = 8                  # mask bits per term window (one kept weight emitted per cycle)
LEAPS = (16, 8, 4, 2, 1)  # the walker's leap lengths (plus NS, the network's stem CI)
FW = 16                  # bits per table field
NONE_BUF = 15            # DST of the output pass (no buffer)

# table fields (docs/rtl.md): TYPE/ITERS for T_LOOP, the rest for T_CONV
FIELDS = [
    "TYPE", "ITERS", "FLAGS", "SRC", "DST", "RES",
    # fill: input geometry, union rows, tiles, routing classes
    "IH", "CIF", "CI", "S", "PAD", "WPRI", "SR", "QCI", "TH", "NTR", "NSEG", "CLS0", "DEPT",
    "KH",
    # streams: units, term windows, walker
    "NWIN", "WPU", "TB0", "TB1", "TB2", "Q", "R", "STB", "PLO", "NUQ", "NUQ1", "LENQ",
    "LENQ1",
    # drain / writeback
    "OH", "TWDR", "LASTW", "WPRO", "QCO", "TWD", "QR0", "QRT", "TQR",
    # requant ops R1, Rs, R2: levels, out_min, per-channel (bit 0) and tie mode (bits 2:1),
    # ROM words per row (1), base of the set of iteration 0, stride per set
    "L1", "OM1", "PC1", "WPC1", "TB_1", "TS1",
    "LS", "OMS", "PCS", "WPCS", "TB_S", "TSS",
    "L2", "OM2", "PC2", "WPC2", "TB_2", "TS2",
    "FNS",                # fill: row-buffer sub-words used (SR * WPRI)
]
F = {n: i for i, n in enumerate(FIELDS)}
T_CONV, T_LOOP, T_ENDLOOP, T_END = 0, 1, 2, 3
# FLAGS bits
FL_ADD, FL_OUT, FL_R1, FL_RS, FL_R2, FL_PLANES, FL_K1, FL_REL = range(8)


def leap_cycles(ci: int, ns: int) -> int:
    """Walker cycles to leap one segment of ``ci`` positions (steps of LEAPS or NS)."""
    if ns and ci == ns:
        return 1
    n, d = 0, ci
    while d > 0:
        d -= next(s for s in LEAPS if s <= d)
        n += 1
    return n


@dataclass
class Tiles:
    """Tile geometry of a pass: P output pixels = TH rows x TWD columns (TWD = the row
    width rounded up to RS), or one segment of P columns of a row wider than P."""

    th: int
    twd: int
    nseg: int
    lastw: int            # valid columns of the last segment
    ntr: int              # tile rows

    @property
    def ntiles(self) -> int:
        return self.ntr * self.nseg


def tiles_of(oh: int, ow: int, cfg: PixelConfig) -> Tiles:
    if ow <= cfg.p:
        twd = ceil_div(ow, cfg.rs) * cfg.rs
        th = min(cfg.p // twd, oh)
        return Tiles(th, twd, 1, ow, ceil_div(oh, th))
    nseg = ceil_div(ow, cfg.p)
    return Tiles(1, cfg.p, nseg, ow - (nseg - 1) * cfg.p, oh)


@dataclass(frozen=True)
class RouteClass:
    """How a tile's lanes read the fill's row buffer (one per pass geometry and segment):
    lane j -> output (r, x) = (j // twd, j % twd); at kernel row kh and column kw it reads
    row r*s + kh of the row buffer, input column (xoff + x)*s + kw - pad (0 outside
    [0, iw) or outside the row buffer's sr rows)."""

    twd: int
    s: int
    pad: int
    wpri: int
    iw: int
    xoff: int
    kh: int
    sr: int


@dataclass
class PassPlan:
    p: ConvPass
    index: int            # table row
    ih: int
    iw: int
    ci: int
    oh: int
    ow: int
    co: int
    kh: int
    s: int
    pad: int
    npl: int              # input planes (2: an 8-bit image as two XW-bit planes)
    tiles: Tiles
    sr: int
    wpri: int
    wpro: int
    nwin: int
    q: int                # channels per stream: Q (+1 for streams s < R)
    r: int
    cls0: int = 0
    unit_cost: np.ndarray | None = None   # per channel: max over terms of its windows' cycles
    kept: np.ndarray | None = None        # kept weights per channel

    @property
    def wpu(self) -> int:
        """Windows per unit per active term."""
        return self.kh * self.nwin

    @property
    def qmax(self) -> int:
        return self.q + (1 if self.r else 0)


@dataclass
class PixelDesign:
    cfg: PixelConfig
    program: Program
    plans: list[PassPlan]
    classes: list[RouteClass]
    params: dict
    table: list[list[int]]                  # rows of len(FIELDS) values
    term_roms: list[list[list[int]]]        # [stream][kw] -> 8-bit words
    state_roms: list[list[int]]             # [stream] -> 32-bit words
    rq_roms: list[list[list[int]]]          # [stream][op] -> compact rows {[K, S2, A2,] neg, S, A}
    rq_exc: list[list[list[int]]]           # [stream][op] -> exception entries
    stats: dict = field(default_factory=dict)


def _refuse(where: str, reason: str) -> HfnError:
    return HfnError(where, reason, "use the channel engine (--lanes PxQ) for this network")


def check_pixel(graph: Graph, prog: Program) -> None:
    """HfnError unless the pixel engine runs ``prog`` (beyond what the channel engine
    needs: square 1x1 or 3x3 kernels, unsigned conv inputs, ternary weights of a source
    with a pixel value port, a classifier output without requant)."""
    check_program(graph, prog)
    for it in prog.items:
        for p in (it.body if isinstance(it, Fold) else [it]):
            if not isinstance(p, ConvPass):
                raise _refuse(f"op {p.name}", f"a {type(p).__name__} (the pixel engine runs "
                              "conv passes only; max pooling is the channel engine's)")
    for p in prog.conv_passes():
        if getattr(p, "bias", None) is not None:
            raise _refuse(f"op {p.name}", "a convolution with a bias (not in the pixel "
                          "engine's drain yet)")
        w = p.window
        if (w.kh, w.kw) not in ((1, 1), (3, 3)):
            raise _refuse(f"op {p.name}", f"a {w.kh}x{w.kw} kernel (the pixel engine runs "
                          "1x1 and 3x3: one term per kernel column)")
        if graph.tensors[p.src].lo < 0:
            raise _refuse(f"op {p.name}", "a signed convolution input")
        lay = graph.layers[p.layer]
        if lay.source != "hfn":
            raise _refuse(f"layer {lay.name}", f"source {lay.source!r} has no pixel-engine "
                          "value port yet")
        if p.out == graph.output and (not p.acc_all or p.requants()):
            raise _refuse(f"op {p.name}", "the output must be a global_sum + classifier "
                          "without requant")


def _xw(graph: Graph, prog: Program) -> int:
    bits = [Interval(0, graph.tensors[p.src].hi).bits for p in prog.conv_passes()
            if p.src != graph.input]
    return max([4] + bits)


def _window_costs(mask: np.ndarray) -> np.ndarray:
    """[co, kh, kw] cycles a term spends on each segment: sum over its windows of
    max(1, kept bits)."""
    co, kh, kw, ci = mask.shape
    nw = ceil_div(ci, WIN)
    m = np.zeros((co, kh, kw, nw * WIN), np.int64)
    m[..., :ci] = mask
    return np.maximum(m.reshape(co, kh, kw, nw, WIN).sum(-1), 1).sum(-1)


def plan_passes(graph: Graph, prog: Program, cfg: PixelConfig, npl: int,
                masks: dict | None = None) -> list[PassPlan]:
    """Per conv pass: geometry, tiles, per-channel unit costs (``masks``: a cache of the
    layers' kept-weight masks, filled on the way)."""
    masks = {} if masks is None else masks
    out = []
    for i, p in enumerate(prog.conv_passes()):
        w = p.window
        src_in = prog.buffer(p.src).role == "input"
        t = tiles_of(w.oh, w.ow, cfg)
        if p.layer not in masks:
            masks[p.layer] = (layer_weights(graph.layers[p.layer], graph) != 0).astype(np.int64)
        mask = masks[p.layer]
        pp = PassPlan(p, i, w.ih, w.iw, w.ci, w.oh, w.ow, w.co, w.kh, w.stride, w.pad,
                      npl if src_in else 1, t, (t.th - 1) * w.stride + w.kh,
                      ceil_div(w.iw, 8), ceil_div(w.ow, 8), ceil_div(w.ci, WIN),
                      w.co // cfg.s, w.co % cfg.s)
        pp.unit_cost = _window_costs(mask).sum(1).max(1)
        pp.kept = mask.reshape(w.co, -1).sum(1)
        out.append(pp)
    return out


def route_classes(plans: list[PassPlan], cfg: PixelConfig,
                  base: list[RouteClass] | None = None) -> list[RouteClass]:
    """The routing classes of ``plans`` (a pass's segments are consecutive classes);
    ``base`` (a floor's classes) comes first, so that several graphs share one list."""
    classes: list[RouteClass] = list(base or [])
    for pp in plans:
        seq = [RouteClass(pp.tiles.twd, pp.s, pp.pad, pp.wpri, pp.iw, g * cfg.p, pp.kh,
                          pp.sr) for g in range(pp.tiles.nseg)]
        at = next((i for i in range(len(classes) - len(seq) + 1)
                   if classes[i:i + len(seq)] == seq), None)
        if at is None:
            at = len(classes)
            classes.extend(seq)
        pp.cls0 = at
    return classes


def pixel_floor(designs: list["PixelDesign"]) -> dict:
    """The smallest floor under which all ``designs`` (one configuration) get one
    identical top: the largest parameters and ROM depths, the union of the routing
    classes (pass the result as ``floor`` to ``compile_pixel`` / ``write_rtl``)."""
    params: dict = {}
    classes: list[RouteClass] = []
    for d in designs:
        for k, v in d.params.items():
            params[k] = max(params.get(k, v), v)
        classes = route_classes(d.plans, d.cfg, classes)
    ns = {d.params["NS"] for d in designs} - {0}
    if len(ns) > 1:
        raise HfnError("pixel floor", f"the graphs need different walker leaps {sorted(ns)}",
                       "give graphs whose stems have the same input channels")
    return {"params": params, "depths": {}, "classes": classes}


def graphs_floor(graphs: list[Graph], cfg: PixelConfig) -> dict:
    """``pixel_floor`` of ``graphs`` compiled under it (a fixed point: a wider floor can
    widen derived parameters)."""
    floor = pixel_floor([compile_pixel(g, cfg) for g in graphs])
    for _ in range(4):
        nxt = pixel_floor([compile_pixel(g, cfg, floor) for g in graphs])
        if nxt["params"] == floor["params"] and nxt["classes"] == floor["classes"]:
            return floor
        floor = nxt
    return floor


def stream_channels(co: int, s: int, cfg: PixelConfig) -> list[int]:
    """Output channels of stream s, in its order: c = s, s + S, ..."""
    return list(range(s, co, cfg.s))


def compile_pixel(graph: Graph, cfg: PixelConfig, floor: dict | None = None) -> PixelDesign:
    """The pixel engine's design of ``graph`` (HfnError if the engine cannot run it)."""
    cfg.check()
    fp = (floor or {}).get("params", {})
    fd = (floor or {}).get("depths", {})
    prog = lower(graph)
    check_pixel(graph, prog)
    xw = max(_xw(graph, prog), fp.get("XW", 0))
    in_bits = Interval(0, graph.input_tensor.hi).bits
    npl = max(1, ceil_div(in_bits, xw))
    if npl > 2:
        raise _refuse(graph.name, f"{in_bits}-bit inputs need {npl} planes of {xw} bits")
    plans = plan_passes(graph, prog, cfg, npl)
    classes = route_classes(plans, cfg, (floor or {}).get("classes"))
    ns = next((pp.ci for pp in plans if pp.ci < 16 and pp.ci & (pp.ci - 1)), 0)
    ns = fp.get("NS", ns) or ns

    # ---- widths (from the Program's ranges)
    work = [b for b in prog.buffers if b.role == "work"]
    ec = max([b.range.signed_bits for b in work] + [xw + 1, fp.get("EC", 0)])
    m = (1 << xw) - 1
    kmax = max(int(pp.kept.max()) for pp in plans)
    vwl = max(range_bits(0, m * max(kmax, 1)), xw + 2, fp.get("VWL", 0))
    vals = [range_bits(-m * kmax, m * kmax) + 1]
    for pp in plans:
        p = pp.p
        if not p.acc_all:
            vals.append(p.acc.signed_bits + 1)
            if pp.npl > 1:
                vals.append(Interval(-(m * kmax) << xw, (m * kmax) << xw).signed_bits + 1)
        if p.sum is not None:
            vals.append(p.sum.signed_bits + 1)
    vals += requant_value_bits(prog)
    vw = max(vals + [ec + 1, fp.get("VW", 0)])
    out_pass = plans[-1]
    vwo = max(out_pass.p.acc.signed_bits + 1, vw, fp.get("VWO", 0))
    if vw > 32 or vwo > 32:
        raise HfnError(graph.name, f"accumulators need {max(vw, vwo)} bits",
                       "the RTL engine outputs int32: reduce the network's ranges")
    reqs = prog.requants()
    stages = max([2] + [im.tree_depth(r.levels) for r in reqs] + [fp.get("B", 0)])

    # ---- per-stream ROMs and the table
    S = cfg.s
    term = [[[] for _ in range(3)] for _ in range(S)]
    state = [[] for _ in range(S)]
    # requant units R1, Rs, R2: one RequantImages each, its lanes are the streams (stream
    # s holds channels s + S * l at group l: the channel engine's layout, P_OUT = S)
    units = [im.RequantImages(S) for _ in range(3)]
    table: list[list[int]] = []
    placed: dict[str, list[int]] = {}

    def pass_row(pp: PassPlan) -> list[int]:
        p = pp.p
        if p.name in placed:
            return placed[p.name]
        lay = graph.layers[p.layer]
        wts = layer_weights(lay, graph)
        mask = (wts != 0).astype(np.uint8)
        states = lfsr.channel_start_states(int(lay.params["seed"]), pp.co,
                                           pp.kh * pp.kh * pp.ci)
        tb = [len(term[0][k]) for k in range(3)]
        stb = len(state[0])
        for s in range(S):
            chans = stream_channels(pp.co, s, cfg)
            for k in range(3 if pp.kh == 3 else 1):
                words = term[s][k]
                for c in chans + [None] * (pp.qmax - len(chans)):
                    for _ in range(pp.npl):
                        for kh in range(pp.kh):
                            seg = np.zeros(pp.nwin * WIN, np.uint8)
                            if c is not None:
                                seg[:pp.ci] = mask[c, kh, k]
                            for j in range(pp.nwin):
                                words.append(int(sum(int(b) << i for i, b in
                                                     enumerate(seg[j * WIN:(j + 1) * WIN]))))
            for c in chans + [None] * (pp.qmax - len(chans)):
                for _ in range(pp.npl):
                    state[s].append(int(states[c]) if c is not None else 0)
        for s in range(S):                      # pad every stream's ROMs to one layout
            for k in range(3):
                term[s][k] += [0] * (max(len(term[t][k]) for t in range(S)) - len(term[s][k]))
        f = [0] * len(FIELDS)
        w = p.window
        flags = (int(p.add is not None) << FL_ADD) | (int(p.out == graph.output) << FL_OUT) \
            | (int(p.r1 is not None) << FL_R1) | (int(p.rs is not None) << FL_RS) \
            | (int(p.r2 is not None) << FL_R2) | (int(pp.npl > 1) << FL_PLANES) \
            | (int(pp.kh == 1) << FL_K1) | (int(_releases_input(graph, prog, p)) << FL_REL)
        nbuf = len(work)
        src = prog.buffer(p.src)
        t = pp.tiles
        # the source map's own tiling: which of the previous pass's tiles tile 0 needs
        sh, sw = graph.tensors[p.src].shape[:2]
        ts = tiles_of(sh, sw, cfg)
        last_row = min(pp.ih, pp.sr - pp.pad) - 1
        dept = (last_row // ts.th + 1) * ts.nseg - 1
        vals = dict(
            TYPE=T_CONV, FLAGS=flags, SRC=nbuf if src.role == "input" else src.id,
            DST=NONE_BUF if p.out == graph.output else prog.buffer_of[p.out],
            RES=prog.buffer_of[p.res] if p.res is not None else 0,
            IH=pp.ih, CIF=pp.npl * pp.ci, CI=pp.ci, S=pp.s, PAD=pp.pad, WPRI=pp.wpri,
            SR=pp.sr, QCI=pp.ih * pp.wpri, TH=t.th, NTR=t.ntr, NSEG=t.nseg, CLS0=pp.cls0,
            DEPT=dept, KH=pp.kh,
            NWIN=pp.nwin, WPU=pp.wpu, TB0=tb[0], TB1=tb[1], TB2=tb[2], Q=pp.q, R=pp.r,
            STB=stb, PLO=pp.kh * pp.ci, NUQ=pp.q * pp.npl, NUQ1=(pp.q + 1) * pp.npl,
            LENQ=pp.q * pp.npl * pp.wpu, LENQ1=(pp.q + 1) * pp.npl * pp.wpu,
            OH=pp.oh, TWDR=t.twd // cfg.rs, LASTW=t.lastw, WPRO=pp.wpro,
            QCO=pp.oh * pp.wpro, TWD=t.twd, QR0=(-pp.pad * pp.wpri) & 0xFFFF,
            QRT=t.th * pp.s * pp.wpri, TQR=t.th * pp.wpro, FNS=pp.sr * pp.wpri)
        for tag, r, op in (("1", p.r1, 0), ("S", p.rs, 1), ("2", p.r2, 2)):
            if r is None:
                continue
            u = units[op].place(r)
            vals.update({f"L{tag}": r.levels, f"OM{tag}": r.out_min & 0xFFFF,
                         f"PC{tag}": u["PC"] | (u["TIE"] << 1), f"WPC{tag}": 1,
                         f"TB_{tag}": u["BASE"], f"TS{tag}": u["STRIDE"]})
        for k, v in vals.items():
            if not 0 <= v < (1 << FW):
                raise HfnError(graph.name, f"table field {k} = {v} of pass {p.name} does not "
                               f"fit {FW} bits", "the pixel engine supports smaller networks")
            f[F[k]] = v
        placed[p.name] = f
        return f

    pi = 0
    for item in prog.items:
        if isinstance(item, Fold):
            table.append(_marker(T_LOOP, item.iterations))
            for _ in item.body:
                table.append(pass_row(plans[pi]))
                pi += 1
            table.append(_marker(T_ENDLOOP))
        else:
            table.append(pass_row(plans[pi]))
            pi += 1
    table.append(_marker(T_END))

    # ---- parameters
    t_all = [pp.tiles for pp in plans]
    inp = graph.input_tensor
    nbuf = len(work)
    buf_sw = max([ceil_div(graph.tensors[t].shape[0] * ceil_div(graph.tensors[t].shape[1], 8)
                           * graph.tensors[t].shape[2] * 1, 1)
                  for b in work for t in b.tensors] + [1])
    in_sw = npl * inp.shape[2] * inp.shape[0] * ceil_div(inp.shape[1], 8)
    cb_d = max(ceil_div(buf_sw, cfg.ncb), fp.get("CB_D", 0))
    in_d = max(ceil_div(in_sw, cfg.ncb), fp.get("IN_D", 0))
    max_region = max(pp.npl * pp.kh * pp.ci for pp in plans)
    lbd = max(1 << (2 * max_region - 1).bit_length(), 2, fp.get("LBD", 0))
    nslot = max(pp.sr * pp.wpri for pp in plans)
    nrslot = max(t.th * ceil_div(t.twd, 8) for t in t_all)
    ncls = max(len(classes), fp.get("NCLS", 0))
    qmax_all = max(pp.qmax for pp in plans)
    out_c = graph.tensors[graph.output].shape[2]
    depth = {}
    for k in range(3):
        depth[f"term{k}"] = max([len(term[0][k]), 1, fd.get(f"term{k}", 0)])
    depth["state"] = max(len(state[0]), 1, fd.get("state", 0))
    rq_params: dict = {}
    rq_roms = [[[] for _ in range(3)] for _ in range(S)]
    rq_exc = [[[] for _ in range(3)] for _ in range(S)]
    for u in range(3):
        prm, words = unit_params(u, units[u], stages, fp)
        rq_params.update(prm)
        depth[f"rq{u}"] = max(len(units[u].cells[0]), 1, fd.get(f"rq{u}", 0),
                              fp.get(f"HD{u}", 0))
        kw = clog2(depth[f"rq{u}"])                           # hfn_pl_requant's KW
        exc = exception_words(u, units[u], {**prm, "TAW": kw}, S)
        for s in range(S):
            rq_roms[s][u] = im.row_words(words[s], prm[f"R{u}_AW"], prm[f"R{u}_SW"],
                                         prm[f"R{u}_XW"], prm.get(f"R{u}_KNEE", 0))
            rq_exc[s][u] = exc[(u, s)]
        vw = max(vw, prm[f"R{u}_OW"] + 1)
    depth["table"] = max(len(table), fd.get("table", 0))
    params = dict(
        P=cfg.p, S=S, RS=cfg.rs, NCB=cfg.ncb, XW=xw, EC=ec, VWL=vwl, VW=vw,
        VWO=max(vwo, vw), B=stages, NS=ns, NPL=npl,
        NBUF=max(nbuf, fp.get("NBUF", 0)), CB_D=cb_d, IN_D=in_d, LBD=lbd,
        NSLOT=max(nslot, fp.get("NSLOT", 0)), NRSLOT=max(nrslot, fp.get("NRSLOT", 0)),
        NCLS=ncls, QMAX=max(qmax_all, fp.get("QMAX", 0)),
        IN_C=inp.shape[2], IN_H=inp.shape[0], IN_W=inp.shape[1],
        IN_WPR=ceil_div(inp.shape[1], 8),
        CLASSES=out_c, CLS_L=max(ceil_div(out_c, S), 1),
        TD=depth["table"], MD0=depth["term0"], MD1=depth["term1"], MD2=depth["term2"],
        SD=depth["state"], HD0=depth["rq0"], HD1=depth["rq1"], HD2=depth["rq2"],
        **rq_params)
    for k in list(params):
        if k not in ("NPL", "NS"):          # exact values (planes follow the floor's XW)
            params[k] = max(params[k], fp.get(k, 0))
    d = PixelDesign(cfg, prog, plans, classes, params, table, term, state, rq_roms, rq_exc)
    d.stats = _stats(graph, prog, d)
    return d


def rq_key_width(params: dict, u: int) -> int:
    """The exception key (ROM address) width of unit u, as hfn_pl_requant derives it."""
    return clog2(params[f"HD{u}"])


def _marker(kind: int, iters: int = 0) -> list[int]:
    f = [0] * len(FIELDS)
    f[F["TYPE"]] = kind
    f[F["ITERS"]] = iters
    return f


def _releases_input(graph: Graph, prog: Program, p: ConvPass) -> bool:
    readers = prog.readers(graph.input)
    return bool(readers) and readers[-1][0] is p


def _stats(graph: Graph, prog: Program, d: PixelDesign) -> dict:
    S = d.cfg.s
    bits = {
        "mask": 8 * sum(len(d.term_roms[s][k]) for s in range(S) for k in range(3)),
        "lfsr_states": 32 * sum(len(d.state_roms[s]) for s in range(S)),
        "requant": sum(word_width(d.params, u) * len(d.rq_roms[s][u])
                       for s in range(S) for u in range(3)),
        "table": len(FIELDS) * FW * len(d.table),
    }
    unique = sum(l.size for l in graph.layers.values())
    return {"rom_bits": bits, "unique_weights": unique, "macs": prog.macs,
            "engine_macs": prog.engine_macs,
            "dense_ideal_cycles": -(-prog.macs // d.cfg.lanes)}


def decode_term_roms(d: PixelDesign, pp: PassPlan) -> np.ndarray:
    """The kept-weight mask of pass ``pp`` read back from the term ROMs (tests)."""
    f = d.table[pp.index + _table_offset(d, pp)]
    out = np.zeros((pp.co, pp.kh, pp.kh, pp.nwin * WIN), np.uint8)
    for s in range(d.cfg.s):
        chans = stream_channels(pp.co, s, d.cfg)
        for k in range(3 if pp.kh == 3 else 1):
            a = f[F[f"TB{k}"]]
            for c in chans + [None] * (pp.qmax - len(chans)):
                for pl in range(pp.npl):
                    for kh in range(pp.kh):
                        for j in range(pp.nwin):
                            w = d.term_roms[s][k][a]
                            a += 1
                            if c is not None and pl == 0:
                                for i in range(WIN):
                                    out[c, kh, k, j * WIN + i] = (w >> i) & 1
    return out[..., :pp.ci]


def _table_offset(d: PixelDesign, pp: PassPlan) -> int:
    """Table row of pass ``pp`` minus its pass index (loop markers before it)."""
    n = 0
    row = 0
    for r in d.table:
        if r[F["TYPE"]] == T_CONV:
            if n == pp.index:
                return row - n
            n += 1
        row += 1
    raise KeyError(pp.index)
