"""Source ``rpg`` (issue 11): the contract against test_vectors/rpg.json (Python and C++),
``--method rpg`` training + export, the importer's verification (golden == QONNX on every
digits test code), csim, the report, and bad input (one line, exit 2)."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import onnx
import pytest

from hfn_hls import lfsr
from hfn_hls.boards import load_board
from hfn_hls.data import load_dataset
from hfn_hls.golden import GoldenModel
from hfn_hls.hls import run_csim
from hfn_hls.project.writer import generate
from hfn_hls.hls.csim import ap_types_dir, compiler
from hfn_hls.ir.build import build_ir, execute_qonnx
from hfn_hls.lanes import parse_lanes
from hfn_hls.paths import HLS_TEMPLATES, TEST_VECTORS
from hfn_hls.weights import get_source, layer_weights
from hfn_hls.weights import rpg

from test_stored import hfn, one_line_error      # the CLI helpers of the stored tests

VEC = json.loads((TEST_VECTORS / "rpg.json").read_text())


# -- fixtures: a short digits training at 10 % DoF, an untrained resnet20 ------------------------

@pytest.fixture(scope="module")
def rpg_digits(tmp_path_factory):
    """(run dir, metrics, model.onnx) of digits trained 3 epochs with --method rpg."""
    from hfn_hls.export import export_model
    from hfn_hls.train import load_checkpoint, train

    run = tmp_path_factory.mktemp("rpg_digits")
    metrics = train("digits", run, method="rpg", epochs=3, threads=1, progress=False,
                    dof=0.1, ring_bits=6)
    return run, metrics, export_model(load_checkpoint(run), run / "model.onnx")


@pytest.fixture(scope="module")
def rpg_digits_ir(rpg_digits):
    return build_ir(rpg_digits[2])


@pytest.fixture(scope="module")
def rpg_resnet20(tmp_path_factory):
    """An untrained ResNet-20-shaped CIFAR model on a ring of 2 % DoF (model.onnx, IR)."""
    from hfn_hls.export import export_model
    from hfn_hls.train import init_model

    run = tmp_path_factory.mktemp("rpg_resnet20")
    model = init_model("resnet20", run, method="rpg", dof=0.02)
    path = export_model(model, run / "model.onnx")
    return path, build_ir(path)


# -- the contract ----------------------------------------------------------------------------------

def test_map_derivation_matches_the_vectors():
    for d in VEC["derive"]:
        assert rpg.derive_map(d["model_seed"], d["index"], d["n"]) == (d["a"], d["b"])
        assert rpg.sign_seed(d["model_seed"], d["index"]) == d["seed"]
        assert d["a"] % 2 == 1 and np.gcd(d["a"], d["n"]) == 1 and 0 <= d["b"] < d["n"]


def test_layers_match_the_vectors_and_the_map_is_balanced():
    ring = np.array(VEC["ring"]["values"])
    n = VEC["ring"]["n"]
    for l in VEC["layers"]:
        shape = l["shape_ohwi"]
        co, k = shape[0], int(np.prod(shape[1:]))
        idx = rpg.ring_indices(l["a"], l["b"], n, shape)
        assert idx.tolist() == l["indices"]
        counts = np.bincount(idx, minlength=n)                 # each entry used floor/ceil
        assert counts.max() - counts.min() <= 1
        bits = lfsr.sign_bits(l["seed"], co, k).reshape(-1)
        assert "".join(map(str, bits)) == l["sign_bits"]
        w = rpg.make_weights(ring, l["a"], l["b"], l["seed"], shape)
        assert w.reshape(-1).tolist() == l["weights"]
        assert w.reshape(-1).tolist() == (ring[idx] * (1 - 2 * bits.astype(int))).tolist()
        assert rpg.start_indices(l["a"], l["b"], n, co, k).tolist() == l["starts"]
        for p, off in l["offsets"].items():
            assert rpg.offsets(l["a"], n, int(p)) == off


@pytest.mark.parametrize("p_in", [1, 4, 8, 16])
def test_lanes_read_distinct_banks(p_in):
    """P_IN consecutive weights of any chunk read P_IN different banks (index mod P_IN)."""
    for d in VEC["derive"][:4]:
        idx = rpg.ring_indices(d["a"], d["b"], d["n"], [1, 1, 1, 3000])
        for j in range(0, idx.size - p_in, 7):
            assert len(set((idx[j:j + p_in] % p_in).tolist())) == p_in


CPP = r"""
#include <cstdio>
#include "hfn_wgen_rpg.h"
%(structs)s
template <class C, class G>
void run(const G &gen) {
    for (int co = 0; co < C::CO; co++) {
        typename G::lane_t lane;
        gen.start(lane, co);
        for (int kc = 0; kc < C::KC; kc++) {
            typename C::w_t w[C::P_IN];
            gen.next(lane, kc, w);
            for (int i = 0; i < C::P_IN; i++)
                if (kc * C::P_IN + i < C::K) std::printf("%%d ", (int)w[i]);
        }
    }
    std::printf("\n");
}
int main() {
%(calls)s
}
"""


def test_cpp_generator_matches_the_vectors(tmp_path):
    ring = VEC["ring"]
    n = ring["n"]
    structs = [f"static const int8_t RING[{n}] = {{{', '.join(map(str, ring['values']))}}};"]
    calls, want = [], []
    for li, l in enumerate(VEC["layers"]):
        co, k = l["shape_ohwi"][0], int(np.prod(l["shape_ohwi"][1:]))
        for p in (1, 4, 8, 16):
            t = f"L{li}_{p}"
            structs.append(
                f"struct {t} {{ static const int CO = {co}, K = {k}, KC = {-(-k // p)}, "
                f"P_IN = {p}, WB = {ring['bits']}, N = {n}; typedef hfn::weight<{ring['bits']}>"
                f"::type w_t; typedef int8_t ring_t; }};\n"
                f"static const hfn::lfsr_rom_t ST_{t}[{co}] = {{{', '.join(f'{s}u' for s in l['states'])}}};\n"
                f"static const int SA_{t}[{co}] = {{{', '.join(map(str, l['starts']))}}};\n"
                f"static const int OF_{t}[{p + 1}] = {{{', '.join(map(str, l['offsets'][str(p)]))}}};")
            calls.append(f"    run<{t}>(hfn::wgen_rpg<{t}>{{RING, ST_{t}, SA_{t}, OF_{t}}});")
            want.append(l["weights"])
    src = tmp_path / "rpg.cpp"
    src.write_text(CPP % {"structs": "\n".join(structs), "calls": "\n".join(calls)})
    exe = tmp_path / "rpg"
    subprocess.run([compiler(), "-O1", "-w", "-I", str(HLS_TEMPLATES), "-I",
                    str(ap_types_dir()), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    got = [[int(v) for v in line.split()] for line in out.strip().splitlines()]
    assert got == want


# -- training, export, IR ----------------------------------------------------------------------------

def test_train_metrics_and_ir(rpg_digits, rpg_digits_ir):
    run, m, _ = rpg_digits
    assert m["method"] == "rpg" and m["dof"] % 64 == 0
    assert m["dof"] == rpg.ring_size(0.1, m["virtual_weights"])
    assert 0.1 <= m["dof"] / m["virtual_weights"] < 0.1 + 64 / m["virtual_weights"]
    assert json.loads((run / "metrics.json").read_text())["test_accuracy"] == m["test_accuracy"]
    g = rpg_digits_ir
    assert {l.source for l in g.layers.values()} == {"rpg"}
    assert list(g.shared) == ["ring"] and g.shared["ring"]["n"] == m["dof"]
    assert g.shared["ring"]["bits"] == 6
    assert sum(l.size for l in g.layers.values()) == m["virtual_weights"]
    assert {l.params["ring"] for l in g.layers.values()} == {"ring"}
    assert g.meta["method"] == "rpg"
    ring = rpg.decode(g.shared["ring"]["values"])
    assert np.abs(ring).max() <= 31
    for l in g.layers.values():          # every weight is a signed ring entry
        w = layer_weights(l, g)
        assert np.isin(np.abs(w), np.abs(ring)).all()


def test_exported_conv_weights_are_ring_x_map_x_signs(rpg_digits, rpg_digits_ir):
    m = onnx.load(str(rpg_digits[2]))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    meta = json.loads(next(p.value for p in m.metadata_props if p.key == "hfn"))
    assert len(convs) == len(meta["conv_calls"]) == len(rpg_digits_ir.layers)
    for n, name in zip(convs, meta["conv_calls"]):
        want = layer_weights(rpg_digits_ir.layers[name], rpg_digits_ir).transpose(0, 3, 1, 2)
        assert np.array_equal(inits[n.input[1]], want), name


def test_golden_equals_qonnx_on_every_digits_code(rpg_digits, rpg_digits_ir):
    g = rpg_digits_ir
    d = load_dataset("digits")
    gm = GoldenModel(g)
    gold = gm.run(gm.quantize_input(d.x_test.transpose(0, 2, 3, 1)))
    q = execute_qonnx(rpg_digits[2], d.x_test) / g.meta["output_scale"]
    assert np.abs(q - np.rint(q)).max() < 0.05
    assert np.array_equal(np.rint(q).astype(np.int64), gold)
    assert len(gold) == len(d.x_test) == 360
    acc = float((gold.argmax(1) == d.y_test).mean())
    assert acc == pytest.approx(rpg_digits[1]["test_accuracy"], abs=1e-9)


def test_resnet20_golden_equals_qonnx(rpg_resnet20):
    path, g = rpg_resnet20
    assert {l.source for l in g.layers.values()} == {"rpg"} and len(g.layers) == 22
    x = np.random.default_rng(0).random((6, 3, 32, 32)).astype(np.float32)
    gm = GoldenModel(g)
    gold = gm.run(gm.quantize_input(x.transpose(0, 2, 3, 1)))
    q = np.rint(execute_qonnx(path, x) / g.meta["output_scale"]).astype(np.int64)
    assert len(np.unique(gold)) > 3
    assert np.array_equal(q, gold)


def test_csim_bit_exact_on_200_digits_images(tmp_path, rpg_digits_ir):
    g = rpg_digits_ir
    codes = GoldenModel(g).quantize_input(
        load_dataset("digits").x_test.transpose(0, 2, 3, 1))[:200]
    generate(g, load_board("pynq-z2"), parse_lanes("4x8"), tmp_path / "prj", inputs=codes,
             rtl=False)
    r = run_csim(tmp_path / "prj")
    assert r["vectors"] == 200 and r["mismatches"] == 0, r


def test_csim_resnet20_bit_exact(tmp_path, rpg_resnet20):
    _, g = rpg_resnet20
    codes = np.random.default_rng(1).integers(0, 256, (200, 32, 32, 3))
    generate(g, load_board("zcu104"), parse_lanes("4x8"), tmp_path / "prj", inputs=codes,
             rtl=False)
    r = run_csim(tmp_path / "prj")
    assert r["vectors"] == 200 and r["mismatches"] == 0, r


def test_report_counts_the_ring_once(rpg_digits):
    rc, out, err = hfn("report", rpg_digits[2], "--json")
    assert rc == 0, err
    r = json.loads(out)
    n = rpg_digits[1]["dof"]
    assert r["totals"]["shared_bits"] == n * 6


# -- bad input ---------------------------------------------------------------------------------------

def _edit(src, dst, fn):
    m = onnx.load(str(src))
    for p in m.metadata_props:
        if p.key == "hfn":
            meta = json.loads(p.value)
            fn(meta)
            p.value = json.dumps(meta)
    onnx.save(m, str(dst))
    return dst


def _bad_map(meta):
    l = meta["layers"][3]
    l["a"] = (l["a"] + 2) % meta["shared"]["ring"]["n"]


def _bad_map_derived(meta):
    """A self-consistent but different map: the derivation check passes only if the
    weights check is what refuses it."""
    meta["layers"][2]["b"] = (meta["layers"][2]["b"] + 1) % meta["shared"]["ring"]["n"]


def _bad_size(meta):
    r = meta["shared"]["ring"]
    r["n"] += 64


def _bad_size_layer(meta):
    meta["layers"][0]["n"] = meta["shared"]["ring"]["n"] + 64


def _bad_entry(meta):
    r = meta["shared"]["ring"]
    v = bytearray(bytes.fromhex(r["values"]))
    v[5] = 100                                  # outside the 6-bit range [-31, 31]
    r["values"] = bytes(v).hex()


@pytest.mark.parametrize("case,needle", [
    ("map", "map parameters a="), ("map_b", "map parameters a="),
    ("size", "its size is"), ("size_layer", "made for a ring of"),
    ("entry", "ring entry 5 = 100 is outside the 6-bit quantiser's range")])
def test_bad_metadata_is_one_line_exit_2(tmp_path, rpg_digits, case, needle):
    fn = {"map": _bad_map, "map_b": _bad_map_derived, "size": _bad_size,
          "size_layer": _bad_size_layer, "entry": _bad_entry}[case]
    path = _edit(rpg_digits[2], tmp_path / "bad.onnx", fn)
    rc, _, err = hfn("ir", path, "-o", tmp_path / "x.json")
    assert rc == 2, err
    line = one_line_error(err)
    assert needle in line, line
    if case in ("map", "map_b"):
        assert "layer " in line


def test_weights_not_reproduced_by_the_map_name_the_layer(tmp_path, rpg_digits):
    """Conv weights edited in the graph (metadata intact): the layer and the first
    differing weight are named."""
    m = onnx.load(str(rpg_digits[2]))
    meta = json.loads(next(p.value for p in m.metadata_props if p.key == "hfn"))
    conv = [n for n in m.graph.node if n.op_type == "Conv"][4]
    init = next(i for i in m.graph.initializer if i.name == conv.input[1])
    w = onnx.numpy_helper.to_array(init).copy()
    w.reshape(-1)[7] = -w.reshape(-1)[7] if w.reshape(-1)[7] else 1.0
    init.CopyFrom(onnx.numpy_helper.from_array(w, init.name))
    onnx.save(m, str(tmp_path / "bad.onnx"))
    rc, _, err = hfn("ir", tmp_path / "bad.onnx", "-o", tmp_path / "x.json")
    assert rc == 2, err
    line = one_line_error(err)
    assert f"layer {meta['conv_calls'][4]}" in line and "not ring[(a*i + b) mod N]" in line


def test_ir_loader_validates_params_and_ring(tmp_path, rpg_digits_ir):
    from hfn_hls.ir.model import Layer
    g = rpg_digits_ir
    src = get_source("rpg")
    l = next(iter(g.layers.values()))
    assert src.validate_params(l, g) is None
    bad = Layer(l.name, l.shape, "rpg", {**l.params, "a": 2})
    assert "even" in src.validate_params(bad, g)
    bad = Layer(l.name, l.shape, "rpg", {**l.params, "seed": "x"})
    assert "seed" in src.validate_params(bad, g)
    assert rpg.check_ring(g.shared["ring"]) is None
    assert "multiple of 64" in rpg.check_ring({**g.shared["ring"], "n": 100})


def test_lanes_not_a_power_of_two_are_refused(tmp_path, rpg_digits_ir):
    from hfn_hls.errors import HfnError
    from hfn_hls.rtl_backend import write_rtl
    with pytest.raises(HfnError, match="banks"):
        write_rtl(rpg_digits_ir, None, parse_lanes("2x128"), tmp_path / "rtl")


# -- the report of the papers' configurations -----------------------------------------------------

def test_report_paper_configurations():
    from hfn_hls.models.presets import get_preset
    from hfn_hls.rpg_report import rpg_report
    r = rpg_report(get_preset("resnet18", "imagenet"), config="resnet18-one-conv")
    assert r["dof"] == 512 * 512 * 9
    assert 0.19 < r["dof_fraction"] < 0.21              # ~ the paper's 18 %
    r = rpg_report(get_preset("resnet34", "imagenet"), config="resnet34-resnet18-dof")
    assert r["dof"] == 2422 * 4608                      # the reference code's ring
    r = rpg_report(get_preset("resnet34", "imagenet"), config="resnet34-0.25pct")
    assert r["virtual_over_dof"] > 395                  # "> 400x fewer parameters"
    assert r["on_chip_bits"] < r["hls4ml_expanded_bits"] < r["dense_fp32_bits"]
    d = rpg_report(get_preset("digits"), 0.1)
    assert d["virtual_weights"] == 168864               # all convs, unfolded (--method rpg)
    rc, out, err = hfn("report", "--rpg-config", "resnet34-0.25pct")
    assert rc == 0 and "DoF (ring entries): 54528" in out, err
    rc, _, err = hfn("report", "--rpg-config", "nope")
    assert rc == 2 and "unknown configuration" in one_line_error(err)


def test_cli_train_absolute_dof_and_export(tmp_path):
    """``hfn-hls train --method rpg --dof 640`` (an absolute ring size) and ``export``."""
    run = tmp_path / "run"
    rc, out, err = hfn("train", "--method", "rpg", "--dof", 640, "--ring-bits", 4,
                       "--preset", "digits", "--epochs", 1, "--threads", 1, "-o", run)
    assert rc == 0, err
    m = json.loads((run / "metrics.json").read_text())
    assert m["dof"] == 640 and m["virtual_weights"] == 168864 and m["ring_bits"] == 4
    assert "test_accuracy" in m
    rc, out, err = hfn("export", run, "-o", tmp_path / "m.onnx")
    assert rc == 0, err
    g = build_ir(tmp_path / "m.onnx")
    assert g.shared["ring"]["n"] == 640 and g.shared["ring"]["bits"] == 4
    assert np.abs(rpg.decode(g.shared["ring"]["values"])).max() <= 7
    rc, _, err = hfn("train", "--method", "rpg", "--dof", 0, "--preset", "digits", "-o",
                     tmp_path / "r2")
    assert rc == 2 and "--dof" in one_line_error(err)


def test_ir_json_round_trip_keeps_the_ring(tmp_path, rpg_digits, rpg_digits_ir):
    rc, out, err = hfn("ir", rpg_digits[2], "-o", tmp_path / "m.json")
    assert rc == 0, err
    from hfn_hls.commands._common import load_graph
    g = load_graph(tmp_path / "m.json")
    assert g.shared == rpg_digits_ir.shared
    for name, l in g.layers.items():
        assert np.array_equal(layer_weights(l, g), layer_weights(rpg_digits_ir.layers[name],
                                                                 rpg_digits_ir))
    d = json.loads((tmp_path / "m.json").read_text())
    del d["shared"]["ring"]
    (tmp_path / "noring.json").write_text(json.dumps(d))
    rc, _, err = hfn("generate", tmp_path / "noring.json", "-o", tmp_path / "prj")
    assert rc == 2 and "ring" in one_line_error(err)
