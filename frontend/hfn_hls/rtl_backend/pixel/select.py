"""``--lanes`` / ``--target-fps`` of ``hfn-hls generate``: which RTL engine and parallelism
(the one place that decides it; docs/rtl.md).

- ``auto`` (the default): the pixel engine at the configuration the resource model picks
  for the board (``resources.choose``); a graph the pixel engine refuses (a layer kind or
  weight source it does not run) falls back to the channel engine at ``lanes.DEFAULT``,
  and the reason is returned for the user;
- ``P64S4`` / ``P64S4R4``: the pixel engine at that configuration;
- ``N`` / ``PxQ``: the channel engine (``rtl/hfn_engine.v``) as before.

The HLS C++ keeps its own P_OUT x P_IN loop (``lanes.DEFAULT`` for the pixel engine).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import HfnError
from ...lanes import DEFAULT, Lanes, parse_lanes
from .config import PixelConfig, parse_pixel

AUTO = "auto"


@dataclass
class Choice:
    hls: Lanes                      # the HLS C++ lanes
    rtl: object                     # Lanes (channel engine) or PixelConfig (pixel engine)
    estimate: object = None         # resources.Estimate of an automatic choice
    note: str = ""                  # why auto fell back to the channel engine


def select(text: str, graph, board, target_fps: float | None = None) -> Choice:
    text = (text or AUTO).strip().lower()
    if target_fps is not None and text != AUTO:
        raise HfnError(f"--target-fps {target_fps:g}", "only with --lanes auto",
                       "drop --lanes (auto is the default) or drop --target-fps")
    if target_fps is not None and target_fps <= 0:
        raise HfnError(f"--target-fps {target_fps:g}", "must be positive", "give frames/s > 0")
    if text == AUTO:
        from .resources import choose
        try:
            est, _ = choose(graph, board, target_fps)
        except HfnError as e:
            if target_fps is not None and "target-fps" in str(e):
                raise
            lanes = parse_lanes(DEFAULT)
            return Choice(lanes, lanes, None, f"channel engine {lanes} ({e})")
        return Choice(parse_lanes(DEFAULT), est.cfg, est)
    pix = parse_pixel(text)
    if pix is not None:
        return Choice(parse_lanes(DEFAULT), pix)
    lanes = parse_lanes(text)
    return Choice(lanes, lanes)


def describe(c: Choice, clock_mhz: float) -> list[str]:
    """Lines for the user: the choice, the predicted resources and frames/s."""
    if isinstance(c.rtl, PixelConfig):
        out = [f"  RTL engine: pixel {c.rtl} ({c.rtl.lanes} MAC lanes)"
               + (", chosen by --lanes auto" if c.estimate is not None else "")]
        if c.estimate is not None:
            e = c.estimate
            out.append(f"  predicted: {e.cycles} cycles per inference "
                       f"({e.fps(clock_mhz):.0f} frames/s at {clock_mhz:g} MHz, "
                       f"{e.cycles / max(1, e.dense_ideal_cycles):.2f}x the dense ideal), "
                       f"LUT {e.lut}, FF {e.ff}, BRAM_18K {e.bram}, DSP 0")
        return out
    line = f"  RTL engine: channel {c.rtl}"
    if c.note:
        line += f" (--lanes auto fell back: {c.note})"
    return [line]
