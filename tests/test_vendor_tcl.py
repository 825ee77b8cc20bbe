"""The generated vendor scripts, board by board: part, clock, IPs and connections are
checked on the text (no vendor tool runs here)."""
from __future__ import annotations

import re

import pytest

from hfn_hls import boards
from hfn_hls.errors import HfnError
from hfn_hls.vendor import alveo, vivado_bd

ZYNQ = [b for b in boards.available() if boards.load_board(b).flow == "zynq"]
ALVEO = [b for b in boards.available() if boards.load_board(b).flow == "alveo"]
OPEN = [b for b in boards.available() if boards.load_board(b).flow == "open"]


def test_every_board_has_a_flow():
    assert set(ZYNQ) | set(ALVEO) | set(OPEN) == set(boards.available())
    assert {"pynq-z2", "zcu104", "zcu102", "kv260"} <= set(ZYNQ) and "alveo-u250" in ALVEO
    assert {"ulx3s", "orangecrab"} <= set(OPEN)     # no vendor flow: docs/open-flow.md


def _cells(tcl: str) -> dict[str, str]:
    """cell name -> VLNV (or the IP name for version-free look-ups)."""
    out = {}
    for m in re.finditer(r"^create_bd_cell -type ip -vlnv (\S+|\[ipdef (\S+)\]) (\w+)$", tcl, re.M):
        out[m.group(3)] = m.group(2) or m.group(1)
    return out


def _intf(tcl: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^connect_bd_intf_net \[get_bd_intf_pins (\S+)\] "
                          r"\[get_bd_intf_pins (\S+)\]$", tcl, re.M))


def _nets(tcl: str) -> dict[str, set[str]]:
    out = {}
    for line in re.findall(r"^connect_bd_net (.*)$", tcl, re.M):
        pins = re.findall(r"\[get_bd_pins (\S+)\]", line)
        out[pins[0]] = set(pins[1:])
    return out


def _props(tcl: str, cell: str) -> dict[str, str]:
    m = re.search(r"^set_property -dict \[list (.*)\] \[get_bd_cells " + cell + r"\]$", tcl, re.M)
    return dict(re.findall(r"CONFIG\.(\w+) \{([^}]*)\}", m.group(1)))


