"""``run_vendor_synth``: refusal without vendor tools (nothing written, exit 2 through the
CLI), and the orchestration with FAKE vendor tools — small scripts put on PATH by this
test that stand in for vitis-run and vivado: they record their arguments and write the
files the real tools would (the report fixtures of test_vendor_reports).  They check
the flow's commands, order, file handling and report; they synthesise nothing."""
from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from argparse import Namespace
from pathlib import Path

import pytest

from hfn_hls.boards import load_board
from hfn_hls.errors import HfnError
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.vendor.flow import run_vendor_synth
from test_vendor_reports import CSYNTH_XML, TIMING, UTIL_7SERIES

COMPONENT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<spirit:component xmlns:spirit="http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009">
  <spirit:vendor>xilinx.com</spirit:vendor>
  <spirit:library>hls</spirit:library>
  <spirit:name>hfn_top</spirit:name>
  <spirit:version>1.0</spirit:version>
</spirit:component>
"""


def make_project(root: Path, board: str = "pynq-z2") -> Path:
    """A project folder as `hfn-hls generate` lays it out (the HLS sources are not needed
    by this flow's own code, so build_prj.tcl here is a placeholder file)."""
    prj = root / "prj"
    prj.mkdir()
    b = load_board(board)
    prj.joinpath("project.json").write_text(json.dumps(
        {"name": "random5", "board": b.name, "part": b.part, "clock_mhz": b.clock_mhz}))
    random_graph(5).save(prj / "ir.json")
    prj.joinpath("build_prj.tcl").write_text("# placeholder for the HLS engineer's script\n")
    return prj


def snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture
def no_tools(tmp_path, monkeypatch):
    empty = tmp_path / "emptybin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.parametrize("board,tools", [("pynq-z2", ["vitis-run or vitis_hls", "vivado"]),
                                         ("zcu104", ["vitis-run or vitis_hls", "vivado"]),
                                         ("alveo-u250", ["vitis-run or vitis_hls", "v++"])])
def test_missing_tools_refused_before_writing(tmp_path, no_tools, board, tools):
    prj = make_project(tmp_path, board)
    before = snapshot(prj)
    with pytest.raises(HfnError) as e:
        run_vendor_synth(prj, Namespace(force=False))
    msg = str(e.value)
    assert "\n" not in msg
    for t in tools:
        assert t in msg
    assert "vitis-run --mode hls --tcl build_prj.tcl csim=0 csynth=1 cosim=0 export=1" in msg
    if board == "alveo-u250":
        assert "v++ -l -t hw --config alveo/link.cfg" in msg
    else:
        assert "vivado -mode batch -nojournal -log vivado/vivado.log -source vivado/build_bd.tcl" in msg
    assert snapshot(prj) == before


def test_missing_tools_through_cli(tmp_path, no_tools, capsys):
    from hfn_hls.cli import main
    prj = make_project(tmp_path)
    assert main(["synth", str(prj)]) == 2
    err = capsys.readouterr().err
    assert "vivado" in err and "vitis-run or vitis_hls" in err and len(err.strip().splitlines()) == 1


def test_not_a_project(tmp_path):
    with pytest.raises(HfnError, match="not a project folder"):
        run_vendor_synth(tmp_path, Namespace())


