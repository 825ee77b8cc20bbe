"""C++ text of a project's firmware from the lowered Program: ``parameters.h`` (config
structs and ROM images) and the body of ``hfn_top.cpp`` (thin calls into the header
library, hls_templates/).

Each Program pass is one library call: ``conv_pass`` (with the layer's weight generator
from its source and a store functor for R1 / Rs / R2), ``map`` (a stand-alone requant),
``add``, ``global_sum``, ``maxpool``, ``copy``.  A fold is one ``<id>_body(int it)``
function called from a loop.  The ROMs are the weight sources' (for ``hfn``: supermask
words and LFSR start states) and the compact requantisation rows (base, step, direction,
exception points); there is no weight array and no threshold anywhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..cpp import CType, ctype, native, nested, nums
from ..errors import HfnError
from ..ir.ranges import Interval
from ..lanes import Lanes
from ..lower import (AddPass, ConvPass, CopyPass, Fold, GlobalSumPass, MaxPoolPass, Pass,
                     Program, Requant, RequantPass)
from ..weights import HlsGenerator, get_source

MAX_P_IN = 64
STAGES = ("r1", "rs", "r2")


def c_ident(name: str) -> str:
    s = re.sub(r"\W", "_", name)
    return s if s and not s[0].isdigit() else "_" + s


def rq_datapath(r: Requant) -> Interval:
    """Every value of ``requant_one``'s bisection for inputs in r.x: the probe values
    ``B + m·S − x·2^F − 1`` for m in [-1, 2^DEPTH − 1] and the tie term."""
    b, s = r.base, r.step
    if r.has_knees:                                  # either segment of a row
        _, b2, s2 = r.knee_arrays()
        b, s = np.concatenate([b, b2]), np.concatenate([s, s2])
    top = (1 << r.levels.bit_length()) - 1
    lo = int(b.min(initial=0)) - int(s.max(initial=0)) - (r.x.hi << r.frac) - 1
    hi = int(b.max(initial=0)) + top * int(s.max(initial=0)) - (r.x.lo << r.frac) + 1
    return Interval(min(lo, -1), max(hi, 0))


def rq_roms_types(r: Requant) -> dict:
    """C types of a requant's ROMs and their widths: ``{"base": (type, bits), "step": ...}``."""
    b, s = r.base, r.step
    if not r.has_knees:
        return {"base": native(min(int(b.min(initial=0)), 0), int(b.max(initial=0))),
                "step": native(0, int(s.max(initial=0)))}
    kx, b2, s2 = r.knee_arrays()
    return {"base": native(min(int(b.min(initial=0)), int(b2.min()), 0),
                           max(int(b.max(initial=0)), int(b2.max()))),
            "step": native(0, max(int(s.max(initial=0)), int(s2.max()))),
            "knee": native(min(int(kx.min()), 0), max(int(kx.max()), 0))}


@dataclass
class Firmware:
    """The Program at a lane configuration, with the C identifiers of its parts."""

    program: Program
    lanes: Lanes
    ident: dict[int, str] = field(default_factory=dict)          # id(pass | fold) -> ident
    generators: dict[int, HlsGenerator] = field(default_factory=dict)   # id(conv pass)

    @property
    def graph(self):
        return self.program.graph

    def id(self, item) -> str:
        return self.ident[id(item)]

    def buf(self, tensor: str) -> str:
        return self.program.buffer(tensor).ident

    def buffer_type(self, b) -> CType:
        return ctype(b.range.lo, b.range.hi)


def check(program: Program, lanes: Lanes) -> None:
    """What the HLS library needs beyond the lowering (HfnError otherwise)."""
    g = program.graph
    where = f"model {g.name!r}"
    t = g.input_tensor
    if t.lo < 0 or t.hi > 255 or len(t.shape) != 3:
        raise HfnError(f"{where}, input {g.input}", f"input codes [{t.lo}, {t.hi}] are not "
                       "unsigned 8-bit HWC", "the input must be quantised to 8-bit codes")
    o = g.output_tensor
    if o.lo < -(1 << 31) or o.hi >= 1 << 31:
        raise HfnError(f"{where}, output {g.output}", f"range [{o.lo}, {o.hi}] exceeds int32",
                       "the output stream carries 32-bit codes")
    if lanes.p_in > MAX_P_IN:
        raise HfnError(f"--lanes {lanes}", f"P_in = {lanes.p_in} exceeds {MAX_P_IN}",
                       f"use at most {MAX_P_IN} input lanes, e.g. --lanes {lanes.total // 64}x64"
                       if lanes.total >= 64 else "use fewer input lanes")
    for p in program.conv_passes():
        x = Interval.of(g.tensors[p.src])
        layer = g.layers[p.layer]
        lo, hi = get_source(layer.source).weight_range(layer, g)
        if max(-x.lo, x.hi) * max(-lo, hi) * lanes.p_in >= 1 << 31:
            raise HfnError(f"{where}, conv {p.name}", f"inputs up to {max(-x.lo, x.hi)} times "
                           f"weights up to {max(-lo, hi)} times {lanes.p_in} lanes overflow "
                           "the 32-bit lane sum", "use fewer input lanes")