@pytest.mark.parametrize("name", ZYNQ)
@pytest.mark.parametrize("cin", [1, 3, 4])
def test_zynq_block_design(name, cin):
    b = boards.load_board(name)
    tcl = vivado_bd.bd_tcl(b, cin, "netx")
    assert re.search(rf"^create_project hfn_vivado \$viv_dir -part {re.escape(b.part)} -force$",
                     tcl, re.M)
    cells = _cells(tcl)
    ps_ip = b.get("ps")
    assert cells["ps"] == f"xilinx.com:ip:{ps_ip}:*"
    assert cells["dma"] == "xilinx.com:ip:axi_dma:*"
    assert cells["hfn"] == "xilinx.com:hls:hfn_top:1.0"
    assert cells["ctrl_ic"] == cells["mem_ic"] == "xilinx.com:ip:smartconnect:*"
    assert cells["rst"] == "xilinx.com:ip:proc_sys_reset:*"
    assert "set_property ip_repo_paths [list $ip_repo] [current_project]" in tcl

    # clock: the PS's PL clock is set to the board's frequency
    ps = _props(tcl, "ps")
    clk_key = ("PCW_FPGA0_PERIPHERAL_FREQMHZ" if ps_ip == "processing_system7"
               else "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ")
    assert float(ps[clk_key]) == b.clock_mhz

    # DMA: simple mode, both directions, stream widths from the input channels and 32
    dma = _props(tcl, "dma")
    assert dma["c_include_sg"] == "0" and dma["c_include_mm2s"] == dma["c_include_s2mm"] == "1"
    assert dma["c_s_axis_s2mm_tdata_width"] == "32"
    want_dma_w = 8 * cin if 8 * cin in vivado_bd.DMA_STREAM_WIDTHS else 8
    assert dma["c_m_axis_mm2s_tdata_width"] == str(want_dma_w)

    intf = _intf(tcl)
    if 8 * cin == want_dma_w:
        assert ("dma/M_AXIS_MM2S", "hfn/s_axis") in intf and "in_conv" not in cells
    else:   # 3 channels = 24-bit pixels: bytes from the DMA, packed by a width converter
        assert ("dma/M_AXIS_MM2S", "in_conv/S_AXIS") in intf
        assert ("in_conv/M_AXIS", "hfn/s_axis") in intf
        conv = _props(tcl, "in_conv")
        assert conv["S_TDATA_NUM_BYTES"] == "1" and conv["M_TDATA_NUM_BYTES"] == str(cin)
    assert ("hfn/m_axis", "dma/S_AXIS_S2MM") in intf
    master, slave = (("M_AXI_GP0", "S_AXI_HP0") if ps_ip == "processing_system7"
                     else ("M_AXI_HPM0_FPD", "S_AXI_HP0_FPD"))
    assert {(f"ps/{master}", "ctrl_ic/S00_AXI"), ("ctrl_ic/M00_AXI", "dma/S_AXI_LITE"),
            ("dma/M_AXI_MM2S", "mem_ic/S00_AXI"), ("dma/M_AXI_S2MM", "mem_ic/S01_AXI"),
            ("mem_ic/M00_AXI", f"ps/{slave}")} <= intf

    nets = _nets(tcl)
    clk = "ps/FCLK_CLK0" if ps_ip == "processing_system7" else "ps/pl_clk0"
    assert {"hfn/ap_clk", "dma/s_axi_lite_aclk", "dma/m_axi_mm2s_aclk", "dma/m_axi_s2mm_aclk",
            "ctrl_ic/aclk", "mem_ic/aclk", "rst/slowest_sync_clk"} <= nets[clk]
    assert {"hfn/ap_rst_n", "dma/axi_resetn"} <= nets["rst/peripheral_aresetn"]
    # every pin used belongs to a cell that was created
    pins = {p for pair in intf for p in pair} | set(nets) | {p for s in nets.values() for p in s}
    assert {p.split("/")[0] for p in pins} <= set(cells)

    for cmd in ("assign_bd_address", "validate_bd_design",
                "add_files -norecurse [make_wrapper -files $bd_file -top]",
                "launch_runs impl_1 -to_step write_bitstream -jobs 2"):
        assert re.search(rf"^{re.escape(cmd)}$", tcl, re.M), cmd
    assert "[file join $out_dir hfn.bit]" in tcl and "[file join $out_dir hfn.hwh]" in tcl
    assert vivado_bd.bd_tcl(b, cin, "netx") == tcl                  # deterministic
    assert "/work" not in tcl and "/tmp" not in tcl                 # no absolute paths


@pytest.mark.parametrize("name", ALVEO)
def test_alveo_link(name):
    b = boards.load_board(name)
    cfg = alveo.link_cfg(b)
    lines = cfg.splitlines()
    assert f"platform={b.get('platform')}" in lines
    assert f"kernel_frequency={int(b.clock_mhz)}" in lines
    assert "[connectivity]" in lines
    for k in ("hfn_mm2s", "hfn_top", "hfn_s2mm"):
        assert f"nk={k}:1:{k}_1" in lines
    assert "stream_connect=hfn_mm2s_1.out:hfn_top_1.s_axis" in lines
    assert "stream_connect=hfn_top_1.m_axis:hfn_s2mm_1.in" in lines
    link = alveo.link_args(b, "hls/impl/export.xo")
    assert link[:3] == ["-l", "-t", "hw"] and "alveo/link.cfg" in link
    assert link[-3:] == ["hls/impl/export.xo", "alveo/hfn_mm2s.xo", "alveo/hfn_s2mm.xo"]
    assert ["--platform", b.get("platform")] == alveo.compile_args(b, "hfn_mm2s")[3:5]
    src = alveo.mm2s_cpp(32, 32, 3)
    assert "#define HFN_PIXELS 1024" in src and "#define HFN_IN_W 24" in src
    assert "beat.last = (p == HFN_PIXELS - 1);" in src
    assert "#define HFN_CLASSES 10" in alveo.s2mm_cpp(10)


def test_wrong_flow_is_refused():
    with pytest.raises(HfnError, match="no Vivado block design"):
        vivado_bd.bd_tcl(boards.load_board(ALVEO[0]), 3, "x")
    with pytest.raises(HfnError, match="not an Alveo board"):
        alveo.link_cfg(boards.load_board(ZYNQ[0]))
