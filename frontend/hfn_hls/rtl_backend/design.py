"""Compile an IR graph into the RTL engine's parameters and ROM images (no files).

The graph is lowered once (``hfn_hls.lower``): the engine runs the Program's conv passes
and fold loops; this module checks that the Program has the shapes the engine runs,
writes its layer table, places the layers on their sources' weight generators and the
requants on the three requant units (R1, Rs, R2: their compact rows, ``ir/requant.py``).
Widths come from the bound analysis (``ir/ranges.py``, carried by the Program): fmap
elements (EW), accumulators and values between the units (VW), weights (WB); each
requant unit's own widths from the rows and input ranges it holds (``unit_params``).
See docs/rtl.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HfnError
from ..ir.model import Graph, range_bits
from ..ir.ranges import Interval, weight_width
from ..lanes import Lanes
from ..lower import ConvPass, CopyPass, Fold, MaxPoolPass, Program, lower
from ..weights import RomImage, RtlGenerator, get_source
from . import images as im

Rom = RomImage


@dataclass
class Design:
    params: dict
    roms: list = field(default_factory=list)
    rq_roms: dict = field(default_factory=dict)    # (u, o) -> Rom: requant unit u, lane o
    rq_exc: dict = field(default_factory=dict)     # (u, o) -> exception entry words
    program: Program | None = None
    stats: dict = field(default_factory=dict)
    generators: dict = field(default_factory=dict)  # source name -> RtlGenerator
    lanes: Lanes | None = None


def clog2(n: int) -> int:
    return max(1, (int(n) - 1).bit_length())


def _check_lanes(lanes: Lanes) -> None:
    po, pi = lanes.p_out, lanes.p_in
    if po & (po - 1) or pi & (pi - 1) or po > pi:
        raise HfnError(f"--lanes {lanes}", "the RTL engine needs powers of two with "
                       "P_OUT <= P_IN", "give e.g. 64 (8x8), 128 (8x16) or 4x8")


def _refuse(name: str, reason: str) -> HfnError:
    return HfnError(f"op {name}", reason,
                    "the RTL engine runs conv+requant[+add+requant] passes, max pooling, "
                    "folds and global_sum+classifier; use the HLS backend for other graphs")


def check_program(graph: Graph, prog: Program) -> None:
    """HfnError unless every pass is one the engine runs (docs/rtl.md)."""
    items = [p for it in prog.items for p in (it.body if isinstance(it, Fold) else [it])]
    for p in items:
        if isinstance(p, CopyPass):
            raise _refuse(p.name, "the fold cannot keep its input, body and output in one "
                          "buffer (its input is used after it, or its body reads its input "
                          "after writing its output)")
        if isinstance(p, MaxPoolPass):
            if p.out == graph.output:
                raise _refuse(p.name, "the network output is a max pooling")
            continue
        if not isinstance(p, ConvPass):
            op = p.ops()[0]
            raise _refuse(op.name, f"{op.kind} op is not part of a conv pass")
        if p.out == graph.output:
            continue
        if p.r1 is None:
            raise _refuse(p.name, "a convolution must be followed by exactly one requant")
        if p.acc_all:
            raise _refuse(p.name, "a global_sum + 1x1 conv pass must write the network output")
    last = prog.items[-1] if prog.items else None
    if not isinstance(last, ConvPass) or last.out != graph.output:
        raise HfnError(graph.name, "the last op is not a classifier conv",
                       "the RTL engine needs global_sum + 1x1 classifier at the end")
    if graph.tensors[graph.output].shape[:2] != [1, 1]:
        raise _refuse(last.name, "the network output must be 1x1 (a classifier)")
    readers = prog.readers(graph.input)
    if any(f is not None for _, f in readers) or any(
            p.res is not None and prog.buffer_of[p.res] == prog.buffer_of[graph.input]
            for p, _ in readers):
        raise HfnError(graph.name, "the input image is read inside a fold or as a residual",
                       "the RTL engine reads the input image only in convolutions before folds")
    if any(graph.output in q.reads() for q in items):
        raise _refuse(last.name, "the network output is read by another pass")


def _widths(graph: Graph, prog: Program, w_max: int, pi: int) -> dict:
    """EW, SW, VW and B from the Program's ranges (``w_max``: largest |weight|)."""
    stored = [b for b in prog.buffers if b.role != "output"]
    ew = max([b.range.signed_bits for b in stored] + [9])
    lane_sum = pi * (1 << (ew - 1)) * w_max          # |sum of P_IN products| of one lane
    sw = Interval(-lane_sum, lane_sum).signed_bits
    vals = [sw]
    for p in prog.conv_passes():
        vals.append(p.acc.signed_bits)
        if p.sum is not None:
            vals.append(p.sum.signed_bits + 1)
    vals += requant_value_bits(prog)
    return {"EW": ew, "SW": sw, "VW": max(vals + [sw]),
            "B": max([2] + [im.tree_depth(r.levels) for r in prog.requants()])}