def firmware(program: Program, lanes: Lanes) -> Firmware:
    check(program, lanes)
    fw = Firmware(program, lanes)
    n = 0
    for it in program.items:
        for item in ([it] + it.body if isinstance(it, Fold) else [it]):
            n += 1
            fw.ident[id(item)] = f"L{n}_{c_ident(item.name)}"
            if isinstance(item, ConvPass):
                layer = program.graph.layers[item.layer]
                fw.generators[id(item)] = get_source(layer.source).hls_generator(
                    layer, program.graph, lanes, fw.ident[id(item)])
    return fw


# -- parameters.h --------------------------------------------------------------------------

def conv_struct(fw: Firmware, p: ConvPass) -> str:
    w, ident = p.window, fw.id(p)
    acc = ctype(p.acc.lo, p.acc.hi, True)
    what = f"conv {p.conv.name} (layer {p.layer})" + (
        f" fused with {p.pool.name}: accumulates over all pixels" if p.acc_all else "")
    text = f"""struct {ident}_cfg {{  // {what}
    static const int IH = {w.ih}, IW = {w.iw}, CI = {w.ci};
    static const int OH = {w.oh}, OW = {w.ow}, CO = {w.co};
    static const int KH = {w.kh}, KW = {w.kw}, S = {w.stride}, PAD = {w.pad}, K = {w.k};
    static const int P_OUT = {fw.lanes.p_out}, P_IN = {fw.lanes.p_in}, KC = {-(-w.k // fw.lanes.p_in)};
    static const bool ACC_ALL = {'true' if p.acc_all else 'false'};
    typedef {acc.cpp} acc_t;
}};
"""
    if p.sum is not None:
        text += f"typedef {ctype(p.sum.lo, p.sum.hi, True).cpp} {ident}_sum_t;  " \
                f"// the residual sum of {p.add.name}\n"
    if p.bias is not None:
        text += (f"// bias of layer {p.layer}: added to each accumulator (hfn::with_bias)\n"
                 f"static const int32_t BIAS_{ident}[{w.co}] = {nums(p.bias)};\n")
    return text


def rq_struct(r: Requant, ident: str) -> str:
    e = rq_datapath(r)
    if e.signed_bits > 64:
        raise HfnError(f"requant {r.name}", f"its bisection needs {e.signed_bits} bits",
                       "the input range times 2^frac must fit 64 bits")
    ty = rq_roms_types(r)
    ne = len(r.exceptions)
    knee = (", knees", f"    typedef {ty['knee'][0]} knee_rom_t;\n") if r.has_knees else ("", "")
    return f"""struct {ident} {{  // requant {r.name} (compact: frac {r.frac}, tie {r.tie}{knee[0]})
    static const int C = {r.channels}, ITERS = {r.iterations}, R = {r.rows};
    static const int L = {r.levels}, DEPTH = {r.levels.bit_length()}, OUT_MIN = {r.out_min};
    static const int FRAC = {r.frac}, TIE = {r.tie}, NE = {ne}, NEX = {max(ne, 1)};
    typedef hfn::wide<{e.signed_bits}>::type e_t;
    typedef {ctype(r.out.lo, r.out.hi).cpp} out_t;
    typedef {ty["base"][0]} base_rom_t;
    typedef {ty["step"][0]} step_rom_t;
    typedef uint8_t dir_rom_t;
{knee[1]}}};
"""