def _fake_tool(bindir: Path, name: str, body: str) -> None:
    p = bindir / name
    p.write_text(f"#!{sys.executable}\n# FAKE {name} for tests: no synthesis happens.\n"
                 "import json, os, sys, pathlib\n"
                 f"pathlib.Path(os.environ['FAKE_LOG']).open('a').write("
                 f"json.dumps([{name!r}, os.getcwd(), sys.argv[1:]]) + '\\n')\n"
                 + textwrap.dedent(body))
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    fx = tmp_path / "fixtures"
    fx.mkdir()
    for n, t in (("csynth.xml", CSYNTH_XML), ("component.xml", COMPONENT_XML),
                 ("util.rpt", UTIL_7SERIES), ("timing.rpt", TIMING)):
        (fx / n).write_text(t)
    _fake_tool(bindir, "vitis-run", f"""
        assert pathlib.Path('build_prj.tcl').is_file()
        fx = pathlib.Path({str(fx)!r})
        sol = pathlib.Path('hfn_prj/solution1')
        for rel, src in (('syn/report/hfn_top_csynth.xml', 'csynth.xml'),
                         ('impl/ip/component.xml', 'component.xml')):
            (sol / rel).parent.mkdir(parents=True, exist_ok=True)
            (sol / rel).write_text((fx / src).read_text()
                                   .replace('>hls<', os.environ.get('FAKE_IP_LIB', '>hls<')))
        print('fake vitis-run done')
        """)
    _fake_tool(bindir, "vivado", f"""
        a = sys.argv[1:]
        tcl = pathlib.Path(a[a.index('-source') + 1])
        assert tcl.is_file() and 'create_bd_design' in tcl.read_text()
        ip = pathlib.Path(a[a.index('-tclargs') + 1])
        assert (ip / 'component.xml').is_file()
        fx = pathlib.Path({str(fx)!r})
        out = pathlib.Path('vendor_out')
        (out / 'hfn.bit').write_bytes(b'fake bitstream')
        (out / 'hfn.hwh').write_text('<fake/>')
        (out / 'utilization.rpt').write_text((fx / 'util.rpt').read_text())
        (out / 'utilization_hfn.rpt').write_text((fx / 'util.rpt').read_text()
            .replace('| 12011 |', '|  9000 |'))
        (out / 'timing_summary.rpt').write_text((fx / 'timing.rpt').read_text())
        sys.exit(int(os.environ.get('FAKE_VIVADO_RC', '0')))
        """)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_flow_with_fake_tools(tmp_path, fake_tools, capsys):
    prj = make_project(tmp_path)
    assert run_vendor_synth(prj, Namespace(force=False, json=False)) == 0
    calls = [json.loads(l) for l in fake_tools.read_text().splitlines()]
    assert [c[0] for c in calls] == ["vitis-run", "vivado"]
    assert all(Path(c[1]) == prj.resolve() for c in calls)
    assert calls[0][2] == ["--mode", "hls", "--tcl", "build_prj.tcl",
                           "csim=0", "csynth=1", "cosim=0", "export=1"]
    assert calls[1][2][-2:] == ["-tclargs", "hfn_prj/solution1/impl/ip"]
    assert (prj / "vivado" / "hls.log").read_text().strip() == "fake vitis-run done"
    assert (prj / "vendor_out" / "ir.json").read_bytes() == (prj / "ir.json").read_bytes()

    rep = json.loads((prj / "reports" / "synth_vendor.json").read_text())
    assert rep["board"] == "pynq-z2" and rep["tools"] == {
        "C synthesis + IP export": "vitis-run", "Vivado block design -> bitstream": "vivado"}
    assert rep["csynth"]["latency_worst"] == 41877
    assert rep["source"] == "vivado post-route, hfn_top cell"
    assert (rep["lut"], rep["ff"], rep["bram"], rep["dsp"]) == (9000, 14022, 29, 2)
    assert rep["implementation"]["design"]["lut"] == 12011
    assert rep["fits"] is True and rep["timing"]["timing_met"] is True
    assert "fits: True" in capsys.readouterr().out

    with pytest.raises(HfnError, match="--force"):
        run_vendor_synth(prj, Namespace(force=False))
    assert run_vendor_synth(prj, Namespace(force=True, json=True)) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 2)[2])["board"] == "pynq-z2"


def test_failing_tool_is_reported(tmp_path, fake_tools, monkeypatch):
    monkeypatch.setenv("FAKE_VIVADO_RC", "3")
    prj = make_project(tmp_path)
    with pytest.raises(HfnError, match=r"vivado .*exit code 3.*vivado\.stdout\.log"):
        run_vendor_synth(prj, Namespace())
    assert not (prj / "reports" / "synth_vendor.json").exists()


def test_stale_export_ignored_wrong_vlnv_refused(tmp_path, fake_tools, monkeypatch):
    prj = make_project(tmp_path)
    # an older HLS run left a differently named IP behind: the newest export is used
    comp = prj / "old" / "impl" / "ip" / "component.xml"
    comp.parent.mkdir(parents=True)
    comp.write_text(COMPONENT_XML.replace(">hls<", ">mylib<"))
    os.utime(comp, (0, 0))
    assert run_vendor_synth(prj, Namespace()) == 0
    # this run's export has the wrong VLNV: refused before Vivado runs
    monkeypatch.setenv("FAKE_IP_LIB", ">mylib<")
    with pytest.raises(HfnError, match="IP is xilinx.com:mylib:hfn_top:1.0"):
        run_vendor_synth(prj, Namespace(force=True))
    calls = [json.loads(l)[0] for l in fake_tools.read_text().splitlines()]
    assert calls == ["vitis-run", "vivado", "vitis-run"]
