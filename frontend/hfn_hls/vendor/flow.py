"""``hfn-hls synth PRJ/`` without ``--open``: Vitis HLS -> Vivado (Zynq) or v++ (Alveo).

Order matters: read the project (``hfn_hls.project.load``), plan every command
(``project.toolflow.synth_steps``: the one place that decides the command lines, the
switches, the flow target and the IP's name), check that every tool exists
(``tools.require``) and that no earlier output would be overwritten — all before the
first file is written.  Then write the scripts, run the tools, check each export where
``toolflow`` says it lands, parse the reports and write PRJ/reports/synth_vendor.json
last, so a report only exists for a finished run.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..boards import Board
from ..errors import HfnError
from ..ir.model import Graph
from ..project import load as load_prj
from ..project import toolflow
from ..project.toolflow import Target
from . import alveo, reports, vivado_bd
from .tools import Step, require

REPORT = "reports/synth_vendor.json"


@dataclass
class Project:
    dir: Path
    meta: dict
    board: Board
    graph: Graph
    target: Target

    @property
    def work(self) -> str:
        """Our script/log folder inside the project."""
        return self.target.work


def load_project(prj_dir: Path) -> Project:
    """The project as ``hfn-hls generate`` wrote it: project.json (checked, with the board
    it was generated for), ir.json and build_prj.tcl."""
    prj = load_prj(prj_dir)
    info = prj.info
    t = toolflow.target(info.board)
    if (info.vendor.flow_target, info.vendor.export_format, info.vendor.export) != \
            (t.flow_target, t.export_format, t.export):
        raise HfnError(str(prj_dir / "project.json"),
                       f"written for flow target {info.vendor.flow_target} / "
                       f"{info.vendor.export_format}, this hfn-hls uses {t.flow_target} / "
                       f"{t.export_format}", "regenerate the project with hfn-hls generate")
    for f in ("ir.json", toolflow.SCRIPT):
        if not (prj_dir / f).is_file():
            raise HfnError(str(prj_dir / f), "missing", "regenerate with `hfn-hls generate`")
    try:
        graph = Graph.load(prj_dir / "ir.json")
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise HfnError(str(prj_dir / "ir.json"), f"not a valid IR ({e})",
                       "regenerate the project") from None
    return Project(Path(prj_dir), info.to_dict(), info.board, graph, t)


def plan(p: Project) -> list[Step]:
    """Every vendor command of the flow, in order, with the tools that can run it."""
    return toolflow.synth_steps(p.board, p.dir)


def scripts(p: Project) -> dict[str, str]:
    """The files this flow writes before running anything (path relative to PRJ -> text)."""
    t = p.graph.input_tensor
    if p.board.flow == "zynq":
        return {f"{p.work}/{vivado_bd.SCRIPT}": vivado_bd.bd_tcl(p.board, t.shape[2],
                                                                  p.graph.name)}
    classes = p.graph.output_tensor.shape[2]
    return {f"{p.work}/link.cfg": alveo.link_cfg(p.board),
            f"{p.work}/{alveo.MM2S}.cpp": alveo.mm2s_cpp(*t.shape),
            f"{p.work}/{alveo.S2MM}.cpp": alveo.s2mm_cpp(classes)}


def run_vendor_synth(prj_dir: Path, args) -> int:
    """Entry point for ``hfn-hls synth PRJ/`` (vendor); returns the exit code."""
    prj_dir = Path(prj_dir)
    p = load_project(prj_dir)
    steps = plan(p)
    tools = require(steps, str(prj_dir))
    outs = [p.work, "vendor_out", REPORT, p.target.solution_dir]
    existing = [o for o in outs if (prj_dir / o).exists()]
    if existing and not getattr(args, "force", False):
        raise HfnError(str(prj_dir / existing[0]), "exists from an earlier vendor run",
                       "use --force to replace it")
    for o in existing:
        q = prj_dir / o
        shutil.rmtree(q) if q.is_dir() else q.unlink()
    for rel, text in scripts(p).items():
        (prj_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (prj_dir / rel).write_text(text)
    (prj_dir / "vendor_out").mkdir()

    _run(steps[0], tools[steps[0].what], prj_dir)
    if p.board.flow == "zynq":
        check_exported_ip(prj_dir, p.target)
    else:
        check_exported_xo(prj_dir, p.target)
    for s in steps[1:]:
        _run(s, tools[s.what], prj_dir)
    shutil.copyfile(prj_dir / "ir.json", prj_dir / "vendor_out" / "ir.json")
    rep = collect_report(p, tools)
    from ..atomic import write_file
    write_file(prj_dir / REPORT, json.dumps(rep, indent=1, sort_keys=True) + "\n")
    if getattr(args, "json", False):
        print(json.dumps(rep, indent=1, sort_keys=True))
    else:
        print(summary_line(rep))
    return 0


def _run(s: Step, tool: str, prj_dir: Path) -> None:
    log = prj_dir / s.log
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"[{s.what}] {s.shell(tool)}", flush=True)
    with open(log, "w") as f:
        r = subprocess.run(s.argv(tool), cwd=prj_dir, stdout=f, stderr=subprocess.STDOUT,
                           env={**os.environ, **s.env})
    if r.returncode != 0:
        raise HfnError(f"{tool} ({s.what})", f"failed with exit code {r.returncode}",
                       f"see {log}")


def check_exported_ip(prj_dir: Path, t: Target) -> str:
    """The IP folder Vitis HLS exported (``toolflow``'s path), after checking that its
    VLNV is the one the block design instantiates."""
    comp = prj_dir / t.export / "component.xml"
    if not comp.is_file():
        raise HfnError(str(comp), "Vitis HLS exported no IP there",
                       f"build_prj.tcl must run export_design -format ip_catalog when "
                       f"export=1 (see {t.work}/hls.log)")
    vlnv = component_vlnv(comp)
    if vlnv != vivado_bd.HFN_VLNV:
        raise HfnError(str(comp), f"IP is {vlnv}, the block design expects "
                                  f"{vivado_bd.HFN_VLNV}",
                       "regenerate the project: build_prj.tcl exports that VLNV")
    return t.export


def component_vlnv(path: Path) -> str:
    """vendor:library:name:version of an IP-XACT component.xml (namespace-agnostic)."""
    root = ET.parse(path).getroot()
    val = {}
    for child in root:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag in ("vendor", "library", "name", "version"):
            val[tag] = (child.text or "").strip()
    return ":".join(val.get(k, "?") for k in ("vendor", "library", "name", "version"))


def check_exported_xo(prj_dir: Path, t: Target) -> str:
    xo = prj_dir / t.export
    if not xo.is_file():
        raise HfnError(str(xo), "Vitis HLS exported no kernel object there",
                       f"build_prj.tcl must use -flow_target {t.flow_target} and "
                       f"export_design -format xo -output {t.export} when export=1 "
                       f"(see {t.work}/hls.log)")
    return t.export


def collect_report(p: Project, tools: dict[str, str]) -> dict:
    """Everything the vendor tools told us, plus the board's capacity and ``fits``."""
    d, b = p.dir, p.board
    rep: dict = {"flow": b.flow, "board": b.name, "part": b.part, "clock_mhz": b.clock_mhz,
                 "resources": dict(b.resources), "tools": dict(sorted(tools.items())),
                 "csynth": None, "implementation": None, "timing": None}
    xml = d / p.target.csynth_report
    if not xml.is_file():
        raise HfnError(str(xml), "no C-synthesis report after the Vitis HLS run",
                       f"see {d / p.work / 'hls.log'}")
    rep["csynth"] = reports.parse_csynth(xml)
    if b.flow == "zynq":
        out = d / "vendor_out"
        total = out / "utilization.rpt"
        core = out / "utilization_hfn.rpt"
        timing = out / "timing_summary.rpt"
        rep["outputs"] = {"bitstream": f"vendor_out/{vivado_bd.BIT}",
                          "hwh": f"vendor_out/{vivado_bd.HWH}", "ir": "vendor_out/ir.json"}
        for f in (total, core, out / vivado_bd.BIT, out / vivado_bd.HWH):
            if not f.is_file():
                raise HfnError(str(f), "missing after the Vivado run",
                               f"see {d / p.work / 'vivado.log'}")
    else:
        found = sorted((d / p.work).glob("**/*util*routed*.rpt"))
        total, core = (found[0] if found else None), None
        tim = sorted((d / p.work).glob("**/*timing_summary*routed*.rpt"))
        timing = tim[0] if tim else None
        rep["outputs"] = {"xclbin": f"vendor_out/{alveo.XCLBIN}", "ir": "vendor_out/ir.json"}
    impl = {}
    if total is not None:
        impl["design"] = reports.parse_utilization(total.read_text(), str(total))
    if core is not None:
        impl["hfn_top"] = reports.parse_utilization(core.read_text(), str(core))
    rep["implementation"] = impl or None
    if timing is not None and timing.is_file():
        rep["timing"] = reports.parse_timing_summary(timing.read_text(), str(timing))
    src, used = _headline(rep)
    rep["source"] = src
    rep.update(used)
    whole = impl.get("design") or used
    rep["fits"] = (all(whole.get(k) is not None and whole[k] <= b.resources[r]
                       for k, r in (("lut", "lut"), ("ff", "ff"), ("bram_18k", "bram_18k"),
                                    ("dsp", "dsp")))
                   if whole else None)
    return rep


def _headline(rep: dict) -> tuple[str, dict]:
    """The core's LUT/FF/BRAM/DSP: post-route for the hfn_top cell when we have it."""
    impl = rep["implementation"] or {}
    for key, src in (("hfn_top", "vivado post-route, hfn_top cell"),
                     ("design", "post-route, whole design")):
        if key in impl:
            u = impl[key]
            break
    else:
        if not rep["csynth"]:
            return "none", {k: None for k in ("lut", "ff", "bram", "bram_18k", "dsp")}
        u, src = rep["csynth"], "Vitis HLS C-synthesis estimate"
    return src, {"lut": u.get("lut"), "ff": u.get("ff"), "bram_18k": u.get("bram_18k"),
                 "bram": u.get("bram_18k"), "dsp": u.get("dsp")}


def summary_line(rep: dict) -> str:
    r = rep["resources"]
    parts = [f"{k.upper()} {rep[k]}/{r[rk]}" for k, rk in
             (("lut", "lut"), ("ff", "ff"), ("bram_18k", "bram_18k"), ("dsp", "dsp"))
             if rep.get(k) is not None]
    cs = rep.get("csynth") or {}
    lat = f", latency {cs['latency_worst']} cycles" if cs.get("latency_worst") else ""
    return (f"vendor synth {rep['board']} ({rep['source']}): " + ", ".join(parts)
            + f"{lat}, fits: {rep['fits']}; outputs in vendor_out/, report {REPORT}")