def rq_roms(r: Requant, ident: str) -> str:
    exc = [[k, row, x, d] for (k, row, x, d) in r.exceptions] or [[-1, -1, 0, 0]]
    return (f"// compact requant {r.name}: per [iteration][row] a base and a step "
            f"(T_j = ceil((B + j*S + tie_j) / 2^{r.frac}))\n"
            f"static const {ident}::base_rom_t BASE_{ident}[{r.iterations}][{r.rows}] = "
            f"{nested(r.base)};\n"
            f"static const {ident}::step_rom_t STEP_{ident}[{r.iterations}][{r.rows}] = "
            f"{nested(r.step)};\n"
            f"// 1 = decreasing channel: y = OUT_MIN + L - count\n"
            f"static const {ident}::dir_rom_t DIR_{ident}[{r.iterations}][{r.rows}] = "
            f"{nested(r.neg)};\n"
            f"// exceptions: {{iteration, row, x, delta}} (the count at x is delta off)\n"
            f"static const int EXC_{ident}[{len(exc)}][4] = {nested(np.asarray(exc))};\n"
            + (_knee_roms(r, ident) if r.has_knees else ""))


def _knee_roms(r: Requant, ident: str) -> str:
    kx, b2, s2 = r.knee_arrays()
    return (f"// knees: x >= KNEE counts with BASE2 / STEP2 (a row without one: KNEE = "
            f"{r.x.lo}, its own base and step)\n"
            f"static const {ident}::knee_rom_t KNEE_{ident}[{r.iterations}][{r.rows}] = "
            f"{nested(kx)};\n"
            f"static const {ident}::base_rom_t BASE2_{ident}[{r.iterations}][{r.rows}] = "
            f"{nested(b2)};\n"
            f"static const {ident}::step_rom_t STEP2_{ident}[{r.iterations}][{r.rows}] = "
            f"{nested(s2)};\n")


def _requants(fw: Firmware, p: Pass) -> list[tuple[Requant, str]]:
    """A pass's requants with their C identifiers."""
    if isinstance(p, ConvPass):
        return [(r, f"{fw.id(p)}_{s}") for s, r in zip(STAGES, (p.r1, p.rs, p.r2))
                if r is not None]
    if isinstance(p, RequantPass):
        return [(p.rq, f"{fw.id(p)}_rq")]
    if isinstance(p, AddPass) and p.r2 is not None:
        return [(p.r2, f"{fw.id(p)}_r2")]
    return []


def parameters_h(fw: Firmware) -> str:
    g = fw.graph
    headers = sorted({gen.header for gen in fw.generators.values()})
    parts = [f"""// parameters.h -- generated by hfn-hls for model {g.name!r}: configuration structs
// and ROM images (weight generators' ROMs, compact requantisation rows).
// Weights are not stored: the weight generators regenerate them on chip.
#ifndef HFN_PARAMETERS_H
#define HFN_PARAMETERS_H

#include <stdint.h>
#include "hfn.h"
""" + "".join(f'#include "{h}"\n' for h in headers) + f"""
static const int IN_H = {g.input_tensor.shape[0]}, IN_W_PX = {g.input_tensor.shape[1]};
static const int IN_C = {g.input_tensor.shape[2]}, IN_BITS = {8 * g.input_tensor.shape[2]};
static const int OUT_N = {int(np.prod(g.output_tensor.shape))};
typedef ap_axiu<IN_BITS, 0, 0, 0> in_beat_t;
"""]
    for p in fw.program.passes():
        if isinstance(p, ConvPass):
            parts.append(conv_struct(fw, p))
            parts.append(fw.generators[id(p)].config)
        elif isinstance(p, MaxPoolPass):
            w = p.window
            parts.append(f"struct {fw.id(p)}_cfg {{  // maxpool {p.name}\n"
                         f"    static const int IH = {w.ih}, IW = {w.iw}, C = {w.ci}, "
                         f"OH = {w.oh}, OW = {w.ow};\n"
                         f"    static const int K = {w.kh}, S = {w.stride}, PAD = {w.pad};\n}};\n")
        for r, ident in _requants(fw, p):
            parts.append(rq_struct(r, ident))
            parts.append(rq_roms(r, ident))
    parts.append("#endif\n")
    return "\n".join(parts)


# -- hfn_top.cpp -------------------------------------------------------------------------------

def _stage(fw: Firmware, r: Requant | None, ident: str, it: str) -> str:
    if r is None:
        return "hfn::ident()"
    if r.has_knees:
        return (f"hfn::rq_knee<{ident}>{{BASE_{ident}, STEP_{ident}, DIR_{ident}, "
                f"EXC_{ident}, KNEE_{ident}, BASE2_{ident}, STEP2_{ident}, {it}}}")
    return (f"hfn::rq<{ident}>{{BASE_{ident}, STEP_{ident}, DIR_{ident}, EXC_{ident}, "
            f"{it}}}")


