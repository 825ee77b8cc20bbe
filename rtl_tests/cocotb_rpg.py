"""cocotb test of the ``rpg`` weight generator (rtl/hfn_wgen_rpg.v) against the layers of
test_vectors/rpg.json, driven through the port contract exactly as the stored and hfn
generators are (cocotb_units._generator).  Driven by test_rtl_rpg.py."""
from __future__ import annotations

import cocotb

from cocotb_units import CFG, _generator


@cocotb.test()
async def rpg_weight_generator(dut):
    """Every chunk of every group of each vector layer, two output pixels each: the
    weights ring[(a*i + b) mod N] * sign_i one cycle after the issue (0 past n)."""
    for layer in CFG["rpg_layers"]:
        await _generator(dut, dut.gen_w, CFG["wb"], layer)
