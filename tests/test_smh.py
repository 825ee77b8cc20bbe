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


# -- the method, export, importer, golden == QONNX, csim (torch) --------------------------------

torch = pytest.importorskip("torch")


def _cli(*args):
    import sys
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_metrics_and_rank_follow_the_reference(smh_run):
    _, m, _ = smh_run
    p = m["virtual_weights"]
    n = -(-int(np.ceil(np.sqrt(p))) // smh.N_ALIGN) * smh.N_ALIGN      # ceil(sqrt(P)), aligned
    assert m["n"] == n and m["rank"] == int(0.5 * 0.25 * p / n)
    assert m["ends"] == "stored" and m["stored_weights"] == 32 * 9 + 64 * 10
    assert m["variables"] == 2 * n * m["rank"] + m["layer_scalars"]
    assert abs(m["factor_variables"] / p - 0.25) < 0.01
    assert m["test_accuracy"] > 0.5 and m["method"] == "smh"


def test_ir_layers_reference_the_shared_factors(smh_run, smh_ir):
    g = smh_ir
    srcs = {n: l.source for n, l in g.layers.items()}
    assert srcs.pop("stem") == srcs.pop("fc") == "stored"       # --ends stored (default)
    assert set(srcs.values()) == {"smh"} and list(g.shared) == ["smh"]
    offs = sorted((l.params["offset"], l.size) for l in g.layers.values() if l.source == "smh")
    st = g.shared["smh"]
    assert st["rank"] == smh_run[1]["rank"] and st["n"] == smh_run[1]["n"]
    assert g.meta["output_scale"] > 0         # output codes order the classes as the logits
    assert offs[0][0] == 0 and all(a + s == b for (a, s), (b, _) in zip(offs, offs[1:]))
    assert offs[-1][0] + offs[-1][1] == smh_run[1]["virtual_weights"] <= st["n"] ** 2
    # the IR round trip keeps the store; the golden weights come from it
    from hfn_hls.ir.model import Graph
    g2 = Graph.from_dict(json.loads(json.dumps(g.to_dict())))
    for name, lay in g.layers.items():
        if lay.source != "smh":
            continue
        assert np.array_equal(get_source("smh").weights(g2.layers[name], g2),
                              get_source("smh").weights(lay, g))
    # ... and they are the PyTorch model's integer weights
    from hfn_hls.models.smh import smh_layers
    from hfn_hls.train import load_checkpoint
    model = load_checkpoint(smh_run[0])
    for name, m in smh_layers(model):
        assert np.array_equal(m.integer_weights(), get_source("smh").weights(g.layers[name], g))
        top = int(np.abs(m.integer_weights()).max())    # the smallest shift that never clamps
        assert 64 <= top <= 127 or g.layers[name].params["shift"] == 0, top


def test_golden_equals_qonnx_on_every_digits_test_code(smh_run, smh_ir):
    from hfn_hls.data import load_dataset
    from test_stored import golden_vs_qonnx
    d = load_dataset("digits")
    gold, q = golden_vs_qonnx(smh_run[2], smh_ir, d.x_test)
    assert len(gold) == len(d.y_test) == 360
    assert np.array_equal(q, gold), np.argwhere(q != gold)[:5]
    assert float((gold.argmax(1) == d.y_test).mean()) == pytest.approx(
        smh_run[1]["test_accuracy"], abs=1e-9)


def test_csim_bit_exact_on_200_images(tmp_path, smh_ir):
    from hfn_hls.data import load_dataset
    from hfn_hls.golden import GoldenModel
    from test_stored import csim
    d = load_dataset("digits")
    codes = GoldenModel(smh_ir).quantize_input(d.x_test.transpose(0, 2, 3, 1))[:200]
    r = csim(smh_ir, tmp_path, codes, "4x8")
    assert r["vectors"] == 200 and r["mismatches"] == 0, r


# -- bad input: one line naming the layer, exit 2 ------------------------------------------------

def _edited(src, dst, edit):
    import onnx
    m = onnx.load(str(src))
    prop = next(p for p in m.metadata_props if p.key == "hfn")
    meta = json.loads(prop.value)
    edit(m, meta)
    prop.value = json.dumps(meta, sort_keys=True)
    onnx.save(m, str(dst))
    return dst


def _bump_a_weight(m, meta):
    """Change one integer weight of the second SMH conv in the graph (its initializer;
    the stored stem's weights come from a Quant node)."""
    from onnx import numpy_helper
    init = {i.name: i for i in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv" and n.input[1] in init]
    w = numpy_helper.to_array(init[convs[1].input[1]]).copy()
    w.reshape(-1)[3] += 1
    init[convs[1].input[1]].CopyFrom(numpy_helper.from_array(w, convs[1].input[1]))


def _past_the_end(m, meta):
    n = meta["shared"]["smh"]["n"]
    meta["layers"][2]["offset"] = n * n - 10


def _rank(r):
    def edit(m, meta):
        meta["shared"]["smh"]["rank"] = r
    return edit


@pytest.mark.parametrize("case,layer,needle", [
    ("weights", 1, "weights differ from L.R"),
    ("slice", 2, "runs past the end of the"),
    ("rank0", 0, "rank 0 is not supported"),
    ("rank_big", 0, "rank 5000 is not supported"),
])
def test_bad_smh_input_is_one_line_exit_2(tmp_path, smh_run, case, layer, needle):
    edit = {"weights": _bump_a_weight, "slice": _past_the_end, "rank0": _rank(0),
            "rank_big": _rank(5000)}[case]
    import onnx
    meta = json.loads(next(p.value for p in onnx.load(str(smh_run[2])).metadata_props
                           if p.key == "hfn"))
    name = meta["layers"][layer]["name"] if case != "weights" else meta["conv_calls"][1]
    path = _edited(smh_run[2], tmp_path / "bad.onnx", edit)
    for cmd in (["ir", path], ["generate", path, "-o", tmp_path / "prj"]):
        rc, _, err = _cli(*cmd)
        assert rc == 2, err
        line = _one_line(err)
        assert (f"layer {name}" in line or f"({name})" in line) and needle in line, line


def test_ir_loader_refuses_a_slice_past_the_end(tmp_path, smh_ir):
    """An IR file (not only an ONNX file) whose layer reads past n^2: one line, exit 2."""
    d = smh_ir.to_dict()
    name = sorted(d["layers"])[0]
    d["layers"][name]["params"]["offset"] = d["shared"]["smh"]["n"] ** 2 - 1
    p = tmp_path / "bad.ir.json"
    p.write_text(json.dumps(d))
    rc, _, err = _cli("generate", p, "-o", tmp_path / "prj")
    assert rc == 2, err
    line = _one_line(err)
    assert f"layer {name}" in line and "past the end" in line, line


# -- report, and a ResNet-20-shaped (CIFAR) SMH model ---------------------------------------------

def test_report_counts_the_factor_roms_once_and_the_transient_buffer(smh_ir):
    from hfn_hls.report import report_graph
    r = report_graph(smh_ir, None)
    t = r["totals"]
    st = smh_ir.shared["smh"]
    assert t["shared_bits_by_kind"] == {"smh_L": st["n"] * st["rank"] * 8,
                                        "smh_R": st["rank"] * st["n"] * 8}
    assert t["generated_bits"] == 0 and t["shared_bits"] == 2 * st["n"] * st["rank"] * 8
    assert t["stored_bits"] == sum(get_source("stored").storage_bits(l, smh_ir)["weights"]
                                   for l in smh_ir.layers.values() if l.source == "stored")
    biggest = max(l.shape[0] * l.fan_in for l in smh_ir.layers.values() if l.source == "smh")
    assert t["transient_bits"] == biggest * 8       # the largest layer's 8-bit weights


def test_resnet20_shape_golden_equals_qonnx_and_csim_200(tmp_path, resnet20_smh):
    from test_stored import csim, golden_vs_qonnx
    path, g, model = resnet20_smh
    pool = model.smh_pool
    assert len(g.layers) == 22 and pool.virtual_weights == 270896 - 16 * 27 - 64 * 10
    assert (pool.n, pool.rank) == (576, 58)   # ceil(sqrt(P)) = 520 -> 576 (x64), 0.5 f P / n
    rng = np.random.default_rng(3)
    x = rng.random((8, 3, 32, 32), dtype=np.float32)
    gold, q = golden_vs_qonnx(path, g, x)
    assert np.array_equal(q, gold)
    codes = rng.integers(0, 256, (200, 32, 32, 3))
    r = csim(g, tmp_path, codes, "8x8")
    assert r["vectors"] == 200 and r["mismatches"] == 0, r


def test_ends_smh_takes_stem_and_classifier_from_the_factors(tmp_path):
    """--ends smh: every conv from L.R; the classifier scales by |alpha| (positive output
    scale: the codes order the classes as the logits do), golden == QONNX."""
    from hfn_hls.export import export_model
    from hfn_hls.ir.build import build_ir
    from hfn_hls.train import init_model
    from test_stored import golden_vs_qonnx
    model = init_model("digits", tmp_path, method="smh", fraction=0.1, ends="smh")
    with torch.no_grad():
        model.fc.alpha.fill_(-0.5)                   # a negative scalar stays positive
    path = export_model(model, tmp_path / "model.onnx")
    g = build_ir(path)
    assert {l.source for l in g.layers.values()} == {"smh"} and len(g.layers) == 11
    assert g.meta["output_scale"] > 0
    x = np.random.default_rng(0).random((16, 1, 8, 8), dtype=np.float32)
    gold, q = golden_vs_qonnx(path, g, x)
    assert np.array_equal(gold, q)
