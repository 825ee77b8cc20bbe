"""``hfn-hls synth PRJ/`` without ``--open``: Vitis HLS -> Vivado (Zynq) or v++ (Alveo).

Order matters: read the project, plan every command, check that every tool exists
(``tools.require``) and that no earlier output would be overwritten — all before the
first file is written.  Then write the scripts, run the tools, parse their reports and
write PRJ/reports/synth_vendor.json last, so a report only exists for a finished run.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..boards import Board, load_board
from ..errors import HfnError
from ..ir.model import Graph
from . import alveo, reports, vivado_bd
from .tools import HLS_TOOLS, VIVADO, VPP, Step, require

HLS_SWITCHES = ["csim=0", "csynth=1", "cosim=0", "export=1"]
IP_PLACEHOLDER = "<exported-ip-folder>"
XO_PLACEHOLDER = "<exported-hfn_top.xo>"
REPORT = "reports/synth_vendor.json"


@dataclass
class Project:
    dir: Path
    meta: dict
    board: Board
    graph: Graph

    @property
    def work(self) -> str:
        """Our script/log folder inside the project."""
        return "vivado" if self.board.flow == "zynq" else "alveo"


def load_project(prj_dir: Path) -> Project:
    """PRJ/project.json, its board and PRJ/ir.json, as ``hfn-hls generate`` wrote them."""
    pj = prj_dir / "project.json"
    if not pj.is_file():
        raise HfnError(str(prj_dir), "not a project folder (no project.json)",
                       "create it with `hfn-hls generate MODEL -o PRJ`")
    try:
        meta = json.loads(pj.read_text())
    except json.JSONDecodeError as e:
        raise HfnError(str(pj), f"not valid JSON ({e})", "regenerate the project") from None
    if "board" not in meta:
        raise HfnError(str(pj), "has no \"board\"", "regenerate the project")
    board = load_board(meta["board"])
    if meta.get("part") and meta["part"] != board.part:
        raise HfnError(str(pj), f"part {meta['part']} differs from board {board.name}'s "
                                f"{board.part}", "regenerate the project for this board")
    for f in ("ir.json", "build_prj.tcl"):
        if not (prj_dir / f).is_file():
            raise HfnError(str(prj_dir / f), "missing", "regenerate with `hfn-hls generate`")
    try:
        graph = Graph.load(prj_dir / "ir.json")
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise HfnError(str(prj_dir / "ir.json"), f"not a valid IR ({e})",
                       "regenerate the project") from None
    return Project(prj_dir, meta, board, graph)


def plan(p: Project) -> list[Step]:
    """Every vendor command of the flow, in order, with the tools that can run it."""
    d, w = p.dir, p.work
    hls = Step("C synthesis + IP export", HLS_TOOLS, [], d, f"{w}/hls.log",
               by_tool={"vitis-run": ["--mode", "hls", "--tcl", "build_prj.tcl", *HLS_SWITCHES],
                        "vitis_hls": ["-f", "build_prj.tcl", *HLS_SWITCHES]})
    if p.board.flow == "zynq":
        return [hls, Step("Vivado block design -> bitstream", VIVADO,
                          ["-mode", "batch", "-nojournal", "-log", f"{w}/vivado.log",
                           "-source", f"{w}/build_bd.tcl", "-tclargs", IP_PLACEHOLDER],
                          d, f"{w}/vivado.stdout.log")]
    if p.board.flow == "alveo":
        return [hls] + [Step(f"v++ compile {k}", VPP, alveo.compile_args(p.board, k), d,
                             f"{w}/{k}.log") for k in (alveo.MM2S, alveo.S2MM)] + \
            [Step("v++ link -> xclbin", VPP, alveo.link_args(p.board, XO_PLACEHOLDER), d,
                  f"{w}/link.log")]
    raise HfnError(f"board {p.board.name}", f"unknown flow {p.board.flow!r}",
                   "use flow zynq or alveo in the board file")


def scripts(p: Project) -> dict[str, str]:
    """The files this flow writes before running anything (path relative to PRJ -> text)."""
    t = p.graph.input_tensor
    if p.board.flow == "zynq":
        return {"vivado/build_bd.tcl": vivado_bd.bd_tcl(p.board, t.shape[2], p.graph.name)}
    classes = p.graph.output_tensor.shape[2]
    return {"alveo/link.cfg": alveo.link_cfg(p.board),
            f"alveo/{alveo.MM2S}.cpp": alveo.mm2s_cpp(*t.shape),
            f"alveo/{alveo.S2MM}.cpp": alveo.s2mm_cpp(classes)}


def run_vendor_synth(prj_dir: Path, args) -> int:
    """Entry point for ``hfn-hls synth PRJ/`` (vendor); returns the exit code."""
    prj_dir = Path(prj_dir)
    p = load_project(prj_dir)
    steps = plan(p)
    tools = require(steps, str(prj_dir))
    outs = [p.work, "vendor_out", REPORT]
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
        ip = find_exported_ip(prj_dir, p.work)
        _run(_subst(steps[1], IP_PLACEHOLDER, ip), tools[steps[1].what], prj_dir)
    else:
        xo = find_exported_xo(prj_dir, p.work)
        for s in steps[1:]:
            _run(_subst(s, XO_PLACEHOLDER, xo), tools[s.what], prj_dir)
    shutil.copyfile(prj_dir / "ir.json", prj_dir / "vendor_out" / "ir.json")
    rep = collect_report(p, tools)
    (prj_dir / REPORT).parent.mkdir(exist_ok=True)
    (prj_dir / REPORT).write_text(json.dumps(rep, indent=1, sort_keys=True) + "\n")
    if getattr(args, "json", False):
        print(json.dumps(rep, indent=1, sort_keys=True))
    else:
        print(summary_line(rep))
    return 0


def _subst(s: Step, old: str, new: str) -> Step:
    return Step(s.what, s.tools, [new if a == old else a for a in s.args], s.cwd, s.log,
                s.by_tool)


def _run(s: Step, tool: str, prj_dir: Path) -> None:
    log = prj_dir / s.log
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"[{s.what}] {s.shell(tool)}", flush=True)
    with open(log, "w") as f:
        r = subprocess.run(s.argv(tool), cwd=prj_dir, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise HfnError(f"{tool} ({s.what})", f"failed with exit code {r.returncode}",
                       f"see {log}")


def find_exported_ip(prj_dir: Path, skip: str) -> str:
    """The folder of the IP that Vitis HLS exported (``<solution>/impl/ip``), relative to
    PRJ, after checking that its VLNV is the one the block design instantiates."""
    hits = sorted(c for c in prj_dir.glob("**/impl/ip/component.xml")
                  if c.relative_to(prj_dir).parts[0] != skip)
    if not hits:
        raise HfnError(str(prj_dir), "Vitis HLS exported no IP (no impl/ip/component.xml)",
                       "build_prj.tcl must run export_design -format ip_catalog when export=1")
    comp = max(hits, key=lambda c: c.stat().st_mtime)     # this run's export
    vlnv = component_vlnv(comp)
    if vlnv != vivado_bd.HFN_VLNV:
        raise HfnError(str(comp), f"IP is {vlnv}, the block design expects "
                                  f"{vivado_bd.HFN_VLNV}",
                       "export with the default vendor/library/version")
    return str(comp.parent.relative_to(prj_dir))


def component_vlnv(path: Path) -> str:
    """vendor:library:name:version of an IP-XACT component.xml (namespace-agnostic)."""
    root = ET.parse(path).getroot()
    val = {}
    for child in root:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag in ("vendor", "library", "name", "version"):
            val[tag] = (child.text or "").strip()
    return ":".join(val.get(k, "?") for k in ("vendor", "library", "name", "version"))


def find_exported_xo(prj_dir: Path, skip: str) -> str:
    hits = sorted(c for c in prj_dir.glob(f"**/{alveo.CORE}.xo")
                  if c.relative_to(prj_dir).parts[0] != skip)
    if not hits:
        raise HfnError(str(prj_dir), f"Vitis HLS exported no {alveo.CORE}.xo",
                       "for Alveo boards build_prj.tcl must use -flow_target vitis and "
                       "export_design -format xo when export=1")
    return str(max(hits, key=lambda c: c.stat().st_mtime).relative_to(prj_dir))


def collect_report(p: Project, tools: dict[str, str]) -> dict:
    """Everything the vendor tools told us, plus the board's capacity and ``fits``."""
    d, b = p.dir, p.board
    rep: dict = {"flow": b.flow, "board": b.name, "part": b.part, "clock_mhz": b.clock_mhz,
                 "resources": dict(b.resources), "tools": dict(sorted(tools.items())),
                 "csynth": None, "implementation": None, "timing": None}
    xml = reports.find_csynth_xml(d)
    if xml is not None:
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
