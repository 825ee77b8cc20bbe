"""The C++ weight-generator contract, checked from Python: compile the generators a
source writes (its CONFIG_T structs and ROMs) behind ``start(lane, co)`` /
``next(lane, kc, w[P_IN])`` and compare every weight, in canonical order, with the golden
model's ``layer_weights``.  Shared by the tests of each source (docs/weight-sources.md)."""
from __future__ import annotations

import subprocess

from hfn_hls.hls.csim import ap_types_dir, compiler
from hfn_hls.paths import HLS_TEMPLATES
from hfn_hls.weights import layer_weights

_PROGRAM = r"""
#include <cstdio>
#include "hfn_types.h"
#include "HEADER"
#include "config.h"
template <class W>
void dump(const hfn::GEN<W> &gen) {   // every weight of the layer, one line per channel
    for (int co = 0; co < W::CO; co++) {
        typename hfn::GEN<W>::lane_t lane;
        gen.start(lane, co);
        for (int kc = 0; kc < W::KC; kc++) {
            typename W::w_t w[W::P_IN];
            gen.next(lane, kc, w);
            for (int i = 0; i < W::P_IN; i++)
                if (kc * W::P_IN + i < W::K) std::printf("%d ", int(w[i]));
        }
        std::printf("\n");
    }
}
int main() {
LAYERS
}
"""


def check_cpp_generators(tmp_path, graph, layers, gens) -> None:
    """Compile ``gens`` (one ``hls_generator`` result per layer, all of one header) and
    assert that they give exactly each layer's golden weights."""
    headers = {g.header for g in gens}
    assert len(headers) == 1, headers
    header = headers.pop()
    (tmp_path / "config.h").write_text("".join(g.config for g in gens))
    src = tmp_path / "gen.cpp"
    src.write_text(_PROGRAM.replace("HEADER", header)
                   .replace("GEN", header.removesuffix(".h").removeprefix("hfn_"))
                   .replace("LAYERS", "".join(f"    dump({g.type}{g.init});\n" for g in gens)))
    exe = tmp_path / "gen"
    subprocess.run([compiler(), "-O0", "-w", "-I", str(HLS_TEMPLATES), "-I", str(tmp_path),
                    "-I", str(ap_types_dir()), str(src), "-o", str(exe)], check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for layer in layers:
        co = layer.shape[0]
        got = [[int(v) for v in line.split()] for line in lines[:co]]
        lines = lines[co:]
        assert got == layer_weights(layer, graph).reshape(co, -1).tolist(), layer.name
    assert not lines, "the generators printed more channels than the layers have"