def requant_value_bits(prog: Program) -> list[int]:
    """Signed widths the drain's value path needs around every requant of ``prog``: its
    input and output ranges and its level count (both engines' VW)."""
    vals = []
    for r in prog.requants():
        for v in (r.x, r.out):
            vals.append(range_bits(min(v.lo, -1), v.hi + 1) + 1)
        vals.append(range_bits(-1, r.levels) + 1)
    return vals


UNIT_PARAMS = ("XW", "FU", "EW", "AW", "SW", "OW", "NE", "DW", "TIES", "KNEE")


def word_width(params: dict, u: int) -> int:
    """Bits of one ROM word of requant unit u: {neg, S, A}, and {K, S2, A2} above it in a
    unit with knees (``R<u>_KNEE``: absent = 0)."""
    aw, sw = params[f"R{u}_AW"], params[f"R{u}_SW"]
    return aw + sw + 1 + (params[f"R{u}_XW"] + aw + sw if params.get(f"R{u}_KNEE") else 0)


def unit_params(u: int, images: im.RequantImages, stages: int, fp: dict) -> tuple[dict, list]:
    """Parameters ``R<u>_<k>`` of requant unit u (k in UNIT_PARAMS: input width, fraction
    bits, datapath, stored A and step widths, output width, exception entries per lane and
    delta width, tie logic) and its ROM words per lane, at least the floor's ``fp``."""
    g = {k: fp.get(f"R{u}_{k}", 0) for k in UNIT_PARAMS}
    fu = max(images.frac, g["FU"])
    words = images.words(stages, fu)
    a = [w[i] for lane in words for w in lane for i in (1, 4)] or [0]
    s = [w[i] for lane in words for w in lane for i in (2, 5)] or [0]
    rs = images.requants
    xlo = min([r.x.lo for r in rs] + [-1])
    xhi = max([r.x.hi for r in rs] + [0])
    xw = range_bits(xlo, xhi)
    half = ((1 << (stages - 1)) - 1) * max(s)
    e = Interval(min(a) - (xhi << fu) - half, max(a) - (xlo << fu) + half)
    aw = range_bits(min(min(a), -1), max(max(a), 0))
    out = Interval(min([r.out_min for r in rs] + [-1]),
                   max([r.out_min + r.levels for r in rs] + [0]))
    dmax = max([abs(d) for lane in images.exc for _, _, d in lane] + [1])
    sw = max(1, max(s).bit_length())
    # EW holds every E, x * 2^FU, A, and S * 2^(N-2) with a sign bit (the stages' adders)
    v = {"XW": xw, "FU": fu, "EW": max(e.signed_bits, xw + fu + 1, aw + 1, sw + stages),
         "AW": aw, "SW": sw, "OW": max(out.signed_bits, stages + 1),
         "NE": max(len(lane) for lane in images.exc), "DW": range_bits(-dmax, dmax),
         "TIES": int(images.ties), "KNEE": int(images.knees)}
    v = {k: max(x, g[k]) for k, x in v.items()}
    v["OW"] = max(v["OW"], v["DW"])
    v["EW"] = max(v["EW"], v["XW"] + v["FU"] + 1, v["AW"] + 1, v["SW"] + stages)
    # R<u>_KNEE only where 1: a design without knees keeps today's parameter list
    return {f"R{u}_{k}": x for k, x in v.items() if k != "KNEE" or x}, words


