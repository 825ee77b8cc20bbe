"""Stand-ins for the AMD tools (Vitis HLS, Vivado, v++) for tests.  Nothing is synthesised.

The generated TCL runs in a real Tcl 8.6 interpreter (Python's ``tkinter.Tcl()``, no
display needed) in which every vendor command the scripts use is a stub.  A stub checks
its arguments against the options AMD documents for the command, checks the order and
state the tool requires, records the call, and leaves the files a real run leaves:

- Vitis HLS (UG1399 "Project Commands"): ``open_project``, ``set_top``, ``add_files``,
  ``open_solution``, ``set_part``, ``create_clock``, ``csim_design``, ``csynth_design``,
  ``cosim_design``, ``export_design``.  ``csynth_design`` writes
  ``<project>/<solution>/syn/report/<top>_csynth.xml``; ``export_design -format
  ip_catalog`` writes ``<solution>/impl/ip/component.xml`` with the VLNV from
  ``-vendor/-library/-ipname/-version`` (defaults ``xilinx.com``/``hls``/top/``1.0``);
  ``-format xo`` writes the kernel object at ``-output`` (default
  ``<solution>/impl/export.xo``) and, as UG1399's flow targets say (the Vitis kernel
  flow is the one that outputs a ``.xo``), only after ``open_solution -flow_target vitis``.
- Vivado (UG835), the commands of ``vivado/build_bd.tcl``: the IP catalog holds the
  Xilinx IPs the design uses plus every ``component.xml`` under ``ip_repo_paths``, so a
  ``create_bd_cell -vlnv`` of an IP that was not exported fails as in Vivado; the user
  IP's pins come from its ``component.xml``; runs write the bitstream, the hardware
  handoff and the reports (fixtures of test_vendor_reports) where Vivado puts them.
- ``v++`` (UG1393 "v++ command"): ``-c`` compiles a kernel to a ``.xo``, ``-l`` links,
  checking the ``link.cfg`` connectivity against the kernels and ports in the ``.xo``s.

The command-line front ends check their own documented options too: ``vitis_hls``
(UG1399 "vitis_hls Command": ``-f`` script, the words after it are the script's
``$argv``), ``vitis-run`` (UG1702: ``--mode hls --tcl FILE``; no script arguments),
``vivado`` (``-mode batch -source FILE -tclargs ...``).  Fake executables that call
:func:`main` are put on PATH by tests/test_vendor_generated.py.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
import tkinter
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_vendor_reports import CSYNTH_XML, TIMING, UTIL_7SERIES, UTIL_ULTRASCALE  # noqa: E402


class StubError(Exception):
    """A call the real tool would refuse."""


# -- option parsing --------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """One command as documented: flags (no value), options with a value (None: any
    string; else the allowed values), and how many positional arguments it takes."""

    doc: str
    flags: frozenset = frozenset()
    values: dict = field(default_factory=dict)
    npos: tuple = (0, 0)            # (min, max); max None = any


def spec(doc, flags="", values=None, npos=(0, 0), vivado=False) -> Spec:
    f = set(flags.split())
    if vivado:
        f |= {"-quiet", "-verbose"}
    return Spec(doc, frozenset(f), dict(values or {}), npos)


def parse(name: str, s: Spec, args: list[str]) -> tuple[dict, list[str]]:
    opts, pos = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1 and not _number(a):
            if a in s.flags:
                opts[a] = True
            elif a in s.values:
                if i + 1 >= len(args):
                    raise StubError(f"{name}: option {a} needs a value ({s.doc})")
                v = args[i + 1]
                allowed = s.values[a]
                if allowed is not None and v.lower() not in allowed:
                    raise StubError(f"{name}: {a} {v!r} is not one of {sorted(allowed)} "
                                    f"({s.doc})")
                opts[a] = v
                i += 1
            else:
                raise StubError(f"{name}: unknown option {a} ({s.doc})")
        else:
            pos.append(a)
        i += 1
    lo, hi = s.npos
    if len(pos) < lo or (hi is not None and len(pos) > hi):
        raise StubError(f"{name}: takes {lo}..{hi if hi is not None else 'n'} positional "
                        f"arguments, got {pos} ({s.doc})")
    return opts, pos


def _number(a: str) -> bool:
    try:
        float(a)
        return True
    except ValueError:
        return False


# -- UG1399: Vitis HLS project commands -------------------------------------------------------
U = "UG1399"
HLS_SPECS = {
    "open_project": spec(f"{U} open_project [-reset] <project>", "-reset", npos=(1, 1)),
    "set_top": spec(f"{U} set_top <top>", npos=(1, 1)),
    "add_files": spec(f"{U} add_files [-tb] [-cflags s] [-csimflags s] [-blackbox f] "
                      "<src_files>", "-tb -appendflags",
                      {"-cflags": None, "-csimflags": None, "-blackbox": None}, (1, None)),
    "open_solution": spec(f"{U} open_solution [-flow_target vitis|vivado] [-reset] <name>",
                          "-reset", {"-flow_target": {"vitis", "vivado"}}, (1, 1)),
    "set_part": spec(f"{U} set_part <device_specification>", "-board", npos=(1, 1)),
    "create_clock": spec(f"{U} create_clock -period <number> [-name <string>]", "",
                         {"-period": None, "-name": None}),
    "csim_design": spec(f"{U} csim_design [-argv s] [-clean] [-O] [-ldflags s] [-mflags s] "
                        "[-profile] [-setup]", "-clean -O -profile -setup",
                        {"-argv": None, "-ldflags": None, "-mflags": None}),
    "csynth_design": spec(f"{U} csynth_design [-dump_cfg] [-dump_post_cfg] "
                          "[-synthesis_check]", "-dump_cfg -dump_post_cfg -synthesis_check"),
    "cosim_design": spec(f"{U} cosim_design [-argv s] [-rtl verilog|vhdl] [-tool t] "
                         "[-trace_level l] ...",
                         "-O -coverage -disable_binary_tv -disable_deadlock_detection "
                         "-enable_dataflow_profiling -enable_fifo_sizing -random_stall "
                         "-setup -wave_debug -stable_axilite_update",
                         {"-argv": None, "-compiled_library_dir": None, "-ldflags": None,
                          "-mflags": None, "-rtl": {"verilog", "vhdl"},
                          "-tool": {"auto", "vcs", "modelsim", "riviera", "isim", "xsim",
                                    "ies", "xcelium"},
                          "-trace_level": {"none", "all", "port", "port_hier"},
                          "-user_stall": None, "-hwemu_trace_dir": None}),
    "export_design": spec(f"{U} export_design [-format ip_catalog|xo|syn_dcp|sysgen] "
                          "[-vendor s] [-library s] [-version s] [-ipname s] [-output s] "
                          "[-description s] [-display_name s] [-flow syn|impl] "
                          "[-rtl verilog|vhdl] [-taxonomy s]", "",
                          {"-format": {"ip_catalog", "xo", "syn_dcp", "sysgen"},
                           "-vendor": None, "-library": None, "-version": None,
                           "-ipname": None, "-output": None, "-description": None,
                           "-display_name": None, "-flow": {"syn", "impl"},
                           "-rtl": {"verilog", "vhdl"}, "-taxonomy": None}),
}

# -- UG835: the Vivado commands of build_bd.tcl -----------------------------------------------
V = "UG835"
OBJ = {"-of_objects": None, "-filter": None}
VIVADO_SPECS = {
    "create_project": spec(f"{V} create_project [-part p] [-force] [-in_memory] [-ip] "
                           "[<name>] [<dir>]", "-force -in_memory -ip -rtl_kernel",
                           {"-part": None}, (0, 2), True),
    "set_property": spec(f"{V} set_property [-dict args] <name> <value> <objects>", "",
                         {"-dict": None}, (1, 3), True),
    "current_project": spec(f"{V} current_project [<project>]", npos=(0, 1), vivado=True),
    "update_ip_catalog": spec(f"{V} update_ip_catalog [-rebuild] [-scan_changes] ...",
                              "-rebuild -scan_changes -disable_ip -enable_ip -add_interface "
                              "-create_index", {"-add_ip": None, "-delete_ip": None,
                                                "-repo_path": None}, (0, 0), True),
    "create_bd_design": spec(f"{V} create_bd_design [-dir d] [-cell c] <name>", "",
                             {"-dir": None, "-cell": None, "-mode": None}, (1, 1), True),
    "get_ipdefs": spec(f"{V} get_ipdefs [-all] [-name] [-regexp] [<patterns>]",
                       "-all -name -regexp -nocase", OBJ, (0, None), True),
    "create_bd_cell": spec(f"{V} create_bd_cell [-vlnv v] [-type t] [-reference r] <name>",
                           "", {"-vlnv": None, "-reference": None, "-revision": None,
                                "-type": {"ip", "hier", "container", "module",
                                          "inline_hdl"}}, (1, 1), True),
    "get_bd_cells": spec(f"{V} get_bd_cells [<patterns>]", "-regexp -hierarchical", OBJ,
                         (0, None), True),
    "get_bd_intf_pins": spec(f"{V} get_bd_intf_pins [<patterns>]", "-regexp -hierarchical",
                             OBJ, (0, None), True),
    "get_bd_pins": spec(f"{V} get_bd_pins [<patterns>]", "-regexp -hierarchical", OBJ,
                        (0, None), True),
    "make_bd_intf_pins_external": spec(f"{V} make_bd_intf_pins_external [-name n] <objects>",
                                       "", {"-name": None}, (1, None), True),
    "connect_bd_intf_net": spec(f"{V} connect_bd_intf_net [-intf_net n] "
                                "[-boundary_type t] <object1> <object2>", "",
                                {"-intf_net": None, "-boundary_type": None}, (2, 2), True),
    "connect_bd_net": spec(f"{V} connect_bd_net [-net n] <objects>", "", {"-net": None},
                           (2, None), True),
    "assign_bd_address": spec(f"{V} assign_bd_address [...] [<objects>]",
                              "-external -boundary -force",
                              {"-target_address_space": None, "-offset": None,
                               "-range": None, "-dict": None}, (0, None), True),
    "validate_bd_design": spec(f"{V} validate_bd_design [-force] [-design d]", "-force",
                               {"-design": None}, (0, 0), True),
    "save_bd_design": spec(f"{V} save_bd_design [<name>]", npos=(0, 1), vivado=True),
    "get_files": spec(f"{V} get_files [<patterns>]", "-regexp -nocase -all -references",
                      {**OBJ, "-compile_order": None, "-used_in": None}, (0, None), True),
    "generate_target": spec(f"{V} generate_target [-force] <name> <objects>", "-force",
                            npos=(2, 2), vivado=True),
    "make_wrapper": spec(f"{V} make_wrapper -files f [-top] [-testbench] [-inst_template] "
                         "[-fileset s] [-import] [-force]",
                         "-top -testbench -inst_template -import -force",
                         {"-files": None, "-fileset": None}, (0, 0), True),
    "add_files": spec(f"{V} add_files [-fileset f] [-norecurse] [<files>]",
                      "-norecurse -force -scan_for_includes",
                      {"-fileset": None, "-of_objects": None, "-copy_to": None},
                      (0, None), True),
    "current_fileset": spec(f"{V} current_fileset [-constrset] [-simset] [<fileset>]",
                            "-constrset -simset", npos=(0, 1), vivado=True),
    "update_compile_order": spec(f"{V} update_compile_order [-fileset f]", "",
                                 {"-fileset": None}, (0, 0), True),
    "launch_runs": spec(f"{V} launch_runs [-jobs n] [-to_step s] [-next_step] <runs>",
                        "-next_step -scripts_only -force",
                        {"-jobs": None, "-dir": None,
                         "-to_step": {"opt_design", "power_opt_design", "place_design",
                                      "post_place_power_opt_design", "phys_opt_design",
                                      "route_design", "post_route_phys_opt_design",
                                      "write_bitstream", "write_device_image"}},
                        (1, None), True),
    "wait_on_run": spec(f"{V} wait_on_run [-timeout t] <run>", "", {"-timeout": None},
                        (1, 1), True),
    "get_property": spec(f"{V} get_property [-min] [-max] <name> <object>", "-min -max",
                         npos=(2, 2), vivado=True),
    "get_runs": spec(f"{V} get_runs [<patterns>]", "-regexp -nocase", OBJ, (0, 1), True),
    "open_run": spec(f"{V} open_run [-name n] <run>", "", {"-name": None}, (1, 1), True),
    "report_utilization": spec(f"{V} report_utilization [-file f] [-cells c] ...",
                               "-append -slr -packthru -hierarchical -return_string",
                               {"-file": None, "-cells": None, "-pblocks": None,
                                "-name": None, "-hierarchical_depth": None}, (0, 0), True),
    "get_cells": spec(f"{V} get_cells [<patterns>]", "-hierarchical -regexp -nocase", OBJ,
                      (0, 1), True),
    "report_timing_summary": spec(f"{V} report_timing_summary [-file f] ...",
                                  "-append -setup -hold -no_header -return_string "
                                  "-warn_on_violation -datasheet",
                                  {"-file": None, "-max_paths": None, "-nworst": None,
                                   "-delay_type": None, "-name": None}, (0, 0), True),
}

XILINX_IPS = ("xilinx.com:ip:processing_system7:5.5", "xilinx.com:ip:zynq_ultra_ps_e:3.5",
              "xilinx.com:ip:axi_dma:7.1", "xilinx.com:ip:smartconnect:1.0",
              "xilinx.com:ip:proc_sys_reset:5.0", "xilinx.com:ip:axis_dwidth_converter:1.1")


def c_ports(path: Path, func: str) -> list[str]:
    """Parameter names of ``func`` in a C++ file (what becomes the kernel's/IP's ports)."""
    text = re.sub(r"//[^\n]*", "", path.read_text())
    m = re.search(r"\bvoid\s+" + re.escape(func) + r"\s*\(([^)]*)\)\s*\{", text)
    if m is None:
        raise StubError(f"top function {func} not found in {path}")
    return [re.findall(r"(\w+)\s*$", p.strip())[0] for p in m.group(1).split(",") if p.strip()]


def component_xml(vlnv: str, intf: list[str], pins: list[str]) -> str:
    v, lib, name, ver = vlnv.split(":")
    bus = "".join(f"<spirit:busInterface><spirit:name>{p}</spirit:name>"
                  f"<spirit:busType spirit:vendor=\"xilinx.com\" spirit:library=\"interface\" "
                  f"spirit:name=\"axis\" spirit:version=\"1.0\"/></spirit:busInterface>"
                  for p in intf)
    ports = "".join(f"<spirit:port><spirit:name>{p}</spirit:name></spirit:port>" for p in pins)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<spirit:component xmlns:spirit='
            '"http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009">\n'
            f"  <spirit:vendor>{v}</spirit:vendor>\n  <spirit:library>{lib}</spirit:library>\n"
            f"  <spirit:name>{name}</spirit:name>\n  <spirit:version>{ver}</spirit:version>\n"
            f"  <spirit:busInterfaces>{bus}</spirit:busInterfaces>\n"
            f"  <spirit:model><spirit:ports>{ports}</spirit:ports></spirit:model>\n"
            "</spirit:component>\n")


def read_component(path: Path) -> tuple[str, set[str], set[str]]:
    t = path.read_text()
    val = {k: re.search(rf"<spirit:{k}>([^<]*)</spirit:{k}>", t).group(1)
           for k in ("vendor", "library", "name", "version")}
    bus = set(re.findall(r"<spirit:busInterface><spirit:name>(\w+)<", t))
    ports = set(re.findall(r"<spirit:port><spirit:name>(\w+)<", t))
    return ":".join(val[k] for k in ("vendor", "library", "name", "version")), bus, ports


def write_xo(path: Path, kernel: str, ports: list[str]) -> None:
    """A kernel object: a zip holding kernel.xml (the real one also holds the RTL IP)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    xml = (f'<?xml version="1.0"?>\n<root><kernel name="{kernel}">'
           + "".join(f'<port name="{p}"/>' for p in ports) + "</kernel></root>\n")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{kernel}/kernel.xml", xml)


