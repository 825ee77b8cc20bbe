"""The demo's summary: one terminal table, two PNG plots and an HTML page, all from the
JSON reports of one run (train, memory, hls, csim, sim, synth).

Every number shown comes from those dicts or is computed from them here (ratios,
frames/s, utilisation).  Each value cell carries ``data-key`` and the exact
``data-value`` so tests parse the page back and compare it with the reports.  A missing
report is shown as "not run" — never as a number.
"""
from __future__ import annotations

import html
from pathlib import Path

from .errors import HfnError

NOT_RUN = "not run"
FILES = {"html": "report.html", "storage_png": "storage_per_layer.png",
         "cycles_png": "cycles_per_layer.png"}
MEM_KEYS = ("unique_weights", "generated_bits", "stored_bits", "mask_bits", "requant_bits",
            "dense_fp32_bits", "dense_int8_bits")
# the golden model's accuracy on the test split, in the "train" report (train_report)
GOLDEN_ACCURACY = "golden_accuracy"
RESOURCES = (("lut", "LUT", "lut"), ("ff", "FF", "ff"), ("bram", "BRAM_18K", "bram_18k"),
             ("dsp", "DSP", "dsp"))


# -- numbers -------------------------------------------------------------------------------
def _row(key: str, label: str, value, display: str | None = None, section: str = "") -> dict:
    if value is None:
        display = display or NOT_RUN
    elif display is None:
        display = _fmt(value)
    return {"key": key, "label": label, "value": value, "display": display,
            "section": section}


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.4g}"


def memory_totals(mem: dict | None) -> dict | None:
    """The memory report's totals; a key missing from ``totals`` is the sum of layers."""
    if not mem:
        return None
    tot = dict(mem.get("totals") or {})
    for k in MEM_KEYS:
        if k not in tot and mem.get("layers") and all(k in layer for layer in mem["layers"]):
            tot[k] = sum(int(layer[k]) for layer in mem["layers"])
    if "lfsr_state_bits" not in tot and mem.get("layers") and \
            all("lfsr_state_bits" in layer for layer in mem["layers"]):
        tot["lfsr_state_bits"] = sum(int(layer["lfsr_state_bits"]) for layer in mem["layers"])
    if "on_chip_bits" not in tot and "mask_bits" in tot and "requant_bits" in tot:
        # what `hfn-hls report` counts on chip: mask + LFSR start states + stored weights
        # + requantisation
        tot["on_chip_bits"] = tot["mask_bits"] + tot.get("lfsr_state_bits", 0) + \
            tot.get("stored_bits", 0) + tot["requant_bits"]
    return tot


def train_report(metrics: dict, golden_accuracy: float | None) -> dict:
    """The demo's "train" report: the training metrics and the golden model's accuracy
    under the key ``summary_rows`` reads (the one owner of that name)."""
    return {**metrics, GOLDEN_ACCURACY: golden_accuracy}


def _clock_mhz(reports: dict):
    for src in (reports.get("board"), reports.get("synth")):
        if src and src.get("clock_mhz"):
            return src["clock_mhz"]
    return None


def _resources(reports: dict) -> dict | None:
    for src in (reports.get("board"), reports.get("synth")):
        if src and src.get("resources"):
            return src["resources"]
    return None


