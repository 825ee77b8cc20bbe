"""The one owner of how a generated project meets the AMD tools.

Everything the vendor flow and the generated scripts must agree on is decided here and
read from here: the switch convention of ``build_prj.tcl``, the Vitis HLS project and
solution names, the flow target and export format per board flow, the IP's VLNV, where
the export and the C-synthesis report land, and every vendor command line that
``hfn-hls synth PRJ`` runs.  ``build_prj.tcl`` is written from
``hls_templates/build_prj.tcl.in`` by :func:`build_prj_tcl`; ``vendor/`` (the flow that
runs the tools, the Vivado block design, the Alveo link) imports the rest.
See docs/vendor-flow.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..boards import Board
from ..errors import HfnError
from ..paths import fill_template

TOP = "hfn_top"
HLS_PROJECT = "hfn_prj"             # open_project
SOLUTION = "solution1"              # open_solution
SCRIPT = "build_prj.tcl"
TEMPLATE = "build_prj.tcl.in"

# -- the switch convention of build_prj.tcl -------------------------------------------------
# Switches are ``key=0|1`` words, read from the environment variable SWITCH_ENV and then
# from the script's $argv.  The flow uses the environment: ``vitis-run --tcl`` passes no
# script arguments (UG1702 lists none), and ``vitis_hls -f`` and ``vitis-run`` both pass
# the environment on.
SWITCHES = ("reset", "csim", "csynth", "cosim", "export")
SWITCH_ENV = "HFN_HLS_SWITCHES"
SYNTH_SWITCHES = {"csim": 0, "csynth": 1, "cosim": 0, "export": 1}   # what `synth` runs


def switch_words(values: dict[str, int]) -> list[str]:
    """``{"csynth": 1}`` -> ``["csynth=1"]``: the words build_prj.tcl accepts."""
    bad = [k for k in values if k not in SWITCHES]
    if bad:
        raise ValueError(f"unknown build_prj.tcl switches {bad}")
    return [f"{k}={int(bool(v))}" for k, v in values.items()]


# -- the IP and the flow target --------------------------------------------------------------
@dataclass(frozen=True)
class Vlnv:
    vendor: str
    library: str
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.vendor}:{self.library}:{self.name}:{self.version}"


# Vitis HLS's own defaults for export_design (written out explicitly in build_prj.tcl):
# the Vivado block design instantiates exactly this IP.
IP = Vlnv("xilinx.com", "hls", TOP, "1.0")


@dataclass(frozen=True)
class Target:
    """What build_prj.tcl does for one board flow, and where its export lands."""

    flow: str             # board flow: zynq | alveo
    flow_target: str      # open_solution -flow_target (UG1399): vivado | vitis
    export_format: str    # export_design -format (UG1399): ip_catalog | xo
    export: str           # PRJ-relative: the IP folder (component.xml) or the .xo file
    work: str             # PRJ-relative folder of the flow's scripts and logs

    @property
    def solution_dir(self) -> str:
        return f"{HLS_PROJECT}/{SOLUTION}"

    @property
    def csynth_report(self) -> str:
        return f"{self.solution_dir}/syn/report/{TOP}_csynth.xml"

    @property
    def vlnv(self) -> str | None:
        return str(IP) if self.export_format == "ip_catalog" else None


_IMPL = f"{HLS_PROJECT}/{SOLUTION}/impl"
TARGETS = {
    # Zynq: a Vivado IP (impl/ip/component.xml) for the block design (vendor/vivado_bd.py)
    "zynq": Target("zynq", "vivado", "ip_catalog", f"{_IMPL}/ip", "vivado"),
    # Alveo: a Vitis kernel object for `v++ --link` (vendor/alveo.py)
    "alveo": Target("alveo", "vitis", "xo", f"{_IMPL}/{TOP}.xo", "alveo"),
}


def target(board: Board) -> Target:
    t = TARGETS.get(board.flow)
    if t is None:
        raise HfnError(f"board {board.name}", f"unknown flow {board.flow!r}",
                       f"use flow {' or '.join(TARGETS)} in the board file")
    return t


def export_command(t: Target) -> str:
    """The export_design line of build_prj.tcl (run from the project folder)."""
    if t.export_format == "ip_catalog":
        return (f"export_design -format ip_catalog -vendor {IP.vendor} -library {IP.library} "
                f"-version {IP.version} -ipname {IP.name}")
    if t.export_format == "xo":
        return f"export_design -format xo -output [file normalize {t.export}]"
    raise ValueError(t.export_format)


def build_prj_tcl(model: str, board: Board, lib_dir: str) -> str:
    """The text of PRJ/build_prj.tcl for ``board``: deterministic, no absolute paths."""
    t = target(board)
    what = (f"Vivado IP {IP} in {t.export}/" if t.export_format == "ip_catalog"
            else f"Vitis kernel {t.export}")
    values = {
        "MODEL": model, "BOARD": board.name, "FLOW": t.flow, "PART": board.part,
        "CLOCK_NS": f"{1000.0 / board.clock_mhz:g}", "LIB_DIR": lib_dir,
        "SWITCH_ENV": SWITCH_ENV, "SWITCH_KEYS": " ".join(SWITCHES),
        "SWITCH_DEFAULTS": " ".join(f"{k} 0" for k in SWITCHES),
        "SYNTH_SWITCHES": " ".join(switch_words(SYNTH_SWITCHES)),
        "HLS_PROJECT": HLS_PROJECT, "SOLUTION": SOLUTION, "TOP": TOP,
        "FLOW_TARGET": t.flow_target, "EXPORT": export_command(t), "EXPORT_WHAT": what,
    }
    return fill_template(TEMPLATE, **values)


# -- the vendor command lines of `hfn-hls synth PRJ` ----------------------------------------
# Vitis >= 2024.1 ships ``vitis-run``; older releases ``vitis_hls``.  Either runs the TCL.
HLS_TOOLS = ("vitis-run", "vitis_hls")
VIVADO = ("vivado",)
VPP = ("v++",)
HLS_ARGS = {"vitis-run": ["--mode", "hls", "--tcl", SCRIPT], "vitis_hls": ["-f", SCRIPT]}


def synth_steps(board: Board, prj_dir: Path) -> list:
    """Every vendor command of ``hfn-hls synth PRJ``, in order (run from PRJ/)."""
    from ..vendor import alveo
    from ..vendor.tools import Step

    t = target(board)
    w = t.work
    env = {SWITCH_ENV: " ".join(switch_words(SYNTH_SWITCHES))}
    hls = Step("C synthesis + IP export", HLS_TOOLS, HLS_ARGS["vitis-run"], prj_dir,
               f"{w}/hls.log", by_tool=dict(HLS_ARGS), env=env)
    if t.flow == "zynq":
        from ..vendor.vivado_bd import SCRIPT as BD_SCRIPT
        return [hls, Step("Vivado block design -> bitstream", VIVADO,
                          ["-mode", "batch", "-nojournal", "-log", f"{w}/vivado.log",
                           "-source", f"{w}/{BD_SCRIPT}", "-tclargs", t.export],
                          prj_dir, f"{w}/vivado.stdout.log")]
    return [hls] + [Step(f"v++ compile {k}", VPP, alveo.compile_args(board, k), prj_dir,
                         f"{w}/{k}.log") for k in (alveo.MM2S, alveo.S2MM)] + \
        [Step("v++ link -> xclbin", VPP, alveo.link_args(board, t.export), prj_dir,
              f"{w}/link.log")]

