"""Source ``smh`` (Structured Multi-Hashing): the golden weight rule and the C++ generator
against test_vectors/smh.json, the importer round trip, refusals, and (with torch) the
method, export, golden == QONNX and csim (docs/weight-generation.md, "source: smh")."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from hfn_hls.cpp import nested
from hfn_hls.errors import HfnError
from hfn_hls.hls.csim import ap_types_dir, compiler
from hfn_hls.paths import HLS_TEMPLATES, TEST_VECTORS
from hfn_hls.weights import get_source, smh

VEC = json.loads((TEST_VECTORS / "smh.json").read_text())


def test_vectors_are_what_the_script_makes():
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "make_smh_vectors", Path(__file__).resolve().parents[1] / "scripts" / "make_smh_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.vectors() == VEC


def test_requant_rule():
    for v in VEC["requant"]:
        assert int(smh.requant(np.array([v["acc"]]), v["shift"], v["wbits"])[0]) == v["w"]
    # round half up, both signs; clamp is symmetric (narrow)
    assert list(smh.requant(np.array([5, -5, 6, -6, -2]), 1, 8)) == [3, -2, 3, -3, -1]
    assert list(smh.requant(np.array([128, -128]), 0, 8)) == [127, -127]


@pytest.mark.parametrize("case", range(len(VEC["cases"])))
def test_golden_against_vectors(case):
    c = VEC["cases"][case]
    store = c["store"]
    assert smh.check_store(store) is None
    L, R = smh.factors(store)
    for lay in c["layers"]:
        size = int(np.prod(lay["shape"]))
        acc = smh.slice_acc(L, R, lay["offset"], size)
        assert [int(a) for a in acc] == lay["acc"]
        # the definition, written out: entry p = (p // n, p % n), dot product over the rank
        n = store["n"]
        for i in (0, size // 2, size - 1):
            p = lay["offset"] + i
            assert sum(int(L[p // n, k]) * int(R[k, p % n]) for k in range(store["rank"])) \
                == lay["acc"][i]
        w = smh.store_weights(store, lay["offset"], lay["shift"], lay["shape"])
        assert [int(v) for v in w.reshape(-1)] == lay["weights"]


CPP = r"""
#include <cstdio>
#include "hfn_wgen_smh.h"
%(decls)s
int main() {
%(calls)s
    return 0;
}
"""


def _cpp_program(p_in: int) -> tuple[str, list[list[int]]]:
    decls, calls, expect = [], [], []
    for ci, c in enumerate(VEC["cases"]):
        s = c["store"]
        n, r = s["n"], s["rank"]
        L, R = smh.factors(s)
        decls.append(f"static const int8_t L{ci}[{n}][{r}] = {nested(L)};")
        decls.append(f"static const int8_t R{ci}[{r}][{n}] = {nested(R)};")
        for li, lay in enumerate(c["layers"]):
            co = lay["shape"][0]
            k = int(np.prod(lay["shape"][1:]))
            kc = -(-k // p_in)
            t = f"c{ci}_{li}"
            decls.append(
                f"struct {t} {{ static const int CO = {co}, K = {k}, KC = {kc}, P_IN = {p_in}, "
                f"WB = 8, N = {n}, RANK = {r}, OFFSET = {lay['offset']}, SHIFT = "
                f"{lay['shift']}, WMAX = {(1 << (s['wbits'] - 1)) - 1}; typedef int w_t; "
                f"typedef int8_t rom_t; }};\nstatic int8_t B{t}[{co * kc * p_in}];")
            calls.append(
                f"    {{ hfn::wgen_smh<{t}> g = {{hfn::smh_fill<{t}>(L{ci}, R{ci}, B{t})}};\n"
                f"      for (int co = {co - 1}; co >= 0; co--) {{ hfn::wgen_smh<{t}>::lane_t ln;"
                f" g.start(ln, co);\n"
                f"        for (int kc = 0; kc < {kc}; kc++) {{ int w[{p_in}]; g.next(ln, kc, w);\n"
                f"          for (int i = 0; i < {p_in}; i++) std::printf(\"%d \", w[i]); }} }}\n"
                f"      std::printf(\"\\n\"); }}")
            w = np.array(lay["weights"]).reshape(co, k)
            pad = np.zeros((co, kc * p_in), np.int64)
            pad[:, :k] = w
            expect.append([int(v) for v in pad[::-1].reshape(-1)])
    return CPP % {"decls": "\n".join(decls), "calls": "\n".join(calls)}, expect


@pytest.mark.parametrize("p_in", [1, 4])
def test_cpp_generator_against_vectors(tmp_path, p_in):
    src, expect = _cpp_program(p_in)
    (tmp_path / "smh.cpp").write_text(src)
    exe = tmp_path / "smh"
    subprocess.run([compiler(), "-O1", "-w", "-I", str(HLS_TEMPLATES), "-I",
                    str(ap_types_dir()), str(tmp_path / "smh.cpp"), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    got = [[int(v) for v in line.split()] for line in out.strip().splitlines()]
    assert got == expect


def test_store_refusals():
    s = dict(VEC["cases"][0]["store"])
    assert "rank" in smh.check_store(dict(s, rank=0))
    assert "rank" in smh.check_store(dict(s, rank=s["n"] + 1))
    assert "rank" in smh.check_store(dict(s, rank=2000))
    assert "l_bits" in smh.check_store(dict(s, l_bits=9))
    with pytest.raises(ValueError, match="past the end"):
        smh.store_weights(s, s["n"] ** 2 - 5, 0, [1, 1, 1, 6])
