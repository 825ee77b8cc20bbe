"""Reading the vendor tools' reports into plain dicts for PRJ/reports/synth_vendor.json.

C synthesis (``<solution>/syn/report/hfn_top_csynth.xml``) is read by hls4ml's own
parser (``hls4ml.report.parse_vivado_report``), so our numbers mean what hls4ml's mean;
that parser expects an hls4ml project folder, so we give it a tiny stand-in folder of
symlinks.  Vivado's ``report_utilization`` text is read here by row name (hls4ml's
reader keys on section numbers, which differ between post-synthesis and post-route
reports, and counts BRAM tiles where we count BRAM_18K), as is the timing summary.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

from ..errors import HfnError

TOP = "hfn_top"


def _int(v) -> int | None:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None       # Vitis writes "undef" for data-dependent latencies


def parse_csynth(xml_path: Path) -> dict:
    """Latency, interval, clock and resources of the C-synthesis report, via hls4ml."""
    from hls4ml.report import parse_vivado_report

    solution = xml_path.resolve().parents[2]          # <solution>/syn/report/<x>.xml
    with tempfile.TemporaryDirectory(prefix="hfn_hls4ml_") as tmp:
        t = Path(tmp)
        (t / "project.tcl").write_text(f'set project_name "{TOP}"\nset backend "vitis"\n')
        (t / f"{TOP}_prj").mkdir()
        (t / f"{TOP}_prj" / "hls.app").write_text(
            '<project><solutions><solution name="sol"/></solutions></project>\n')
        os.symlink(solution, t / f"{TOP}_prj" / "sol")
        with contextlib.redirect_stdout(io.StringIO()):
            rep = parse_vivado_report(str(t))
    c = (rep or {}).get("CSynthesisReport")
    if not c:
        raise HfnError(str(xml_path), "hls4ml could not read this C-synthesis report",
                       "check that Vitis HLS finished csynth_design")
    out = {
        "target_clock_ns": float(c["TargetClockPeriod"]),
        "estimated_clock_ns": float(c["EstimatedClockPeriod"]),
        "latency_best": _int(c["BestLatency"]),
        "latency_worst": _int(c["WorstLatency"]),
        "interval_min": _int(c["IntervalMin"]),
        "interval_max": _int(c["IntervalMax"]),
    }
    for key, tag in (("lut", "LUT"), ("ff", "FF"), ("bram_18k", "BRAM_18K"), ("dsp", "DSP"),
                     ("uram", "URAM")):
        out[key] = _int(c.get(tag))
        out["available_" + key] = _int(c.get("Available" + tag))
    return out


_ROWS = {"slice luts": "lut", "clb luts": "lut", "slice registers": "ff",
         "clb registers": "ff", "block ram tile": "bram_tile", "uram": "uram", "dsps": "dsp"}


def parse_utilization(text: str, where: str = "utilization report") -> dict:
    """Used and available LUT, FF, BRAM_18K (2 per RAMB36 tile), URAM, DSP."""
    used: dict[str, float] = {}
    avail: dict[str, float] = {}
    cols: dict[str, int] | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("|"):
            if s.startswith("+"):
                continue
            cols = None if s else cols
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if "Site Type" in cells:
            cols = {c: i for i, c in enumerate(cells)}
            continue
        if cols is None or "Used" not in cols:
            continue
        key = _ROWS.get(cells[0].rstrip("*").strip().lower())
        if key is None or key in used:
            continue
        used[key] = float(cells[cols["Used"]])
        if "Available" in cols:
            avail[key] = float(cells[cols["Available"]])
    missing = [k for k in ("lut", "ff", "bram_tile", "dsp") if k not in used]
    if missing:
        raise HfnError(where, f"no {', '.join(missing)} rows found",
                       "give a Vivado report_utilization text report")
    out = {}
    for key, src, mul in (("lut", "lut", 1), ("ff", "ff", 1), ("bram_18k", "bram_tile", 2),
                          ("uram", "uram", 1), ("dsp", "dsp", 1)):
        if src in used:
            out[key] = int(round(used[src] * mul))
            if src in avail:
                out["available_" + key] = int(round(avail[src] * mul))
    return out


def parse_timing_summary(text: str, where: str = "timing summary") -> dict:
    """Worst negative / hold slack from ``report_timing_summary``; met = both >= 0."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "WNS(ns)" in line and "TNS(ns)" in line:
            # values line: WNS TNS TNS-failing TNS-total WHS THS ... (as hls4ml reads it)
            vals = lines[i + 2].split()
            wns, whs = float(vals[0]), float(vals[4])
            return {"wns_ns": wns, "whs_ns": whs, "timing_met": wns >= 0 and whs >= 0}
    raise HfnError(where, "no Design Timing Summary table", "give report_timing_summary output")
