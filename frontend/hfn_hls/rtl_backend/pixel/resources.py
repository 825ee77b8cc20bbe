"""The resource model of the pixel engine and the ``--lanes auto`` / ``--target-fps`` chooser
(docs/rtl.md, "pixel engine: automatic parallelism").

LUT, FF and BRAM18 of a configuration (P pixel lanes, S streams, RS drained values per
stream and cycle) for one graph:

- logic: ``S * (LUT_P * P + LUT_S) + LUT_0`` (FF alike), the stream's lanes, terms, value
  port, drain and compact requantisation units, and the engine's fixed part (fill, routing,
  sequencer, central-buffer ports); the constants are fitted to Yosys ``synth_xilinx``
  runs of generated designs (``CALIBRATION``, checked by the tests);
- memories: every ROM / RAM of the design mapped like Yosys does: small ones into LUTs
  (64 bits per LUT), the others into RAMB18 in the aspect that needs the fewest.

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

# Yosys 0.70 synth_xilinx (xc7, pynq-z2), generated pixel designs, measured on this
# machine: (IR, configuration) -> LUT, FF, BRAM18, DSP.  The first three points ran with
# the stand-in threshold-search requant units (the constants were first fitted to them).
# The compact requant units (hfn_pl_requant.v, three per stream, independent of P)
# replaced them: the digits P16S2 point moved the per-stream constants by what it
# measured (-2 598 LUT, -2 252 FF per stream), the resnet20 P64S6 point then gives the
# per-pixel-lane terms (BRAM is under-predicted there: 174 vs 202).
CALIBRATION = {
    "digits-k0.5 P16S2R4 stand-in": {"lut": 15626, "ff": 12083, "bram": 34, "dsp": 0},
    "digits-k0.5 P16S4R4 stand-in": {"lut": 27218, "ff": 21266, "bram": 48, "dsp": 0},
    "resnet20-k0.3 P64S4R4 stand-in": {"lut": 35799, "ff": 30832, "bram": 176, "dsp": 0},
    "digits-k0.5 P16S2R4": {"lut": 10845, "ff": 8028, "bram": 24, "dsp": 0},
    "resnet20-k0.3 P64S6R4": {"lut": 36942, "ff": 32535, "bram": 202, "dsp": 0},
}
LUT_P, LUT_S, LUT_0 = 42.6, 2760.5, 4034.0    # per pixel lane per stream, per stream, fixed
FF_P, FF_S, FF_0 = 48.4, 1842.5, 2900.0
ROM_BRAM = 1 / 6          # Yosys packs the small per-stream ROMs: measured 7 BRAM18/stream
BRAM_0 = 20               # fixed BRAM18 (digits)
LUTRAM_BITS = 4096        # memories up to this size go to LUTs (Yosys' choice, measured)
MARGIN = 0.8
RQ_BITS = 32              # a compact requant row {neg, S, A} (at most; images.row_words)


def _bram18(width: int, depth: int) -> int:
    """RAMB18 (simple dual port) needed for a width x depth memory, best aspect."""
    return min(ceil(width / w) * ceil(depth / d)
               for w, d in ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)))


def _mem(width: int, depth: int, copies: int = 1) -> tuple[int, int]:
    """(BRAM18, LUT) of ``copies`` memories of width x depth."""
    if width * depth <= LUTRAM_BITS:
        return 0, copies * width * ceil(depth / 64)
    return copies * _bram18(width, depth), 0


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

    def fps(self, clock_mhz: float) -> float:
        return clock_mhz * 1e6 / self.cycles

    def to_dict(self, clock_mhz: float) -> dict:
        return {"config": str(self.cfg), "lanes": self.cfg.lanes, "cycles": self.cycles,
                "dense_ideal_cycles": self.dense_ideal_cycles,
                "frames_per_s": round(self.fps(clock_mhz), 1), "lut": self.lut,
                "ff": self.ff, "bram_18k": self.bram, "dsp": self.dsp}


def resources(a: Analysis, lite: Lite) -> dict:
    """Predicted LUT, FF, BRAM18 of the design (see the module doc)."""
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
    lb, _ = _mem(8 * xw, lbd, 3 * (P // 8))
    roms = sum(_mem(WIN, max(md[k], 1))[0] for k in range(3)) + _mem(32, max(sd, 1))[0] \
        + sum(_mem(RQ_BITS, hd[k])[0] for k in range(3) if hd[k])
    bram = S * (lb + ceil(roms * ROM_BRAM))
    # central buffers (work buffers x NCB columns) and the input buffer
    work = [b_ for b_ in a.prog.buffers if b_.role == "work"]
    g = a.graph
    sub = max([t_.shape[0] * ceil_div(t_.shape[1], 8) * t_.shape[2]
               for b_ in work for t_ in (g.tensors[n] for n in b_.tensors)] + [1])
    ec = max([b_.range.signed_bits for b_ in work] + [xw + 1])
    central, _ = _mem(8 * ec, ceil_div(sub, cfg.ncb), len(work) * cfg.ncb)
    bram += max(BRAM_0, central)
    lut = 0
    logic = S * (LUT_P * P + LUT_S) + LUT_0
    ff = S * (FF_P * P + FF_S) + FF_0
    return {"lut": int(round(logic + lut)), "ff": int(round(ff)), "bram": int(bram),
            "dsp": 0}


def estimate(a: Analysis, cfg: PixelConfig) -> Estimate:
    lite = a.lite(cfg)
    m = model_cycles(lite)
    r = resources(a, lite)
    return Estimate(cfg, m["cycles_per_inference"], m["dense_ideal_cycles"], r["lut"], r["ff"],
                    r["bram"])


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
        e = estimate(a, cfg)
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
