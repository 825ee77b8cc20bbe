"""Resource estimate of a lowered Program at a lane configuration against a board:
on-chip storage by kind, BRAM blocks, LUTs, FFs, DSPs.  It is a model, not synthesis:
constants are documented in docs/hls.md and chosen to err on the large side.  The
weight generators' part comes from their sources (``WeightSource.hls_cost``).  The
writer refuses a design that does not fit.
"""
from __future__ import annotations

from ..boards import Board, available, load_board
from ..cpp import ctype
from ..errors import HfnError
from ..ir.model import Graph
from ..lanes import Lanes
from ..lower import Program
from ..weights import get_source
from ..ir.requant import floor_bits
from .codegen import rq_datapath, rq_roms_types

BRAM_BITS = 18 * 1024
URAM_AS_BRAM = 16                  # one 288 Kbit URAM ~ 16 BRAM_18K
LUTRAM_MAX_BITS = 1024             # smaller memories go to LUTs / registers
_BRAM_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
LUT_PER_ACC_BIT = 1                # one add/sub/skip lane: ~1 LUT per accumulator bit
LUT_CONTROL = 300                  # per function instance: counters, address arithmetic
LUT_PER_RQ_BIT = 1                 # one shift-and-add bisection step per datapath bit


def bram_blocks(depth: int, width: int) -> int:
    """BRAM_18K blocks for one memory of depth x width (best aspect ratio)."""
    if depth * width <= LUTRAM_MAX_BITS:
        return 0
    return min(-(-width // w) * -(-depth // d) for d, w in _BRAM_SHAPES)


def lutram(depth: int, width: int) -> int:
    """LUTs of a memory small enough for distributed RAM (64 bits per LUT)."""
    bits = depth * width
    return -(-bits // 64) if bits <= LUTRAM_MAX_BITS else 0


def estimate(program: Program, lanes: Lanes) -> dict:
    """Storage bits by kind (exact widths and as declared in C), BRAM, LUT, FF, DSP."""
    g = program.graph
    bits = {"requant": 0, "feature_maps": 0}
    declared = dict(bits)
    bram = lut = ff = 0
    unique_weights = sum(l.size for l in g.layers.values())
    for p in program.conv_passes():
        layer = g.layers[p.layer]
        cost = get_source(layer.source).hls_cost(layer, g, lanes)
        for kind, n in cost.bits.items():
            bits[kind] = bits.get(kind, 0) + n
            declared[kind] = declared.get(kind, 0) + cost.declared.get(kind, n)
        for depth, width, copies in cost.memories:
            bram += copies * bram_blocks(depth, width)
            lut += copies * lutram(depth, width)
        banks = min(lanes.p_out, p.window.co)
        acc_bits = ctype(p.acc.lo, p.acc.hi, True).bits
        # add/sub/skip lanes and the adder into the accumulator; the generator's logic
        lut += banks * lanes.p_in * acc_bits * LUT_PER_ACC_BIT + cost.lut + LUT_CONTROL
        ff += banks * acc_bits + p.window.k * 8 + banks * lanes.p_in * 2 + cost.ff
    for name in sorted({g.layers[p.layer].source for p in program.conv_passes()}):
        for kind, n in get_source(name).shared_bits(g).items():   # shared stores, once
            bits[kind] = bits.get(kind, 0) + n
            declared[kind] = declared.get(kind, 0) + n
    for r in program.requants():
        n = r.iterations * r.rows
        ty = rq_roms_types(r)
        word = ty["base"][1] + ty["step"][1] + 8
        if r.has_knees:                              # K, a second base and step per row
            word += ty["knee"][1] + ty["base"][1] + ty["step"][1]
        bits["requant"] += r.bits
        declared["requant"] += n * word + len(r.exceptions) * 4 * 32
        bram += bram_blocks(n, word)
        ew = rq_datapath(r).signed_bits
        lut += lutram(n, word) + r.levels.bit_length() * ew * LUT_PER_RQ_BIT
        ff += ew * 2
    for b in program.buffers:
        w = ctype(b.range.lo, b.range.hi).bits
        bits["feature_maps"] += b.size * w
        declared["feature_maps"] += b.size * w
        bram += bram_blocks(b.size, w)
        lut += lutram(b.size, w)
    lut += LUT_CONTROL
    total = sum(bits.values())
    return {
        "storage_bits": bits, "storage_bits_total": total,
        "storage_bits_declared": declared,
        "floor_bits": floor_bits(g),                 # the report's floor (ir/requant.py)
        "unique_weights": unique_weights,
        "macs_per_image": program.macs,
        "bram_18k": bram, "lut": lut, "ff": ff, "dsp": 0,
    }


def usage(est: dict, board: Board) -> dict:
    """Fraction of the board's capacity per resource (BRAM counts URAM as 16 BRAM_18K)."""
    res = board.resources
    cap = {"bram_18k": res["bram_18k"] + URAM_AS_BRAM * res.get("uram", 0),
           "lut": res["lut"], "ff": res["ff"], "dsp": res["dsp"]}
    return {k: (est[k] / cap[k] if cap[k] else (0.0 if est[k] == 0 else float("inf")))
            for k in cap}


def over(est: dict, board: Board) -> list[str]:
    """Resources the design exceeds, with the numbers; empty if it fits."""
    u = usage(est, board)
    res = board.resources
    cap = {"bram_18k": res["bram_18k"] + URAM_AS_BRAM * res.get("uram", 0),
           "lut": res["lut"], "ff": res["ff"], "dsp": res["dsp"]}
    return [f"{k} {est[k]} > {cap[k]}" for k in ("bram_18k", "lut", "ff", "dsp") if u[k] > 1.0]


def check_fits(program: Program, lanes: Lanes, est: dict, board: Board) -> None:
    """HfnError with the numbers and a suggestion if the design does not fit the board."""
    bad = over(est, board)
    if not bad:
        return
    graph: Graph = program.graph
    hints = []
    at = lanes
    while lanes.total > 1:
        lanes = Lanes(max(1, lanes.p_out // 2), lanes.p_in) if lanes.p_out >= lanes.p_in \
            else Lanes(lanes.p_out, max(1, lanes.p_in // 2))
        if not over(estimate(program, lanes), board):
            hints.append(f"--lanes {lanes}")
            break
    for name in sorted(available(), key=lambda n: load_board(n).resources["lut"]):
        b = load_board(name)
        if b.name != board.name and not over(est, b):
            hints.append(f"a bigger board such as --board {name}")
            break
    fix = "use " + " or ".join(hints) if hints else "the network is too large for any " \
        "known board at these lanes"
    raise HfnError(f"board {board.name} ({board.part})",
                   f"the design for {graph.name!r} at {at} lanes does not fit: "
                   f"{', '.join(bad)} (storage {est['storage_bits_total']} bits)", fix)