def summary_rows(reports: dict) -> list[dict]:
    """The summary table: accuracy, storage, correctness, speed, resources."""
    rows: list[dict] = []
    tr = reports.get("train")
    rows.append(_row("train.test_accuracy", "accuracy (test set)",
                     tr.get("test_accuracy") if tr else None, section="accuracy"))
    if tr and tr.get(GOLDEN_ACCURACY) is not None:
        rows.append(_row(f"train.{GOLDEN_ACCURACY}", "accuracy (golden model)",
                         tr[GOLDEN_ACCURACY], section="accuracy"))

    tot = memory_totals(reports.get("memory"))
    on = tot.get("on_chip_bits") if tot else None
    rows.append(_row("memory.on_chip_bits", "on-chip model storage, bits "
                     "(mask + LFSR start states + stored weights + requant)", on,
                     section="storage"))
    parts = (("mask_bits", "  supermask bits"), ("lfsr_state_bits", "  LFSR start-state bits"),
             ("stored_bits", "  stored weight bits"), ("requant_bits", "  requant bits"))
    for k, label in parts:
        if k in ("lfsr_state_bits", "stored_bits") and not (tot and k in tot):
            continue                     # older memory reports did not count them
        rows.append(_row(f"memory.{k}", label, tot.get(k) if tot else None, section="storage"))
    for k, label in (("dense_fp32_bits", "dense fp32 weights, bits"),
                     ("dense_int8_bits", "dense int8 weights, bits")):
        v = tot.get(k) if tot else None
        rows.append(_row(f"memory.{k}", label, v, section="storage"))
        if v is not None and on:
            rows.append(_row(f"ratio.{k}", f"  {k.split('_')[1]} / on-chip", v / on,
                             f"{v / on:.1f}x", section="storage"))
    hls = reports.get("hls")
    for k, label in (("storage_bits", "HLS project storage, bits"),
                     ("hls4ml_bits", "hls4ml stored weights, bits")):
        rows.append(_row(f"hls.{k}", label, hls.get(k) if hls else None, section="storage"))
    if hls and hls.get("hls4ml_bits") is not None and on:
        r = hls["hls4ml_bits"] / on
        rows.append(_row("ratio.hls4ml_bits", "  hls4ml / on-chip", r, f"{r:.1f}x",
                         section="storage"))

    for sec, label in (("csim", "C simulation"), ("sim", "RTL simulation")):
        rep = reports.get(sec)
        for k in ("vectors", "mismatches"):
            rows.append(_row(f"{sec}.{k}", f"{label}: {k}", rep.get(k) if rep else None,
                             section="correctness"))

    sim = reports.get("sim")
    cyc = sim.get("cycles_per_inference") if sim else None
    rows.append(_row("sim.cycles_per_inference", "cycles per inference", cyc, section="speed"))
    mhz = _clock_mhz(reports)
    rows.append(_row("board.clock_mhz", "board clock, MHz", mhz, section="speed"))
    fps = mhz * 1e6 / cyc if (cyc and mhz) else None
    rows.append(_row("perf.frames_per_s", "frames/s at the board clock", fps,
                     None if fps is None else f"{fps:,.1f}", section="speed"))

    syn = reports.get("synth")
    res = _resources(reports) or {}
    for k, label, rk in RESOURCES:
        v = None
        if syn:
            v = syn.get(k, syn.get("bram_18k") if k == "bram" else None)
        avail = res.get(rk)
        disp = None
        if v is not None and avail:
            disp = f"{v:,} / {avail:,} ({100 * v / avail:.1f} %)"
        rows.append(_row(f"synth.{k}", label, v, disp, section="resources"))
        if v is not None and avail:
            rows.append(_row(f"board.{rk}", f"  {label} on the board", avail,
                             section="resources"))
    rows.append(_row("synth.fits", "fits the board", syn.get("fits") if syn else None,
                     section="resources"))
    return rows


def format_summary_table(reports: dict) -> str:
    """The summary as aligned text for the terminal."""
    rows = summary_rows(reports)
    w = max(len(r["label"]) for r in rows)
    out, sec = [], None
    for r in rows:
        if r["section"] != sec:
            sec = r["section"]
            out.append(f"-- {sec} " + "-" * max(0, w - len(sec) - 2))
        out.append(f"{r['label'].ljust(w)}  {r['display']}")
    return "\n".join(out)


# -- plots ---------------------------------------------------------------------------------
def _figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})   # no version string: stable
    plt.close(fig)


def plot_storage(mem: dict | None, path: Path) -> None:
    """Per layer: on-chip bits (generated weights: mask + LFSR states; stored weights;
    requant) against dense int8 and fp32 (log scale)."""
    plt = _figure()
    layers = (mem or {}).get("layers") or []
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(layers) + 2), 4))
    if layers:
        import numpy as np
        x = np.arange(len(layers))
        gen = [int(l.get("generated_bits", l["mask_bits"])) for l in layers]
        sto = [int(l.get("stored_bits", 0)) for l in layers]
        rq = [int(l["requant_bits"]) for l in layers]
        ax.bar(x - 0.27, gen, 0.27, label="on chip: generated weights (mask + LFSR)")
        ax.bar(x - 0.27, sto, 0.27, bottom=gen, label="on chip: stored weights")
        ax.bar(x - 0.27, rq, 0.27, bottom=[a + b for a, b in zip(gen, sto)],
               label="on chip: requant")
        ax.bar(x, [int(l["dense_int8_bits"]) for l in layers], 0.27, label="dense int8")
        ax.bar(x + 0.27, [int(l["dense_fp32_bits"]) for l in layers], 0.27, label="dense fp32")
        ax.set_xticks(x, [l["name"] for l in layers], rotation=60, ha="right", fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("bits")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "storage per layer: not run (no memory report)", ha="center")
        ax.set_axis_off()
    ax.set_title("model storage per layer")
    _save(plt, fig, path)


