"""The vendor flow on projects that ``hfn-hls generate`` really wrote (Zynq and Alveo).

No AMD tool runs here.  The generated TCL (``build_prj.tcl``, ``vivado/build_bd.tcl``)
runs in a real Tcl interpreter whose vendor commands are stubs checking their arguments
against the options AMD documents (tests/amd_stubs.py: UG1399, UG835, UG1393, UG1702);
then ``hfn-hls synth PRJ`` runs end to end with FAKE ``vitis-run``/``vitis_hls``/
``vivado``/``v++`` executables on PATH that run the same stubbed interpreter and leave
the files a real run leaves.  Reverting the switch convention, the VLNV or the Alveo
flow target to what they were before the project module (issue 8) makes these tests
fail: ``test_reverted_conventions_fail`` proves it.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import amd_stubs
from hfn_hls.boards import load_board
from hfn_hls.cli import main
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.project import load, toolflow

TESTS = Path(__file__).resolve().parent
FRONTEND = TESTS.parent / "frontend"
BOARDS = ["pynq-z2", "alveo-u250"]


@pytest.fixture(scope="module")
def ir_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("vendor_ir")
    out = {}
    for seed in (2, 4):                 # 2 input channels (16-bit DMA), 3 (width converter)
        random_graph(seed).save(d / f"random{seed}.json")
        out[seed] = d / f"random{seed}.json"
    return out


def generate(tmp_path: Path, ir: Path, board: str, name: str = "prj") -> Path:
    prj = tmp_path / name
    assert main(["generate", str(ir), "--board", board, "-o", str(prj), "--vectors", "3"]) == 0
    return prj


def snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    """Fake vendor executables (and nothing else of the vendor's) on PATH; returns a
    function giving the recorded calls."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for exe in ("vitis-run", "vitis_hls", "vivado", "v++"):
        p = bindir / exe
        p.write_text(f"#!{sys.executable}\n# FAKE {exe} for tests: no synthesis happens.\n"
                     f"import sys\nsys.path[:0] = [{str(TESTS)!r}, {str(FRONTEND)!r}]\n"
                     f"import amd_stubs\nsys.exit(amd_stubs.main({exe!r}, sys.argv[1:]))\n")
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    calls.bindir = bindir
    return calls


def only(fake_tools, *names):
    """Leave only these fake executables (e.g. vitis_hls without vitis-run)."""
    for p in fake_tools.bindir.iterdir():
        if p.name not in names:
            p.unlink()


# -- build_prj.tcl in the stubbed Vitis HLS ---------------------------------------------------
def run_hls(prj: Path, monkeypatch, switches: str | None, argv=()) -> amd_stubs.Interp:
    monkeypatch.chdir(prj)
    if switches is None:
        monkeypatch.delenv(toolflow.SWITCH_ENV, raising=False)
    else:
        monkeypatch.setenv(toolflow.SWITCH_ENV, switches)
    rc, it = amd_stubs.run_tcl("vitis_hls", Path(toolflow.SCRIPT), list(argv))
    it.rc = rc
    return it


@pytest.mark.parametrize("board", BOARDS)
def test_build_prj_tcl_in_stubbed_vitis_hls(tmp_path, monkeypatch, ir_files, board):
    prj = generate(tmp_path, ir_files[4], board)
    b = load_board(board)
    t = toolflow.target(b)
    it = run_hls(prj, monkeypatch, " ".join(toolflow.switch_words(toolflow.SYNTH_SWITCHES)))
    assert (it.rc, it.error) == (0, None)
    cmds = [c for c, _ in it.calls]
    assert cmds == ["open_project", "set_top", "add_files", "add_files", "add_files",
                    "open_solution", "set_part", "create_clock", "csynth_design",
                    "export_design"]
    args = dict(it.calls)
    assert args["open_solution"] == ["-flow_target", t.flow_target, toolflow.SOLUTION]
    assert t.flow_target == {"pynq-z2": "vivado", "alveo-u250": "vitis"}[board]
    assert args["set_part"] == [b.part]
    assert float(args["create_clock"][1]) == pytest.approx(1000 / b.clock_mhz, rel=1e-5)
    assert args["set_top"] == ["hfn_top"]
    # the export lands exactly where the flow and project.json say
    info = load(prj).info
    assert info.vendor.export == t.export
    assert (prj / t.csynth_report).is_file()
    if board == "pynq-z2":
        assert args["export_design"][:2] == ["-format", "ip_catalog"]
        comp = prj / t.export / "component.xml"
        assert amd_stubs.read_component(comp)[0] == "xilinx.com:hls:hfn_top:1.0" \
            == info.vendor.vlnv
    else:
        assert args["export_design"][:2] == ["-format", "xo"]
        assert amd_stubs.read_xo(prj / t.export) == {"hfn_top": {"s_axis", "m_axis"}}
        assert info.vendor.vlnv is None


def test_build_prj_tcl_switch_convention(tmp_path, monkeypatch, ir_files):
    prj = generate(tmp_path, ir_files[2], "pynq-z2")
    # no switch: C simulation and C synthesis, nothing exported
    it = run_hls(prj, monkeypatch, None)
    assert it.rc == 0 and [c for c, _ in it.calls][-2:] == ["csim_design", "csynth_design"]
    assert not (prj / toolflow.TARGETS["zynq"].export).exists()
    # key=value words after `vitis_hls -f build_prj.tcl` (the script's $argv)
    it = run_hls(prj, monkeypatch, None, ["csim=1", "cosim=1"])
    assert it.rc == 0 and [c for c, _ in it.calls][-3:] == ["csim_design", "csynth_design",
                                                            "cosim_design"]
    # the environment and $argv together; reset=1 opens the project with -reset
    it = run_hls(prj, monkeypatch, "csynth=1", ["reset=1"])
    assert it.rc == 0 and dict(it.calls)["open_project"] == ["-reset", "hfn_prj"]
    # the convention before issue 8 (bare words) is refused with the keys to use
    for bad in (["csim"], ["csynth=yes"], ["synth=1"]):
        it = run_hls(prj, monkeypatch, None, bad)
        assert it.rc == 1 and "unknown switch" in it.error and "csim csynth" in it.error


# -- hfn-hls synth PRJ end to end with fake tools ----------------------------------------------
@pytest.mark.parametrize("hls_tool", ["vitis-run", "vitis_hls"])
@pytest.mark.parametrize("board,seed", [("pynq-z2", 4), ("pynq-z2", 2), ("alveo-u250", 4)])
def test_synth_end_to_end(tmp_path, ir_files, fake_tools, capsys, board, seed, hls_tool):
    if hls_tool == "vitis_hls":
        only(fake_tools, "vitis_hls", "vivado", "v++")
    prj = generate(tmp_path, ir_files[seed], board)
    capsys.readouterr()
    assert main(["synth", str(prj)]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    calls = fake_tools()
    runs = [c for c in calls if c[1] == "argv"]
    t = toolflow.target(load_board(board))
    assert all(Path(c[3]) == prj.resolve() for c in runs)      # every tool runs in PRJ/
    assert runs[0][0] == hls_tool and runs[0][2] == toolflow.HLS_ARGS[hls_tool]
    assert runs[0][4] == {toolflow.SWITCH_ENV: "csim=0 csynth=1 cosim=0 export=1"}
    assert all(c[2] == 0 for c in calls if c[1] == "exit")
    hls_calls = [c for c in calls if c[0] == "vitis_hls" and c[1] not in ("argv", "exit")]
    assert [c[1] for c in hls_calls][-2:] == ["csynth_design", "export_design"]

    rep = json.loads((prj / "reports" / "synth_vendor.json").read_text())
    assert rep["board"] == board and rep["csynth"]["latency_worst"] == 41877
    # the part and the clock of build_prj.tcl reached the (stub) C synthesis
    assert rep["csynth"]["target_clock_ns"] == pytest.approx(1000 / load_board(board).clock_mhz,
                                                             abs=0.005)
    assert (prj / "vendor_out" / "ir.json").read_bytes() == (prj / "ir.json").read_bytes()
    if board == "pynq-z2":
        assert [c[0] for c in runs] == [hls_tool, "vivado"]
        assert runs[1][2][-2:] == ["-tclargs", t.export]
        viv = {c[1]: c[2] for c in calls if c[0] == "vivado"}
        cells = [c[2] for c in calls if c[0] == "vivado" and c[1] == "create_bd_cell"]
        assert ["-type", "ip", "-vlnv", "xilinx.com:hls:hfn_top:1.0", "hfn"] in cells
        assert viv["create_project"][-3:] == ["-part", "xc7z020clg400-1", "-force"]
        assert "validate_bd_design" in viv and "report_timing_summary" in viv
        assert (prj / "vendor_out" / "hfn.bit").read_bytes() == \
            b"stub bitstream of hfn_bd_wrapper"
        assert (prj / "vendor_out" / "hfn.hwh").is_file()
        assert rep["source"] == "vivado post-route, hfn_top cell" and rep["lut"] == 9000
        assert rep["fits"] is True and rep["timing"]["timing_met"] is True
    else:
        assert [c[0] for c in runs] == [hls_tool, "v++", "v++", "v++"]
        assert runs[-1][2][-3:] == [t.export, "alveo/hfn_mm2s.xo", "alveo/hfn_s2mm.xo"]
        assert (prj / "vendor_out" / "hfn.xclbin").read_bytes() == \
            b"stub xclbin: hfn_mm2s_1,hfn_s2mm_1,hfn_top_1"
        assert rep["implementation"]["design"]["lut"] > 0
    assert "fits" in out

    # a second run needs --force, which replaces the earlier outputs
    assert main(["synth", str(prj)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["synth", str(prj), "--force", "--json"]) == 0


# -- a wrong switch, VLNV, flow target or file name fails ------------------------------------
OLD_SWITCHES = """array set opt {csim 0 csynth 0 cosim 0 export 0 reset 0}
foreach a $argv { if {[info exists opt($a)]} { set opt($a) 1 } else { error "unknown switch $a" } }
if {!$opt(csim) && !$opt(csynth) && !$opt(cosim) && !$opt(export)} { set opt(csim) 1; set opt(csynth) 1 }
"""


def _revert_switches(tcl: str) -> str:
    a = tcl.index("array set opt")
    b = tcl.index("if {$opt(reset)}")
    return tcl[:a] + OLD_SWITCHES + "\n" + tcl[b:]


TCL_MUTANTS = {
    # name: (boards, mutation of build_prj.tcl, the reason the run must fail for)
    # the switch parsing of build_prj.tcl before issue 8 (bare words): nothing exported
    "old switch convention": (BOARDS, _revert_switches, "exported no"),
    # the VLNV build_prj.tcl exported before issue 8
    "old VLNV": (["pynq-z2"], lambda t: t.replace("-vendor xilinx.com -library hls",
                                                  "-vendor hfn-hls -library hfn"),
                 "IP is hfn-hls:hfn:hfn_top:1.0"),
    # the flow target build_prj.tcl always used before issue 8
    "alveo -flow_target vivado": (["alveo-u250"], lambda t: t.replace(
        "-flow_target vitis", "-flow_target vivado"), "a .xo comes from -flow_target vitis"),
    # the whole export of before: Vivado flow target, IP catalog, also on Alveo
    "alveo old export": (["alveo-u250"], lambda t: t.replace(
        "-flow_target vitis", "-flow_target vivado").replace(
        t[t.index("export_design"):t.index(" }\nexit")],
        "export_design -format ip_catalog -vendor hfn-hls -library hfn -ipname hfn_top"),
        "exported no kernel object"),
    # wrong file or function names
    "wrong source file": (BOARDS, lambda t: t.replace("firmware/hfn_top.cpp",
                                                      "firmware/top.cpp"),
                          "cannot find firmware/top.cpp"),
    "wrong top": (BOARDS, lambda t: t.replace("set_top hfn_top", "set_top hfn"),
                  "top function hfn not found"),
    "xo without -output": (["alveo-u250"], lambda t: t.replace(
        t[t.index(" -output"):t.index(" }\nexit")], ""), "exported no kernel object"),
    "no export": (BOARDS, lambda t: t.replace("if {$opt(export)}", "if {0}"), "exported no"),
}
CASES = [(name, b) for name, (boards, *_) in TCL_MUTANTS.items() for b in boards]


def failure_text(prj: Path, err: str) -> str:
    """The one-line error plus the HLS log it points to (where the stub's reason is)."""
    logs = [p.read_text() for p in sorted(prj.glob("*/hls.log"))]
    return "\n".join([err, *logs])


@pytest.mark.parametrize("mutant,board", CASES, ids=[f"{m}-{b}" for m, b in CASES])
def test_reverted_conventions_fail(tmp_path, ir_files, fake_tools, capsys, mutant, board):
    prj = generate(tmp_path, ir_files[4], board)
    tcl = prj / toolflow.SCRIPT
    _, mutate, reason = TCL_MUTANTS[mutant]
    new = mutate(tcl.read_text())
    assert new != tcl.read_text()
    tcl.write_text(new)
    capsys.readouterr()
    assert main(["synth", str(prj)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert reason in failure_text(prj, err)
    assert not (prj / "reports" / "synth_vendor.json").exists()


PY_MUTANTS = {"alveo target vivado": "a .xo comes from -flow_target vitis",
              "switch env": "exported no IP",
              "switches in argv": "got ['csim=0', 'csynth=1', 'cosim=0', 'export=1']"}


@pytest.mark.parametrize("mutant", PY_MUTANTS)
def test_reverted_python_conventions_fail(tmp_path, ir_files, fake_tools, capsys,
                                          monkeypatch, mutant):
    """The same, changed in the one owner (project/toolflow.py) instead of the TCL."""
    board = "alveo-u250" if mutant == "alveo target vivado" else "pynq-z2"
    if mutant == "alveo target vivado":     # generated and run with the old flow target
        old = toolflow.TARGETS["alveo"]
        monkeypatch.setitem(toolflow.TARGETS, "alveo", toolflow.Target(
            "alveo", "vivado", old.export_format, old.export, old.work))
    prj = generate(tmp_path, ir_files[4], board)
    if mutant == "switch env":             # the flow sets a variable the TCL does not read
        monkeypatch.setattr(toolflow, "SWITCH_ENV", "HFN_SWITCHES")
    if mutant == "switches in argv":        # the command line of before issue 8
        monkeypatch.setitem(toolflow.HLS_ARGS, "vitis-run", ["--mode", "hls", "--tcl",
                            "build_prj.tcl", "csim=0", "csynth=1", "cosim=0", "export=1"])
    capsys.readouterr()
    assert main(["synth", str(prj)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert PY_MUTANTS[mutant] in failure_text(prj, err)


def test_block_design_needs_the_exported_ip(tmp_path, ir_files, fake_tools, monkeypatch):
    """build_bd.tcl in the stubbed Vivado: an IP repository holding another VLNV (the
    export of before issue 8) leaves hfn_top out of the catalog, as in Vivado."""
    prj = generate(tmp_path, ir_files[4], "pynq-z2")
    assert main(["synth", str(prj)]) == 0
    comp = prj / toolflow.TARGETS["zynq"].export / "component.xml"
    comp.write_text(comp.read_text().replace(">xilinx.com<", ">hfn-hls<"))
    monkeypatch.chdir(prj)
    for d in ("vendor_out", "vivado/hfn_vivado"):
        subprocess.run(["rm", "-rf", d], check=True)
    os.mkdir("vendor_out")
    rc, it = amd_stubs.run_tcl("vivado", Path("vivado/build_bd.tcl"),
                               [toolflow.TARGETS["zynq"].export])
    assert rc == 1 and "xilinx.com:hls:hfn_top:1.0' is not in the IP catalog" in it.error
    # and without the IP folder argument the script stops with its own message
    rc, it = amd_stubs.run_tcl("vivado", Path("vivado/build_bd.tcl"), [])
    assert rc == 2


# -- without the tools ---------------------------------------------------------------------------
@pytest.mark.parametrize("board,tools", [("pynq-z2", ["vitis-run or vitis_hls", "vivado"]),
                                         ("alveo-u250", ["vitis-run or vitis_hls", "v++"])])
def test_missing_tools_exit_2_on_generated_project(tmp_path, ir_files, board, tools):
    prj = generate(tmp_path, ir_files[4], board)
    before = snapshot(prj)
    empty = tmp_path / "emptybin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": str(FRONTEND)}
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", "synth", str(prj)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    for t in tools:
        assert t in r.stderr
    assert ("HFN_HLS_SWITCHES='csim=0 csynth=1 cosim=0 export=1' vitis-run --mode hls "
            "--tcl build_prj.tcl") in r.stderr
    assert snapshot(prj) == before


def test_not_a_project(tmp_path, capsys):
    assert main(["synth", str(tmp_path)]) == 2
    assert "not an hfn-hls project" in capsys.readouterr().err


def test_failing_tool_is_reported(tmp_path, ir_files, fake_tools, capsys):
    prj = generate(tmp_path, ir_files[4], "pynq-z2")
    (fake_tools.bindir / "vivado").write_text("#!/bin/sh\nexit 3\n")
    capsys.readouterr()
    assert main(["synth", str(prj)]) == 2
    err = capsys.readouterr().err
    assert "exit code 3" in err and "vivado.stdout.log" in err
    assert not (prj / "reports" / "synth_vendor.json").exists()
