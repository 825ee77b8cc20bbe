"""``--lanes auto`` against the real open flow (docs/rtl.md, "Automatic parallelism"): on a
board of each family with a resource table — pynq-z2 (xc7z020, Yosys ``synth_xilinx``) and
orangecrab (ECP5 LFE5U-25F, the smallest board: Yosys ``synth_ecp5``, ``synth --open
--no-pnr``: the issue asks for the Yosys result; nextpnr would double the run time) — a
small network is generated with the default ``--lanes auto``, the project is synthesised
with ``hfn-hls synth --open``, and the design must fit, with no DSP on xc7, and the
resource model must be near what Yosys counts (its table is that family's).

The network is tiny on purpose (4x4 image, at most 4 channels) and keeps the runs short
(the suite budget).  It is one of the calibration points of the xc7 table (``test11``)
and of the ECP5 table at P16S2: an engine change that moves the logic fails the 25 %
check — refit then (docs/rtl.md).  Its activation codes are 4 bits wide (XW = 4): with
other widths the fill's sub-word select multiplied by 8 * XW (now a word-array select,
docs/rtl.md)."""
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


@pytest.mark.parametrize("board", ["pynq-z2", "orangecrab"])
def test_auto_lanes_fit_under_yosys(tmp_path, capsys, board):
    """``generate`` (auto) prints the choice and its prediction; ``synth --open`` (ECP5:
    ``--no-pnr``, Yosys only) fits the board, uses no DSP on Xilinx, prints the prediction
    beside the measurement, and the model's LUT / FF are within FACTOR of Yosys' count and
    its block RAMs not below it."""
    g = _graph()
    g.save(tmp_path / "g.json")
    prj = tmp_path / "prj"
    assert main(["generate", str(tmp_path / "g.json"), "-o", str(prj), "--board", board,
                 "--vectors", "1"]) == 0
    out = capsys.readouterr().out
    assert "chosen by --lanes auto" in out and "predicted:" in out
    desc = json.loads((prj / "rtl" / "rtl.json").read_text())
    pred = desc["predicted"]
    b = load_board(board)
    assert desc["engine"] == "pixel" and pred["family"] == family(b.family).name
    extra = ["--no-pnr"] if b.family == "ecp5" else []
    assert main(["synth", str(prj), "--open", *extra]) == 0
    out = capsys.readouterr().out
    assert "predicted by the resource model" in out and "against measured" in out
    rep = json.loads((prj / "reports" / "synth_open.json").read_text())
    assert rep["fits"] is True, rep
    assert rep["predicted"] == pred
    fam = family(b.family)
    if b.family == "ecp5":       # Yosys' count; the table is in nextpnr's placed LUT4s
        assert rep["clock_source"] == "nominal" and "synth_ecp5" in rep["flow"]
        # synth_ecp5 maps the engine's small constant multiplications (x 3 in
        # hfn_pl_route.v and hfn_pl_src_hfn.v) to MULT18X18D (docs/rtl.md): they are
        # counted in ``fits``, not required to be 0 (the issue asks 0 DSP on xc7)
    else:
        assert rep["dsp"] == 0, rep["dsp"]
    got = {"lut": rep["lut"] * fam.pnr_lut, "ff": rep["ff"]}
    assert got["lut"] <= b.resources["lut"], (got, b.resources)
    for k in ("lut", "ff"):
        assert abs(got[k] / pred[k] - 1) < FACTOR, (k, got[k], pred)
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


@pytest.mark.parametrize("fam", ["xc7", "ecp5"])
def test_model_reproduces_its_test_network_points(fam):
    """The family's table predicts its own measured points of the test's network (the
    ``test11`` entries of ``Family.calibration``) within 15 % (LUT, FF: the fits leave
    +8 % on xc7, +11 % on ECP5): a table edited
    without a refit fails here, before the slow synthesis test."""
    from hfn_hls.rtl_backend.pixel.config import parse_pixel
    a = Analysis(_graph())
    pts = {k: v for k, v in family(fam).calibration.items() if k.startswith("test11 ")}
    assert pts
    for name, m in pts.items():
        e = estimate(a, parse_pixel(name.split()[1]), fam)
        for k in ("lut", "ff"):
            assert abs(getattr(e, k) / m[k] - 1) < 0.15, (name, k, getattr(e, k), m[k])