def plot_cycles(sim: dict | None, path: Path) -> None:
    """Per layer: simulated cycles against the ideal (MACs / lanes)."""
    plt = _figure()
    layers = (sim or {}).get("layers") or []
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(layers) + 2), 4))
    if layers:
        import numpy as np
        x = np.arange(len(layers))
        ax.bar(x - 0.2, [int(l["cycles"]) for l in layers], 0.4,
               label=sim.get("layers_source", "simulated"))
        ax.bar(x + 0.2, [int(l["ideal_cycles"]) for l in layers], 0.4, label="ideal (MACs/lanes)")
        ax.set_xticks(x, [l["name"] for l in layers], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("cycles per inference")
        ax.legend(fontsize=8)
    else:
        why = "no RTL simulation report" if not sim else "the simulation reported no per-layer cycles"
        ax.text(0.5, 0.5, f"cycles per layer: not run ({why})", ha="center")
        ax.set_axis_off()
    total = (sim or {}).get("cycles_per_inference")
    ax.set_title("cycles per layer" + (f" (measured in RTL simulation: {total:,.0f} cycles "
                                         "per inference)" if total else ""), fontsize=9)
    _save(plt, fig, path)


# -- HTML ----------------------------------------------------------------------------------
def _value_attr(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(int(v))


def _td(key: str, value, display: str | None = None) -> str:
    cls = ' class="not-run"' if value is None else ""
    disp = display if display is not None else (NOT_RUN if value is None else _fmt(value))
    return (f'<td data-key="{html.escape(key)}" data-value="{_value_attr(value)}"{cls}>'
            f"{html.escape(disp)}</td>")


def render_html(reports: dict, rows: list[dict]) -> str:
    title = html.escape(str((reports.get("meta") or {}).get("title", "hfn-hls demo report")))
    P = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         f"<title>{title}</title>",
         "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
         "th{text-align:left}.not-run{color:#999}</style></head><body>",
         f"<h1>{title}</h1>", "<h2>Summary</h2>", '<table id="summary">']
    for r in rows:
        P.append(f"<tr><th>{html.escape(r['label'])}</th>"
                 f"{_td(r['key'], r['value'], r['display'])}</tr>")
    P.append("</table>")

    P += ["<h2>Storage per layer</h2>",
          f'<img src="{FILES["storage_png"]}" alt="storage per layer">']
    mem = reports.get("memory") or {}
    if mem.get("layers"):
        P.append('<table id="memory-layers"><tr><th>layer</th>'
                 + "".join(f"<th>{k}</th>" for k in MEM_KEYS) + "</tr>")
        for i, l in enumerate(mem["layers"]):
            P.append(f"<tr><th>{html.escape(str(l['name']))}</th>"
                     + "".join(_td(f"memory.layers.{i}.{k}", l.get(k)) for k in MEM_KEYS)
                     + "</tr>")
        P.append("</table>")
    else:
        P.append(f'<p class="not-run">per-layer storage: {NOT_RUN}</p>')

    P += ["<h2>Cycles per layer</h2>",
          f'<img src="{FILES["cycles_png"]}" alt="cycles per layer">']
    sim = reports.get("sim") or {}
    if sim.get("layers"):
        P.append('<table id="sim-layers"><tr><th>layer</th><th>cycles</th>'
                 "<th>ideal cycles</th></tr>")
        for i, l in enumerate(sim["layers"]):
            P.append(f"<tr><th>{html.escape(str(l['name']))}</th>"
                     + _td(f"sim.layers.{i}.cycles", l.get("cycles"))
                     + _td(f"sim.layers.{i}.ideal_cycles", l.get("ideal_cycles")) + "</tr>")
        P.append("</table>")
    else:
        P.append(f'<p class="not-run">per-layer cycles: {NOT_RUN}</p>')
    P += ["</body></html>", ""]
    return "\n".join(P)


def write_report(out_dir: Path, reports: dict, force: bool = False) -> dict:
    """Write report.html and the two PNGs into ``out_dir``; return the summary rows and
    the written files.  Existing files are kept unless ``force``."""
    out_dir = Path(out_dir)
    paths = {k: out_dir / v for k, v in FILES.items()}
    old = [p for p in paths.values() if p.exists()]
    if old and not force:
        raise HfnError(str(old[0]), "exists", "use --force or another output folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = summary_rows(reports)
    plot_storage(reports.get("memory"), paths["storage_png"])
    plot_cycles(reports.get("sim"), paths["cycles_png"])
    paths["html"].write_text(render_html(reports, rows))
    return {"rows": rows, "files": {k: str(p) for k, p in paths.items()}}


def read_values(html_path: Path) -> dict[str, str]:
    """``data-key -> data-value`` of every value cell of a written report.html."""
    from html.parser import HTMLParser

    class _Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.values: dict[str, str] = {}

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if "data-key" in a:
                self.values[a["data-key"]] = a.get("data-value") or ""

    p = _Cells()
    p.feed(Path(html_path).read_text())
    return p.values


def check_html_against(html_path: Path, reports: dict) -> list[str]:
    """Differences between the page's numbers and the rows computed from ``reports``."""
    shown = read_values(html_path)
    problems = []
    for row in summary_rows(reports):
        want = _value_attr(row["value"])
        if shown.get(row["key"]) != want:
            problems.append(f"{row['key']}: page {shown.get(row['key'])!r}, reports {want!r}")
    return problems