def compile_design(graph: Graph, lanes: Lanes, floor: dict | None = None) -> Design:
    """Parameters and ROM images of ``graph``.  ``floor`` (from ``common_floor``) raises
    widths and ROM depths so that several graphs share one identical top (one Verilator
    build simulates them all: only the ROM images differ)."""
    _check_lanes(lanes)
    fp = (floor or {}).get("params", {})
    fd = (floor or {}).get("depths", {})
    po, pi = lanes.p_out, lanes.p_in
    prog = lower(graph)
    check_program(graph, prog)
    passes = prog.conv_passes()
    sources = sorted({graph.layers[p.layer].source for p in passes})
    gens: dict[str, RtlGenerator] = {n: get_source(n).rtl_generator(graph, lanes)
                                     for n in sources}
    wb = max([weight_width(graph, p.layer) for p in passes] + [g.wb for g in gens.values()])
    w_max = max(max(-lo, hi) for lo, hi in (
        get_source(graph.layers[p.layer].source).weight_range(graph.layers[p.layer], graph)
        for p in passes))
    w = {k: max(v, fp.get(k, 0)) for k, v in _widths(graph, prog, w_max, pi).items()}
    ew, vw, stages = w["EW"], max(w["VW"], w["SW"]), w["B"]
    if vw > 32:
        raise HfnError(graph.name, f"accumulators need {vw} bits",
                       "the RTL engine outputs int32: reduce the network's ranges")
    t = graph.tensors
    inp = graph.input_tensor
    nbuf = len(prog.work_buffers)

    # ---- layer table, weight generators', requant and bias images
    units = [im.RequantImages(po) for _ in range(3)]
    table = []
    bias: list[int] = []
    nf = im.NF
    max_g = 1
    geo_vals = [0]
    buf_d = 1
    for item in prog.items:
        if isinstance(item, Fold):
            table.append([im.T_LOOP, item.iterations] + [0] * (nf - 2))
            table += [_pass_fields(graph, prog, p, lanes, gens, sources, units, nf, bias, vw)
                      for p in item.body]
            table.append([im.T_ENDLOOP] + [0] * (nf - 1))
        else:
            table.append(_pass_fields(graph, prog, item, lanes, gens, sources, units, nf,
                                      bias, vw))
    for f in table:
        if f[0] != im.T_CONV:
            continue
        geo = dict(zip(im.FIELDS, f))
        g, oh, ow, nco, ih, iw, nc = (geo[k] for k in ("G", "OH", "OW", "NCO", "IH", "IW", "NC"))
        if not geo["FLAGS"] & 2:
            buf_d = max(buf_d, oh * ow * nco)
        max_g = max(max_g, g)
        geo_vals += [geo["AORIGIN"], -geo["PAD"], oh * ow * nco + g, ih * iw * nc,
                     geo["STEPOH"]]
    table.append([im.T_END] + [0] * (nf - 1))
    iters = [it.iterations for it in prog.items if isinstance(it, Fold)]

    roms = [Rom("table", 32 * nf, [sum((v & 0xFFFFFFFF) << (32 * i) for i, v in enumerate(r))
                                   for r in table], "table")]
    for n in sources:
        roms += gens[n].roms()
    has_bias = max(int(bool(bias)), fp.get("BIAS", 0))
    if has_bias:
        roms.append(Rom("bias", po * vw, bias or [0], "bias"))
    for r in roms:
        r.words += [0] * (fd.get(r.name, 0) - len(r.words))
    rq_params: dict = {}
    rq_roms, rq_words = {}, {}
    taw = clog2(max_g) + 1
    for u in range(3):
        prm, words = unit_params(u, units[u], stages, fp)
        rq_params.update(prm)
        aw_, sw_, xw_ = prm[f"R{u}_AW"], prm[f"R{u}_SW"], prm[f"R{u}_XW"]
        kn = prm.get(f"R{u}_KNEE", 0)
        for o in range(po):
            name = f"rq_u{u}_l{o}"
            cells = words[o]
            if cells or fd.get(name):
                ws = im.row_words(cells, aw_, sw_, xw_, kn)
                ws += [0] * (fd.get(name, 0) - len(ws))
                rq_roms[(u, o)] = Rom(name, word_width(prm, u), ws, "requant")
                taw = max(taw, clog2(len(ws)) + 1)
        rq_words[u] = words
    gw = max(clog2(max_g) if max_g > 1 else 1, fp.get("GW", 0))
    taw = max(taw, gw + 1, fp.get("TAW", 0))
    in_nc = im.ceil_div(inp.shape[2], pi)
    out_c = t[graph.output].shape[2]
    cls_pad = im.ceil_div(out_c, po) * po
    buf_d = max(buf_d, fp.get("BUF_D", 0))
    cw = max(fp.get("CW", 0), range_bits(min(geo_vals) - 1, max(geo_vals + [buf_d, max(iters + [1])]) + 1) + 2,
             clog2(buf_d) + 3, clog2(inp.shape[0] * inp.shape[1] * in_nc) + 3, 8)
    params = dict(P_OUT=po, P_IN=pi, RATIO=pi // po, NW=pi.bit_length(), EW=ew, SW=w["SW"],
                  VW=vw, B=stages, TAW=taw, CW=cw, GW=gw,
                  NBUF=max(nbuf, fp.get("NBUF", 0)), BUF_D=buf_d, BUF_AW=clog2(buf_d),
                  IN_D=inp.shape[0] * inp.shape[1] * in_nc,
                  IN_AW=clog2(inp.shape[0] * inp.shape[1] * in_nc),
                  IN_C=inp.shape[2], IN_NC=in_nc, IN_PIX=inp.shape[0] * inp.shape[1],
                  CLASSES=out_c, CLS_PAD=cls_pad, WB=wb,
                  CAW=clog2(_rom_depth(roms, "chunk", gens)),
                  GAW=clog2(_rom_depth(roms, "group", gens)),
                  TBL_AW=clog2(len(table)),
                  BAW=clog2(len(next((r.words for r in roms if r.name == "bias"), [0]))),
                  BIAS=has_bias, NF=nf, **rq_params)
    for k in ("CAW", "GAW", "TBL_AW", "WB", "BAW"):
        params[k] = max(params[k], fp.get(k, 0))
    rq_exc = {}
    for u in range(3):
        rq_exc.update(exception_words(u, units[u], params, po))
    d = Design(params, roms, rq_roms, rq_exc, prog, generators=gens, lanes=lanes)
    d.stats = _stats(graph, prog, roms, rq_roms, lanes)
    for gen in gens.values():       # a generator's own figures (smh: tile buffer, copies)
        d.stats.update(getattr(gen, "stats", lambda: {})())
    return d


