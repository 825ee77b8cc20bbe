"""``--lanes auto`` against the real open flow (docs/rtl.md, "Automatic parallelism"): on a
board of each family with a resource table — pynq-z2 (xc7z020, Yosys ``synth_xilinx``) and
orangecrab (ECP5 LFE5U-25F, the smallest board: Yosys ``synth_ecp5`` + nextpnr, which
places and routes) — a small network is generated with the default ``--lanes auto``, the
project is synthesised with ``hfn-hls synth --open``, and the design must fit, with no DSP,
and the resource model must be near what the tools count (its table is that family's).

The network is tiny on purpose (4x4 image, at most 4 channels, 2-bit activations: the
stand-in requant units' threshold banks are small) and keeps the runs short (the suite
budget): auto picks P16S4 on pynq-z2 and P16S2 on orangecrab, about 13,000 LUT / LUT4.
It is not one of the calibration points of the model (docs/rtl.md).  Its activation
codes are 4 bits wide (XW = 4): with other widths the fill's sub-word select multiplies
by 8 * XW and synth_xilinx maps that to DSP48 (docs/rtl.md), so 0 DSP holds here."""
from __future__ import annotations

import json

import pytest

from hfn_hls.boards import load_board
from hfn_hls.cli import main
from hfn_hls.ir.model import Graph
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.rtl_backend.pixel.config import PixelConfig
from hfn_hls.rtl_backend.pixel.resources import Analysis, estimate, family, fits

# how far the model may be from the tool's count (LUT and FF): honest, not a pass-all
FACTOR = 0.25


def _graph() -> Graph:
    return random_graph(11, max_width=4, image=4, in_ch=1, classes=2)


@pytest.mark.slow      # informational (the suite runs it): 5.5 min at load 2, 9.7 at load 6
@pytest.mark.parametrize("board", ["pynq-z2", "orangecrab"])
def test_auto_lanes_fit_under_yosys(tmp_path, capsys, board):
    """``generate`` (auto) prints the choice and its prediction; ``synth --open`` fits the
    board (ECP5: nextpnr placed and routed it), uses no DSP on Xilinx, prints the prediction beside
    the measurement, and the model's LUT / FF are within FACTOR of the tool's count and its
    block RAMs not below it.  pynq-z2 also runs ``sim --json`` (cycle figures)."""
    g = _graph()
    g.save(tmp_path / "g.json")
    prj = tmp_path / "prj"
    assert main(["generate", str(tmp_path / "g.json"), "-o", str(prj), "--board", board,
                 "--vectors", "2"]) == 0
    out = capsys.readouterr().out
    assert "chosen by --lanes auto" in out and "predicted:" in out
    desc = json.loads((prj / "rtl" / "rtl.json").read_text())
    pred = desc["predicted"]
    b = load_board(board)
    assert desc["engine"] == "pixel" and pred["family"] == family(b.family).name
    if board == "pynq-z2":       # the CLI path: sim --json reports the cycle figures
        assert main(["sim", str(prj), "-n", "2", "--json"]) == 0
        sim = json.loads(capsys.readouterr().out)
        assert sim["mismatches"] == 0 and sim["vectors"] == 2
        assert sim["cycles_per_inference"] > 0
        assert sim["dense_ideal_cycles"] == desc["dense_ideal_cycles"]
    assert main(["synth", str(prj), "--open"]) == 0
    out = capsys.readouterr().out
    assert "predicted by the resource model" in out and "against measured" in out
    rep = json.loads((prj / "reports" / "synth_open.json").read_text())
    assert rep["fits"] is True, rep
    assert rep["predicted"] == pred
    if b.family == "ecp5":       # placed and routed: nextpnr's counts and a bitstream
        assert rep["clock_source"] == "nextpnr" and rep["bitstream_bytes"] > 0
        # synth_ecp5 maps the engine's small constant multiplications (x 3 in
        # hfn_pl_route.v and hfn_pl_src_hfn.v) to MULT18X18D (docs/rtl.md): they are
        # counted in ``fits``, not required to be 0 (the issue asks 0 DSP on xc7)
    else:
        assert rep["dsp"] == 0, rep["dsp"]
    for k in ("lut", "ff"):
        assert abs(rep[k] / pred[k] - 1) < FACTOR, (k, rep[k], pred)
    assert rep["bram"] <= pred["bram_18k"], (rep["bram"], pred)


@pytest.mark.parametrize("board", ["pynq-z2", "orangecrab"])
def test_auto_lanes_refuse_what_would_not_fit(board):
    """The model refuses, on the same network, the first stream count whose LUTs exceed
    the margin — and the family's table is what decides: the same configuration costs more
    LUT4s (ECP5) than LUT6s (xc7)."""
    a = Analysis(_graph())
    b = load_board(board)
    s = 1
    while fits(estimate(a, PixelConfig(16, s), b.family), b):
        s += 1
    over = estimate(a, PixelConfig(16, s), b.family)
    assert over.lut > 0.8 * b.resources["lut"] or over.ff > 0.8 * b.resources["ff"] \
        or over.bram > 0.8 * b.resources["bram_18k"]
    assert s > 1                  # the single-stream choice of the other test does fit
    x, e = estimate(a, PixelConfig(16, 2), "xc7"), estimate(a, PixelConfig(16, 2), "ecp5")
    assert e.lut > x.lut


def test_auto_lanes_refuse_a_measured_misfit():
    """A design measured NOT to fit the orangecrab (tiny0 P16S1: 40,791 LUT4 placed by
    nextpnr against 24,288, docs/rtl.md) is refused by the ecp5 table — the xc7-only model
    before it predicted 10,038 and accepted it; on the pynq-z2 the same design measured
    36,541 LUT6 (69 %) and the xc7 table accepts it (within the 80 % margin)."""
    a = Analysis(random_graph(0, max_width=1, image=4, in_ch=1, classes=2))
    cfg = PixelConfig(16, 1)
    oc, pz = load_board("orangecrab"), load_board("pynq-z2")
    assert not fits(estimate(a, cfg, oc.family), oc, margin=1.0)
    assert fits(estimate(a, cfg, pz.family), pz)
