"""The C++ LFSR (hls_templates/hfn_lfsr.h) against test_vectors/lfsr.json; the C++ weight
generator of source hfn (hls_templates/hfn_wgen_hfn.h) against the layers' weights."""
from __future__ import annotations

import json
import subprocess

import pytest

from hfn_hls import lfsr
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.weights import get_source
from hfn_hls.weights.hfn import channel_mask_words, mask_of

from hfn_hls import mask as maskpack
from hfn_hls.hls.csim import ap_types_dir, compiler
from hfn_hls.paths import HLS_TEMPLATES, TEST_VECTORS

from wgen_contract import check_cpp_generators

VEC = json.loads((TEST_VECTORS / "lfsr.json").read_text())
STEP_LIMIT = 1 << 20     # the C++ only steps; larger jumps are the Python GF(2) jump's job

PROGRAM = r"""
#include <cstdio>
#include <cstring>
#include "hfn_lfsr.h"
template <int P> void leap(unsigned seed) {
    hfn::lfsr_t s = seed;
    ap_uint<P> b = hfn::lfsr_leap<P>(s);
    for (int j = 0; j < P; j++) std::printf("%d", (int)b[j]);
    std::printf(" %u\n", (unsigned)s);
}
int main() {
    char cmd[16]; unsigned seed; unsigned long n;
    while (std::scanf("%15s %u %lu", cmd, &seed, &n) == 3) {
        hfn::lfsr_t s = seed;
        if (!std::strcmp(cmd, "bits")) {
            for (unsigned long i = 0; i < n; i++) std::printf("%u", (unsigned)hfn::lfsr_step(s));
            std::printf("\n");
        } else if (!std::strcmp(cmd, "advance")) {
            for (unsigned long i = 0; i < n; i++) hfn::lfsr_step(s);
            std::printf("%u\n", (unsigned)s);
        } else if (!std::strcmp(cmd, "leap")) {
            switch (n) { case 1: leap<1>(seed); break; case 2: leap<2>(seed); break;
                         case 4: leap<4>(seed); break; case 8: leap<8>(seed); break;
                         case 16: leap<16>(seed); break; case 64: leap<64>(seed); break;
                         default: std::printf("?\n"); }
        }
    }
}
"""


def _run(tmp_path, commands: list[str]) -> list[str]:
    src = tmp_path / "lfsr_vectors.cpp"
    src.write_text(PROGRAM)
    exe = tmp_path / "lfsr_vectors"
    subprocess.run([compiler(), "-O2", "-w", "-I", str(HLS_TEMPLATES), "-I", str(ap_types_dir()),
                    str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], input="\n".join(commands) + "\n", capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()


def test_cpp_lfsr_reproduces_shared_vectors(tmp_path):
    cmds, expect = [], []
    for s in VEC["streams"]:
        cmds.append(f"bits {s['seed']} {len(s['bits'])}")
        expect.append(s["bits"])
        for n, state in sorted(s["state_after"].items(), key=lambda kv: int(kv[0])):
            if int(n) <= STEP_LIMIT:
                cmds.append(f"advance {s['seed']} {n}")
                expect.append(str(state))
    for v in VEC["leap"]:
        cmds.append(f"leap {v['seed']} {v['p']}")
        expect.append(f"{v['bits']} {v['next']}")
    cs = VEC["channel_states"]
    for a, b in zip(cs["states"], cs["states"][1:]):   # channel co+1 starts K steps later
        cmds.append(f"advance {a} {cs['per_channel']}")
        expect.append(str(b))
    assert len(cmds) > 20
    assert _run(tmp_path, cmds) == expect


def test_mask_rom_words_match_vectors():
    mp = VEC["mask_packing"]
    m = maskpack.unpack(mp["hex"], tuple(mp["shape_ohwi"]))
    assert maskpack.words(m, 8) == mp["words8"] and maskpack.words(m, 32) == mp["words32"]




@pytest.mark.parametrize("lanes", ["1x8", "4x32", "2x3", "1x64"])
def test_cpp_weight_generator_gives_the_layers_weights(tmp_path, lanes):
    """hfn_wgen_hfn.h behind the generator contract (start / next), with the ROMs the
    hfn source writes into parameters.h, gives every layer's weights in order."""
    g = random_graph(11, max_width=6)
    layers = list(g.layers.values())
    gens = [get_source("hfn").hls_generator(l, g, parse_lanes(lanes), f"L{i}")
            for i, l in enumerate(layers)]
    assert {x.header for x in gens} == {"hfn_wgen_hfn.h"}
    check_cpp_generators(tmp_path, g, layers, gens)


@pytest.mark.parametrize("lanes", ["1x8", "2x4", "4x32", "1x1"])
def test_mask_rom_is_per_channel_canonical_words(lanes):
    """MASK[co][kc] bit i = mask bit of weight kc*P_IN+i of channel co; states = GF(2) jumps."""
    g = random_graph(11, max_width=6)
    p_in = parse_lanes(lanes).p_in
    for layer in g.layers.values():
        words = channel_mask_words(layer, p_in)
        m = mask_of(layer).reshape(layer.shape[0], -1)
        for co in range(layer.shape[0]):
            assert [int(w) for w in words[co]] == maskpack.words(m[co], p_in)
        states = lfsr.channel_start_states(layer.params["seed"], layer.shape[0], layer.fan_in)
        assert [int(s) for s in states] == [lfsr.advance(layer.params["seed"], co * layer.fan_in)
                                            for co in range(layer.shape[0])]