def exception_width(params: dict, u: int) -> int:
    """Bits of one exception entry of unit u: {valid, key (ROM address), x, delta}."""
    return 1 + params["TAW"] + params[f"R{u}_XW"] + params[f"R{u}_DW"]


def exception_words(u: int, images: im.RequantImages, params: dict, po: int) -> dict:
    """Per lane of unit u its ``max(NE, 1)`` entry words (unused entries 0: invalid)."""
    ne = params[f"R{u}_NE"]
    taw, xw, dw = params["TAW"], params[f"R{u}_XW"], params[f"R{u}_DW"]
    ewid = exception_width(params, u)
    out = {}
    for o in range(po):
        ws = [(1 << (ewid - 1)) | ((a & ((1 << taw) - 1)) << (dw + xw)) |
              ((x & ((1 << xw) - 1)) << dw) | (d & ((1 << dw) - 1))
              for a, x, d in images.exc[o]]
        out[(u, o)] = ws + [0] * (max(ne, 1) - len(ws))
    return out


def _rom_depth(roms: list, port: str, gens: dict) -> int:
    """Depth of the deepest generator ROM addressed by the weight port's ``port``."""
    names = {n for g in gens.values() for n, a in g.addressed_by.items() if a == port}
    return max([len(r.words) for r in roms if r.name in names] + [1])


def _pass_fields(graph: Graph, prog: Program, p, lanes: Lanes, gens: dict, sources: list,
                 units: list, nf: int, bias: list, vw: int) -> list[int]:
    """The table word of one conv or max-pool pass (``bias``: the bias ROM, appended)."""
    if isinstance(p, MaxPoolPass):
        return _pool_fields(graph, prog, p, lanes, nf)
    po, pi = lanes.p_out, lanes.p_in
    win = p.window
    lay = graph.layers[p.layer]
    nc, g = im.ceil_div(win.ci, pi), im.ceil_div(win.co, po)
    out = p.out == graph.output
    nco = 1 if out else im.ceil_div(win.co, pi)
    cbase, gbase = gens[lay.source].place(lay)
    flags = int(p.add is not None) | (int(out) << 1) | (int(p.acc_all) << 2) | (
        int(_releases_input(graph, prog, p)) << 3) | (sources.index(lay.source) << 4)
    nbuf = len(prog.work_buffers)
    src = prog.buffer(p.src)
    geo = dict(TYPE=im.T_CONV, SRC=nbuf if src.role == "input" else src.id,
               DST=0 if out else prog.buffer_of[p.out],
               RES=prog.buffer_of[p.res] if p.res is not None else 0, FLAGS=flags,
               IH=win.ih, IW=win.iw, OH=win.oh, OW=win.ow, KH=win.kh, KW=win.kw,
               S=win.stride, PAD=win.pad, NC=nc, NCO=nco, NLAST=win.ci - (nc - 1) * pi, G=g,
               KCH=win.kh * win.kw * nc, ROWSTRIDE=win.iw * nc, STEPOW=win.stride * nc,
               STEPOH=win.stride * win.iw * nc, CBASE=cbase, GBASE=gbase, COUT=win.co,
               AORIGIN=(-win.pad * win.iw - win.pad) * nc)
    if p.res is not None and prog.buffer_of[p.res] == prog.buffer_of[p.src]:
        geo["FLAGS"] |= im.F_RSRC      # the residual is read through the source's port
    if p.bias is not None:
        geo["FLAGS"] |= im.F_BIAS
        geo["BBASE"] = len(bias)
        bias += im.bias_words(p.bias, po, vw)
    f = [0] * nf
    for k, v in geo.items():
        f[im.FIELDS.index(k)] = v
    for u, r in enumerate((p.r1, p.rs, p.r2)):
        if r is None:
            continue                                 # EN = 0: the unit passes x through
        d = units[u].place(r)
        for i, k in enumerate(im.UNIT_FIELDS):
            f[im.NF0 + u * im.UF + i] = d[k]
    return f