def read_xo(path: Path) -> dict[str, set[str]]:
    with zipfile.ZipFile(path) as z:
        out = {}
        for n in z.namelist():
            if n.endswith("kernel.xml"):
                t = z.read(n).decode()
                k = re.search(r'<kernel name="(\w+)"', t).group(1)
                out[k] = set(re.findall(r'<port name="(\w+)"', t))
        return out


# -- the interpreter ---------------------------------------------------------------------------
class Interp:
    """One tool session: a Tcl interpreter with the tool's commands stubbed."""

    def __init__(self, tool: str, argv: list[str], log: list | None = None):
        self.tool = tool
        self.calls: list[tuple[str, list[str]]] = []
        self.log = log if log is not None else []
        self.exit_code: int | None = None
        self.tcl = tkinter.Tcl()
        self.tcl.call("set", "::argv", tuple(argv))
        self.tcl.call("set", "::argc", len(argv))
        self._value = ""
        self.tcl.createcommand("_hfn_call", self._call)
        self.tcl.createcommand("_hfn_value", lambda: self._value)
        self.tcl.eval("catch {rename exit {}}")      # never leave the process
        specs = HLS_SPECS if tool == "vitis_hls" else VIVADO_SPECS
        self.specs = specs
        for name in [*specs, "exit"]:
            self.tcl.eval(f"proc {name} args {{ if {{[_hfn_call {name} {{*}}$args]}} "
                          f"{{ return -code error [_hfn_value] }}; return [_hfn_value] }}")
        # Vitis HLS state
        self.project = self.solution = self.top = self.part = self.flow_target = None
        self.clock = None
        self.sources: list[Path] = []
        self.tb: list[Path] = []
        self.synthesized = False
        # Vivado state
        self.vproject = None
        self.ip_repo: list[str] = []
        self.catalog: dict[str, tuple[set, set]] = {}
        self.bd = None
        self.cells: dict[str, str] = {}
        self.intf_pins: set[str] = set()
        self.pins: set[str] = set()
        self.connected: set[str] = set()
        self.wrapper = None
        self.top_module = None
        self.runs_done = False

    def _call(self, name, *args):
        args = list(args)
        try:
            if name == "exit":
                self.exit_code = int(args[0]) if args else 0
                raise StubError("__exit__")
            opts, pos = parse(name, self.specs[name], args)
            self.calls.append((name, args))
            self.log.append([self.tool, name, args])
            prefix = "hls_" if self.tool == "vitis_hls" else "viv_"
            self._value = str(getattr(self, prefix + name)(opts, pos) or "")
            return 0
        except StubError as e:
            self._value = str(e)
            return 1

    def source(self, script: Path) -> int:
        """Run the script; returns the tool's exit code (1 on a Tcl error, as the tools
        do), with the error in ``self.error``."""
        self.error = None
        try:
            self.tcl.eval(f"source {{{script}}}")
        except tkinter.TclError as e:
            if self.exit_code is None:
                self.error = str(e)
                return 1
        return 0 if self.exit_code is None else self.exit_code

    # -- Vitis HLS ------------------------------------------------------------------------
    def _need(self, what: str, ok) -> None:
        if not ok:
            raise StubError(f"{what}")

    def hls_open_project(self, o, p):
        self.project = p[0]
        Path(self.project).mkdir(exist_ok=True)

    def hls_set_top(self, o, p):
        self._need("set_top: no open project", self.project)
        self.top = p[0]

    def hls_add_files(self, o, p):
        self._need("add_files: no open project", self.project)
        for f in p:
            if not Path(f).exists():
                raise StubError(f"add_files: cannot find {f}")
            (self.tb if o.get("-tb") else self.sources).append(Path(f))

    def hls_open_solution(self, o, p):
        self._need("open_solution: no open project (UG1399: opening a solution without "
                   "an open project is an error)", self.project)
        self.solution = p[0]
        self.flow_target = o.get("-flow_target", "vivado")
        (Path(self.project) / self.solution).mkdir(parents=True, exist_ok=True)

    def hls_set_part(self, o, p):
        self._need("set_part: no open solution", self.solution)
        self.part = p[0]

    def hls_create_clock(self, o, p):
        self._need("create_clock: no open solution", self.solution)
        if "-period" not in o or not _number(o["-period"]) or float(o["-period"]) <= 0:
            raise StubError("create_clock: -period <number> required")
        self.clock = float(o["-period"])

    def _ready(self, cmd):
        self._need(f"{cmd}: no open solution", self.solution)
        self._need(f"{cmd}: no top function (set_top)", self.top)
        self._need(f"{cmd}: no design sources (add_files)", self.sources)

    def hls_csim_design(self, o, p):
        self._ready("csim_design")
        self._need("csim_design: no testbench (add_files -tb)", self.tb)

    def top_ports(self) -> list[str]:
        for f in self.sources:
            try:
                return c_ports(f, self.top)
            except StubError:
                continue
        raise StubError(f"csynth_design: top function {self.top} not found in the sources")

    def hls_csynth_design(self, o, p):
        self._ready("csynth_design")
        self._need("csynth_design: no part (set_part)", self.part)
        self.top_ports()
        rep = Path(self.project) / self.solution / "syn" / "report" / f"{self.top}_csynth.xml"
        rep.parent.mkdir(parents=True, exist_ok=True)
        rep.write_text(CSYNTH_XML.replace("<TopModelName>hfn_top<", f"<TopModelName>{self.top}<")
                       .replace("<Part>xc7z020-clg400-1<", f"<Part>{self.part}<")
                       .replace("<TargetClockPeriod>10.00<",
                                f"<TargetClockPeriod>{self.clock or 10:.2f}<")
                       .replace("<FlowTarget>vivado<", f"<FlowTarget>{self.flow_target}<"))
        self.synthesized = True

    def hls_cosim_design(self, o, p):
        self._need("cosim_design: run csynth_design first", self.synthesized)
        self._need("cosim_design: no testbench (add_files -tb)", self.tb)

    def hls_export_design(self, o, p):
        self._need("export_design: run csynth_design first", self.synthesized)
        fmt = o.get("-format", "ip_catalog")
        impl = Path(self.project) / self.solution / "impl"
        ports = self.top_ports()
        if fmt == "ip_catalog":
            vlnv = ":".join([o.get("-vendor", "xilinx.com"), o.get("-library", "hls"),
                             o.get("-ipname", self.top), o.get("-version", "1.0")])
            (impl / "ip").mkdir(parents=True, exist_ok=True)
            (impl / "ip" / "component.xml").write_text(
                component_xml(vlnv, ports, ["ap_clk", "ap_rst_n"]))
            (impl / "export.zip").write_bytes(b"PK\x05\x06" + bytes(18))
        elif fmt == "xo":
            if self.flow_target != "vitis":
                raise StubError("export_design -format xo: the solution targets the Vivado "
                                "IP flow (UG1399: a .xo comes from -flow_target vitis)")
            out = Path(o.get("-output", impl / "export.xo"))
            if out.suffix != ".xo":
                raise StubError(f"export_design -output {out}: a kernel object ends in .xo")
            write_xo(out, self.top, ports)
        else:
            raise StubError(f"export_design -format {fmt}: not modelled by this stub")

    # -- Vivado ---------------------------------------------------------------------------
    def viv_create_project(self, o, p):
        if "-part" not in o or len(p) != 2:
            raise StubError("create_project: give <name> <dir> and -part")
        d = Path(p[1])
        if d.exists() and any(d.iterdir()) and not o.get("-force"):
            raise StubError(f"create_project: {d} exists (use -force)")
        d.mkdir(parents=True, exist_ok=True)
        self.vproject = (p[0], d.resolve())
        self.catalog = {v: (set(), set()) for v in XILINX_IPS}
        return p[0]

    def viv_current_project(self, o, p):
        self._need("current_project: no open project", self.vproject)
        return self.vproject[0]

    def viv_current_fileset(self, o, p):
        return "sources_1"

    def viv_set_property(self, o, p):
        if "-dict" in o:
            if len(p) != 1:
                raise StubError("set_property -dict: give one object")
            obj = p[0].lstrip("/")
            items = self.tcl.splitlist(o["-dict"])
            if len(items) % 2:
                raise StubError("set_property -dict: odd list")
            if obj not in self.cells:
                raise StubError(f"set_property -dict: {obj} is not a block-design cell")
            bad = [k for k in items[::2] if not k.startswith("CONFIG.")]
            if bad:
                raise StubError(f"set_property: IP parameters are CONFIG.*, got {bad}")
            return
        if len(p) != 3:
            raise StubError("set_property <name> <value> <objects>")
        name, value, obj = p
        if name == "ip_repo_paths":
            self._need("set_property ip_repo_paths: not on the project",
                       self.vproject and obj == self.vproject[0])
            self.ip_repo = list(self.tcl.splitlist(value))
        elif name == "top":
            self._need("set_property top: not on a fileset", obj == "sources_1")
            self.top_module = value
        else:
            raise StubError(f"set_property {name}: not modelled by this stub")

    def viv_update_ip_catalog(self, o, p):
        for repo in self.ip_repo:
            for comp in Path(repo).glob("**/component.xml"):
                vlnv, bus, ports = read_component(comp)
                self.catalog[vlnv] = (bus, ports)

    def viv_create_bd_design(self, o, p):
        self._need("create_bd_design: no project", self.vproject)
        self.bd = p[0]
        d = self.vproject[1] / f"{self.vproject[0]}.srcs" / "sources_1" / "bd" / self.bd
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{self.bd}.bd").write_text("{}")
        return str(d / f"{self.bd}.bd")

    def viv_get_ipdefs(self, o, p):
        pats = p or ["*"]
        return self._list([v for v in sorted(self.catalog)
                           if any(fnmatch.fnmatchcase(v, q) for q in pats)])

    def _list(self, items):
        return " ".join("{" + i + "}" if " " in i else i for i in items)

    def viv_create_bd_cell(self, o, p):
        self._need("create_bd_cell: no block design", self.bd)
        vlnv = o.get("-vlnv")
        if vlnv is None or vlnv not in self.catalog:
            raise StubError(f"create_bd_cell: IP '{vlnv}' is not in the IP catalog "
                            f"(catalog: {sorted(self.catalog)})")
        if p[0] in self.cells:
            raise StubError(f"create_bd_cell: cell {p[0]} exists")
        self.cells[p[0]] = vlnv
        return "/" + p[0]

    def viv_get_bd_cells(self, o, p):
        out = []
        for q in p:
            if q.lstrip("/") not in self.cells:
                raise StubError(f"get_bd_cells: no cell {q}")
            out.append("/" + q.lstrip("/"))
        return self._list(out)

    def _pin(self, q: str, intf: bool) -> str:
        cell, _, pin = q.lstrip("/").partition("/")
        if cell not in self.cells:
            raise StubError(f"no block-design cell {cell} (pin {q})")
        bus, ports = self.catalog[self.cells[cell]]
        if bus or ports:                # a user IP: its pins are known from component.xml
            if pin not in (bus if intf else ports):
                raise StubError(f"cell {cell} ({self.cells[cell]}) has no "
                                f"{'interface ' if intf else ''}pin {pin}")
        return f"/{cell}/{pin}"

    def viv_get_bd_intf_pins(self, o, p):
        pins = [self._pin(q, True) for q in p]
        self.intf_pins.update(pins)
        return self._list(pins)

    def viv_get_bd_pins(self, o, p):
        pins = [self._pin(q, False) for q in p]
        self.pins.update(pins)
        return self._list(pins)

    def viv_make_bd_intf_pins_external(self, o, p):
        for q in p:
            self._need(f"make_bd_intf_pins_external: {q} is not an interface pin",
                       q in self.intf_pins)

    def viv_connect_bd_intf_net(self, o, p):
        for q in p:
            self._need(f"connect_bd_intf_net: {q} is not an interface pin", q in self.intf_pins)
            self._need(f"connect_bd_intf_net: {q} is connected already", q not in self.connected)
        self.connected.update(p)

    def viv_connect_bd_net(self, o, p):
        for q in p:
            self._need(f"connect_bd_net: {q} is not a pin", q in self.pins)
            self._need(f"connect_bd_net: {q} is driven already", q not in self.connected)
        self.connected.update(p)

    def viv_assign_bd_address(self, o, p):
        self._need("assign_bd_address: no block design", self.bd)

    def viv_validate_bd_design(self, o, p):
        self._need("validate_bd_design: no block design", self.bd)
        for cell, vlnv in self.cells.items():
            bus, ports = self.catalog[vlnv]
            loose = sorted(f"/{cell}/{x}" for x in bus | ports
                           if f"/{cell}/{x}" not in self.connected)
            if loose:
                raise StubError(f"validate_bd_design: unconnected pins {loose}")

    def viv_save_bd_design(self, o, p):
        self._need("save_bd_design: no block design", self.bd)

    def viv_get_files(self, o, p):
        found = []
        for q in p:
            if self.bd and q == f"{self.bd}.bd":
                found.append(str(self.vproject[1] / f"{self.vproject[0]}.srcs" / "sources_1"
                                 / "bd" / self.bd / q))
            else:
                raise StubError(f"get_files: no file {q} in the project")
        return self._list(found)

    def viv_generate_target(self, o, p):
        if p[0] != "all" or not p[1].endswith(f"{self.bd}.bd"):
            raise StubError(f"generate_target {p}: give 'all' and the block design file")
        hh = (self.vproject[1] / f"{self.vproject[0]}.gen" / "sources_1" / "bd" / self.bd
              / "hw_handoff" / f"{self.bd}.hwh")
        hh.parent.mkdir(parents=True, exist_ok=True)
        hh.write_text(f"<hwh design='{self.bd}' cells='{' '.join(sorted(self.cells))}'/>\n")

    def viv_make_wrapper(self, o, p):
        if not o.get("-files", "").endswith(f"{self.bd}.bd"):
            raise StubError("make_wrapper: -files must be the block design")
        w = (self.vproject[1] / f"{self.vproject[0]}.gen" / "sources_1" / "bd" / self.bd
             / "hdl" / f"{self.bd}_wrapper.v")
        w.parent.mkdir(parents=True, exist_ok=True)
        w.write_text(f"module {self.bd}_wrapper(); endmodule\n")
        self.wrapper = w
        return str(w)

    def viv_add_files(self, o, p):
        for f in p:
            self._need(f"add_files: cannot find {f}", Path(f).exists())

    def viv_update_compile_order(self, o, p):
        pass

    def viv_get_runs(self, o, p):
        if p and p[0] not in ("synth_1", "impl_1"):
            raise StubError(f"get_runs: no run {p[0]}")
        return p[0] if p else "synth_1 impl_1"

    def _run_dir(self) -> Path:
        return self.vproject[1] / f"{self.vproject[0]}.runs" / "impl_1"

    def viv_launch_runs(self, o, p):
        self._need("launch_runs: no project", self.vproject)
        if p != ["impl_1"]:
            raise StubError(f"launch_runs {p}: expected impl_1")
        self._need("launch_runs: the top is not the block-design wrapper",
                   self.wrapper is not None and self.top_module == self.wrapper.stem)
        if o.get("-to_step") == "write_bitstream":
            d = self._run_dir()
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{self.top_module}.bit").write_bytes(b"stub bitstream of " +
                                                       self.top_module.encode())
        self.runs_done = True

    def viv_wait_on_run(self, o, p):
        self._need("wait_on_run: no launched run", self.runs_done)

    def viv_get_property(self, o, p):
        name, obj = p
        if obj == "impl_1":
            return {"PROGRESS": "100%", "DIRECTORY": str(self._run_dir())}.get(
                name) or self._fail(f"get_property {name}: not modelled for runs")
        raise StubError(f"get_property {name} {obj}: not modelled by this stub")

    def _fail(self, msg):
        raise StubError(msg)

    def viv_open_run(self, o, p):
        self._need("open_run: the run did not complete", self.runs_done)

    def viv_get_cells(self, o, p):
        cell = p[0] if p else ""
        inst, _, c = cell.partition("/")
        if inst != f"{self.bd}_i" or c not in self.cells:
            raise StubError(f"get_cells {cell}: no such cell in the implemented design")
        return cell

    def viv_report_utilization(self, o, p):
        self._need("report_utilization: open the run first", self.runs_done)
        seven = any(":processing_system7:" in v for v in self.cells.values())
        text = UTIL_7SERIES if seven else UTIL_ULTRASCALE
        if "-cells" in o:                      # the hfn_top cell alone: a smaller figure
            text = text.replace("| 12011 |", "|  9000 |")
        if "-file" in o:
            Path(o["-file"]).write_text(text)

    def viv_report_timing_summary(self, o, p):
        self._need("report_timing_summary: open the run first", self.runs_done)
        if "-file" in o:
            Path(o["-file"]).write_text(TIMING)