def _call(fw: Firmware, p: Pass, it: str) -> str:
    out = fw.buf(p.out)
    g = fw.graph
    ident = fw.id(p)
    if isinstance(p, ConvPass):
        gen = fw.generators[id(p)]
        r1 = _stage(fw, p.r1, f"{ident}_r1", it)
        if p.add is None:
            store = f"hfn::store_to({out}, {r1})"
        else:
            store = (f"hfn::store_residual<{ident}_sum_t>({out}, {fw.buf(p.res)},\n"
                     f"            {r1},\n            {_stage(fw, p.rs, ident + '_rs', it)},\n"
                     f"            {_stage(fw, p.r2, ident + '_r2', it)})")
        if p.bias is not None:
            store = f"hfn::with_bias({store}, BIAS_{ident})"
        return (f"hfn::conv_pass<{ident}_cfg>({fw.buf(p.src)}, {gen.type}{gen.init},\n"
                f"        {store});")
    shape = g.tensors[p.out].shape
    n, c = shape[0] * shape[1], shape[2]
    if isinstance(p, RequantPass):
        return f"hfn::map<{n}, {c}>({fw.buf(p.src)}, {out}, {_stage(fw, p.rq, ident + '_rq', it)});"
    if isinstance(p, AddPass):
        s = ctype(p.sum.lo, p.sum.hi, True).cpp
        return (f"hfn::add<{n}, {c}, {s} >({fw.buf(p.a)}, {fw.buf(p.b)}, {out}, "
                f"{_stage(fw, p.r2, ident + '_r2', it)});")
    if isinstance(p, GlobalSumPass):
        x = g.tensors[p.src].shape
        s = ctype(p.sum.lo, p.sum.hi, True).cpp
        return f"hfn::global_sum<{x[0] * x[1]}, {x[2]}, {s} >({fw.buf(p.src)}, {out});"
    if isinstance(p, MaxPoolPass):
        return f"hfn::maxpool<{ident}_cfg>({fw.buf(p.src)}, {out});"
    if isinstance(p, CopyPass):
        return f"hfn::copy<{int(np.prod(shape))}>({fw.buf(p.src)}, {out});"
    raise AssertionError(type(p).__name__)


def top_cpp(fw: Firmware) -> tuple[str, str]:
    """(buffers and fold-body functions, the network body): filled into the template
    hls_templates/hfn_top.cpp.in by the writer."""
    g = fw.graph
    bufs = "\n".join(f"static {fw.buffer_type(b).cpp} {b.ident}[{b.size}];  "
                     f"// {', '.join(b.tensors)}" for b in fw.program.buffers)
    funcs: list[str] = []
    body: list[str] = []
    for item in fw.program.items:
        if not isinstance(item, Fold):
            body.append(f"    {_call(fw, item, '0')}  // {item.name}")
            continue
        ident, n = fw.id(item), item.iterations
        calls = "\n".join(f"    {_call(fw, p, 'it')}  // {p.name}" for p in item.body)
        funcs.append(f"""// fold {item.name}: ONE implementation of the block, run {n} times by the loop in
// hfn_top; `it` selects the iteration's requantisation set.  Its input, each iteration's
// output and its result share one buffer ({fw.buf(item.op.attrs['body_input'])}).
static void {ident}_body(int it) {{
#pragma HLS INLINE off
{calls}
}}
""")
        body.append(f"""    // fold {item.name}: {n} iterations of one block
{ident}_LOOP:
    for (int it = 0; it < {n}; it++) {{
#pragma HLS LOOP_TRIPCOUNT min = {n} max = {n}
        {ident}_body(it);
    }}""")
    pragmas = list(dict.fromkeys(line for gen in fw.generators.values()   # shared stores once
                                 for line in gen.pragmas))
    network = "\n".join(pragmas + [
        f"    hfn::read_image<{g.input_tensor.shape[0] * g.input_tensor.shape[1]}, IN_C>"
        f"(s_axis, {fw.buf(g.input)});"] + body + [
        f"    hfn::write_codes<OUT_N>({fw.buf(g.output)}, m_axis);"])
    return bufs + "\n\n" + "\n".join(funcs), network