def _pool_fields(graph: Graph, prog: Program, p: MaxPoolPass, lanes: Lanes,
                 nf: int) -> list[int]:
    """The table word of a max-pool pass: the conv loops over groups of P_OUT channels,
    pixels and the window, one chunk per position (the word of the group's channels); no
    weights, no requant."""
    po, pi = lanes.p_out, lanes.p_in
    win = p.window
    nc = im.ceil_div(win.ci, pi)
    src = prog.buffer(p.src)
    flags = im.F_POOL | (int(_releases_input(graph, prog, p)) << 3)
    geo = dict(TYPE=im.T_CONV, SRC=len(prog.work_buffers) if src.role == "input" else src.id,
               DST=prog.buffer_of[p.out], FLAGS=flags, IH=win.ih, IW=win.iw, OH=win.oh,
               OW=win.ow, KH=win.kh, KW=win.kw, S=win.stride, PAD=win.pad, NC=nc, NCO=nc,
               NLAST=win.ci - (nc - 1) * pi, G=im.ceil_div(win.co, po), KCH=0,
               ROWSTRIDE=win.iw * nc, STEPOW=win.stride * nc, STEPOH=win.stride * win.iw * nc,
               COUT=win.co, AORIGIN=(-win.pad * win.iw - win.pad) * nc)
    f = [0] * nf
    for k, v in geo.items():
        f[im.FIELDS.index(k)] = v
    return f                       # requant fields 0: EN = 0, the units pass x through


def _releases_input(graph: Graph, prog: Program, p) -> bool:
    """Is ``p`` the last pass that reads the input image (the loader may refill it)?"""
    readers = prog.readers(graph.input)
    return bool(readers) and readers[-1][0] is p


def _stats(graph: Graph, prog: Program, roms: list, rq: dict, lanes: Lanes) -> dict:
    bits: dict[str, int] = {"requant": 0, "table": 0}
    for r in list(roms) + list(rq.values()):
        bits[r.kind] = bits.get(r.kind, 0) + r.width * len(r.words)
    unique = sum(l.size for l in graph.layers.values())
    return {"rom_bits": bits, "unique_weights": unique, "macs": prog.macs,
            "engine_macs": prog.engine_macs, "ideal_cycles": prog.ideal_cycles(lanes)}


def _merge(designs: list[Design]) -> dict:
    params: dict = {}
    depths: dict = {}
    for d in designs:
        for k, v in d.params.items():
            params[k] = max(params.get(k, v), v)
        for r in list(d.roms) + list(d.rq_roms.values()):
            depths[r.name] = max(depths.get(r.name, 0), len(r.words))
    return {"params": params, "depths": depths}


def common_floor(designs: list[Design]) -> dict:
    """The smallest floor under which all ``designs`` get one identical top.  A unit's
    fraction bits and the stages change the stored words (hence their widths), so the
    designs are compiled again under the floor until it no longer moves."""
    floor = _merge(designs)
    for _ in range(4):
        again = [compile_design(d.program.graph, d.lanes, floor) for d in designs]
        new = _merge(again)
        if new == floor:
            return floor
        floor = new
    raise AssertionError("the common floor does not converge")