# -- the command-line front ends ---------------------------------------------------------------
def _log_path() -> Path | None:
    p = os.environ.get("FAKE_LOG")
    return Path(p) if p else None


def _record(entries: list) -> None:
    p = _log_path()
    if p:
        with p.open("a") as f:
            for e in entries:
                f.write(json.dumps(e) + "\n")


CLI = {
    # UG1399 "vitis_hls Command": -f <file>, -i, -l <file>, -n|-nosplash, -p, -version
    "vitis_hls": spec("UG1399 vitis_hls [-f file [args]] [-i] [-l log] [-n] [-p prj]",
                      "-i -n -nosplash -version -help", {"-f": None, "-l": None, "-p": None},
                      (0, None)),
    # UG1702 "vitis-run Command": --mode hls, --tcl, --csim, --cosim, --package, --impl,
    # --work_dir, --config, -h
    "vitis-run": spec("UG1702 vitis-run --mode hls [--tcl file] [--csim] [--cosim] "
                      "[--package] [--impl] [--work_dir d] [--config f]",
                      "--csim --cosim --package --impl -h --help",
                      {"--mode": {"hls"}, "--tcl": None, "--work_dir": None, "--config": None}),
    "vivado": spec("UG835/UG910 vivado [-mode gui|tcl|batch] [-source f] [-tclargs ...] "
                   "[-log f] [-nojournal] [-journal f] [-nolog] [-notrace]",
                   "-nojournal -nolog -notrace -applog -version",
                   {"-mode": {"gui", "tcl", "batch"}, "-source": None, "-log": None,
                    "-journal": None, "-tempDir": None}),
}


