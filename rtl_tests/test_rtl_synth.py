"""Open synthesis (Yosys synth_xilinx) of a small generated design through the CLI:
figures parsed, written to PRJ/reports/; no DSP when the MACs are add/subtract/skip
(hfn), one DSP per lane when stored weights make them multiply."""
from __future__ import annotations

import json

from hfn_hls.cli import main
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.rtl_backend import write_rtl


def test_synth_open_small(tmp_path, capsys):
    prj = tmp_path / "prj"
    g = random_graph(2, max_width=4, image=4, in_ch=1, classes=2)
    prj.mkdir()
    g.save(prj / "ir.json")
    write_rtl(g, None, parse_lanes("2x2"), prj / "rtl")
    assert main(["synth", str(prj), "--open", "--board", "pynq-z2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rep = json.loads((prj / "reports" / "synth_open.json").read_text())
    assert out == rep
    for k in ("lut", "ff", "bram", "dsp", "fits"):
        assert k in rep
    assert rep["dsp"] == 0
    assert rep["lut"] > 100 and rep["ff"] > 100
    assert rep["fits"] is True
    assert rep["capacity"]["lut"] == 53200


def test_synth_open_stored_weights_use_one_dsp_per_lane(tmp_path, capsys):
    """A design with stored (5-bit) weights multiplies in its lanes: Yosys maps each of the
    P_OUT x P_IN lane multipliers to one DSP48 (docs/rtl.md, "Multipliers"), and the
    report says so."""
    prj = tmp_path / "prj"
    g = random_graph(2, max_width=4, image=4, in_ch=1, classes=2, stored=1.0, weight_bits=5)
    assert {l.source for l in g.layers.values()} == {"stored"}
    prj.mkdir()
    g.save(prj / "ir.json")
    write_rtl(g, None, parse_lanes("2x2"), prj / "rtl")
    assert main(["synth", str(prj), "--open", "--board", "pynq-z2", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["dsp"] == 4, rep
    assert rep["fits"] is True
