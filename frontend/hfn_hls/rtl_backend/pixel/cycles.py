"""The cycle model of the pixel engine (the one owner of its predicted cycles: ``generate``,
``--lanes auto``, the reports and the benchmark read it; docs/rtl.md, "pixel engine").

Per pass (once per fold iteration), per tile, per stream: the stream runs its units
(channel x input plane) back to back; a unit lasts

    max( max over terms kw of sum over kernel rows and windows of max(1, kept bits),
         the walker (the next unit's segment states: KH*KW - 1 leaps of CI positions),
         the drain of the previous drained unit (rows x ceil(columns / RS) + 3),
         the read of its channel's requant rows (RQ_READ cycles) )

The streams meet at a barrier per tile (``TILE_OVH`` cycles), the fill of the next tile
runs under the current one (a tile takes at least its fill), and a pass ends with the
drain of its last unit through the requantisation pipeline (``PASS_OVH`` + 2 (B + 2)).
The input planes, the tile geometry and the units come from the compiled design, so the
model and the RTL read the same schedule.  Zero-skipping shows as the sum over kept bits.
"""
from __future__ import annotations

from math import ceil

import numpy as np

from ...ints import ceil_div
from .schedule import LEAPS, PixelDesign, WIN, leap_cycles, stream_channels

TILE_OVH = 4           # barrier: the last unit's end -> tile_go -> the first unit's go
PASS_OVH = 20          # pass end: drain tail, queue, table decode, pass start
RQ_READ = 6            # a channel's requant row: request, ROM read, held, taken


def _walker(pp, ns: int) -> int:
    if pp.kh == 1:
        return 2
    return (pp.kh * pp.kh - 1) * leap_cycles(pp.ci, ns) + 2


def _fill(pp, d: PixelDesign) -> int:
    ncb = d.cfg.ncb
    nr = ceil_div(pp.sr * pp.wpri, ncb)
    per = max(nr + 1, pp.kh)
    return pp.npl * pp.ci * per + nr + pp.kh + 6


def pass_cycles(d: PixelDesign, pp, iteration: int = 0) -> dict:
    """Predicted cycles of one execution of pass ``pp``."""
    cfg, prm = d.cfg, d.params
    ns = prm["NS"]
    t = pp.tiles
    p = pp.p
    load = RQ_READ if any(r is not None for r in p.requants()) else 0
    walker = _walker(pp, ns)
    total = 0
    busiest = 0
    for tr in range(t.ntr):
        thu = min(t.th, pp.oh - tr * t.th)
        for sg in range(t.nseg):
            xv = t.lastw if sg == t.nseg - 1 else t.twd
            drain = 0 if p.acc_all and False else thu * ceil_div(xv, cfg.rs) + 3
            worst = 0
            for s in range(cfg.s):
                acc = 0
                for c in stream_channels(pp.co, s, cfg):
                    for pl in range(pp.npl):
                        u = max(int(pp.unit_cost[c]), walker)
                        if pl == pp.npl - 1:
                            u = max(u, drain, load)
                        acc += u
                worst = max(worst, acc)
            busiest += worst
            total += max(worst + TILE_OVH, _fill(pp, d))
    total += PASS_OVH + 2 * (prm["B"] + 2)        # + the two requant units' latency
    return {"cycles": total, "compute": busiest, "walker": walker, "load": load}


def model_cycles(d: PixelDesign) -> dict:
    """Predicted cycles per inference of design ``d`` and their split per pass."""
    from ...lower import Fold
    per = []
    pi = 0
    for item in d.program.items:
        if isinstance(item, Fold):
            body = d.plans[pi:pi + len(item.body)]
            pi += len(item.body)
            for k in range(item.iterations):
                for pp in body:
                    per.append((pp.p.name, pass_cycles(d, pp, k)["cycles"]))
        else:
            per.append((d.plans[pi].p.name, pass_cycles(d, d.plans[pi])["cycles"]))
            pi += 1
    total = sum(c for _, c in per)
    return {"cycles_per_inference": total, "passes": per,
            "dense_ideal_cycles": d.stats["dense_ideal_cycles"],
            "zero_skip_ratio": total / max(1, d.stats["dense_ideal_cycles"])}