def run_tcl(tool: str, script: Path, argv: list[str]) -> tuple[int, Interp]:
    """Run ``script`` (from the current directory) in a stubbed ``tool`` interpreter."""
    it = Interp(tool, argv)
    rc = it.source(script)
    return rc, it


def main(exe: str, args: list[str]) -> int:
    """What a fake ``exe`` on PATH does: check its command line, run the TCL (or, for
    v++, compile/link), record everything in $FAKE_LOG, exit like the tool would."""
    entries = [[exe, "argv", args, os.getcwd(),
                {k: v for k, v in os.environ.items() if k.startswith("HFN_")}]]
    try:
        if exe == "v++":
            vpp(args)
            rc = 0
        else:
            rest: list[str] = []
            if exe == "vivado" and "-tclargs" in args:
                i = args.index("-tclargs")
                args, rest = args[:i], args[i + 1:]
            if exe == "vitis_hls" and "-f" in args:
                i = args.index("-f")
                args, rest = args[:i + 2], args[i + 2:]    # words after the script: $argv
            opts, pos = parse(exe, CLI[exe], args)
            if pos:
                raise StubError(f"{exe}: unexpected arguments {pos} ({CLI[exe].doc})")
            script = opts.get("-f") or opts.get("--tcl") or opts.get("-source")
            if exe == "vivado" and opts.get("-mode") != "batch":
                raise StubError("vivado: the flow must run -mode batch")
            if exe == "vitis-run" and opts.get("--mode") != "hls":
                raise StubError("vitis-run: --mode hls required (UG1702)")
            if not script or not Path(script).is_file():
                raise StubError(f"{exe}: no script to run ({script})")
            tool = "vivado" if exe == "vivado" else "vitis_hls"
            it = Interp(tool, rest, log=entries)
            rc = it.source(Path(script))
            if it.error:
                print(f"ERROR: [{tool}] {it.error}")
    except StubError as e:
        print(f"ERROR: {e}")
        rc = 1
    entries.append([exe, "exit", rc])
    _record(entries)
    print(f"fake {exe}: exit {rc}")
    return rc


# -- v++ (UG1393) ------------------------------------------------------------------------------
VPP = spec("UG1393 v++ -c|-l -t hw|hw_emu|sw_emu --platform p [-k kernel] -o out "
           "[--config f] [--report_dir d] [--log_dir d] [--temp_dir d] <inputs>",
           "-c --compile -l --link -g -s --save-temps",
           {"-t": {"hw", "hw_emu", "sw_emu"}, "--target": {"hw", "hw_emu", "sw_emu"},
            "--platform": None, "-f": None, "-k": None, "--kernel": None, "-o": None,
            "--output": None, "--config": None, "--report_dir": None, "--log_dir": None,
            "--temp_dir": None}, (1, None))


def _cfg(path: Path) -> tuple[dict, list[tuple[str, str]]]:
    top, conn, sect = {}, [], None
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sect = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        if sect is None:
            top[k.strip()] = v.strip()
        else:
            conn.append((k.strip(), v.strip()))
    return top, conn


def vpp(args: list[str]) -> None:
    o, inputs = parse("v++", VPP, args)
    compile_, link = o.get("-c") or o.get("--compile"), o.get("-l") or o.get("--link")
    if bool(compile_) == bool(link):
        raise StubError("v++: give exactly one of -c and -l")
    if not (o.get("-t") or o.get("--target")):
        raise StubError("v++: -t/--target required")
    out = Path(o.get("-o") or o.get("--output") or "")
    for f in inputs:
        if not Path(f).is_file():
            raise StubError(f"v++: input {f} not found")
    if compile_:
        kernel = o.get("-k") or o.get("--kernel")
        if not kernel or not (o.get("--platform") or o.get("-f")):
            raise StubError("v++ -c: -k and --platform required")
        if out.suffix != ".xo" or len(inputs) != 1:
            raise StubError("v++ -c: one source in, -o <kernel>.xo out")
        write_xo(out, kernel, c_ports(Path(inputs[0]), kernel))
        return
    cfg = o.get("--config")
    if not cfg or not Path(cfg).is_file():
        raise StubError("v++ -l: --config file not found")
    top, conn = _cfg(Path(cfg))
    if not (top.get("platform") or o.get("--platform")):
        raise StubError("v++ -l: no platform")
    if out.suffix != ".xclbin":
        raise StubError("v++ -l: -o <name>.xclbin")
    kernels: dict[str, set[str]] = {}
    for f in inputs:
        if not f.endswith(".xo"):
            raise StubError(f"v++ -l: {f} is not a .xo")
        try:
            kernels.update(read_xo(Path(f)))
        except zipfile.BadZipFile:
            raise StubError(f"v++ -l: {f} is not a kernel object") from None
    inst: dict[str, str] = {}
    for k, v in conn:
        if k == "nk":
            kern, n, name = (v.split(":") + [None])[:3]
            if kern not in kernels:
                raise StubError(f"v++ -l: nk={v}: no kernel {kern} in {sorted(kernels)}")
            inst[name or f"{kern}_1"] = kern
        elif k == "stream_connect":
            for end in v.split(":"):
                i, _, port = end.partition(".")
                if i not in inst or port not in kernels[inst[i]]:
                    raise StubError(f"v++ -l: stream_connect={v}: no port {end}")
    for kern in kernels:
        if kern not in inst.values():
            raise StubError(f"v++ -l: kernel {kern} has no nk= instance")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"stub xclbin: " + ",".join(sorted(inst)).encode())
    rep = Path(o.get("--report_dir", "_x/reports")) / "link" / "imp"
    rep.mkdir(parents=True, exist_ok=True)
    (rep / "impl_1_full_util_routed.rpt").write_text(UTIL_ULTRASCALE)
    (rep / "impl_1_hw_bb_locked_timing_summary_routed.rpt").write_text(TIMING)
