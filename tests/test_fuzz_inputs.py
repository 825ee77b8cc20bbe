"""Bad input, generated from one valid model by small edits (issue 9): every case must end
in exit code 2, exactly one line on stderr naming the file or field, no traceback, and
nothing deleted or half-written (the directory trees around it are compared before and
after).  Classes: metadata edits, numerical edits of the ONNX graph, IR JSON edits,
project.json / rtl.json / board edits, command-line values, corrupted projects (tb_data),
names with newlines, read-only folders, a file where a folder is expected, output folders
that --force must not replace, and paths (relative, '.', spaces) that must work.

The commands run in this process (``hfn_hls.cli.main``: an exception escaping it is a
traceback and fails the case); a few run as real processes.  One exported digits model
(untrained), its IR and a small random graph serve every case."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from hfn_hls.cli import main
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.metadata import META_KEY


# -- helpers ---------------------------------------------------------------------------

def tree(root: Path) -> dict:
    """Every file and folder under ``root`` (hidden ones too): mode and content hash."""
    root = Path(root)
    out = {}
    if not os.path.lexists(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            rel = str(p.relative_to(root))
            if p.is_file() and not p.is_symlink():
                out[rel] = (oct(st.st_mode), hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                out[rel] = (oct(st.st_mode),)
    return out


def run(args, cwd: Path | None = None) -> tuple[object, str, str]:
    """``hfn-hls ARGS`` in this process: (exit code, stdout, stderr); an exception that
    escapes is returned as exit code "traceback" with the traceback as stderr."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in args])
            except SystemExit as e:
                rc = e.code
            except BaseException:
                return "traceback", out.getvalue(), traceback.format_exc()
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


def refused(args, *needles, watch=(), cwd=None, absent=()) -> str:
    """Exit 2, one line on stderr holding every needle, no traceback; the trees of
    ``watch`` unchanged and every path of ``absent`` still absent.  Returns the line."""
    before = {str(w): tree(w) for w in watch}
    rc, out, err = run(args, cwd)
    assert rc == 2, (args, rc, err[-3000:])
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, (args, err)
    for n in needles:
        assert n in lines[0], (n, lines[0])
    for w in watch:
        assert tree(w) == before[str(w)], f"{w} changed: {args}"
    for a in absent:
        assert not os.path.lexists(a), f"{a} was written: {args}"
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir() if ".tmp" in p.name or ".old" in p.name)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One exported model (digits, untrained), its IR, a small random graph as IR JSON
    and a project generated from it; each case edits copies."""
    from hfn_hls.export import export_model
    from hfn_hls.ir.build import build_ir
    from hfn_hls.train import init_model

    import torch
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("fuzz")
    model = init_model("digits", root / "run")
    onnx_path = export_model(model, root / "model.onnx")
    build_ir(onnx_path).save(root / "ir.json")
    random_graph(3, max_width=6, image=5).save(root / "g.json")
    rc, out, err = run(["generate", root / "g.json", "-o", root / "prj", "--vectors", "5"])
    assert rc == 0, err
    return root


@pytest.fixture
def work(base, tmp_path):
    """A scratch folder with copies of the base files (the base stays pristine)."""
    for name in ("model.onnx", "ir.json", "g.json"):
        shutil.copyfile(base / name, tmp_path / name)
    shutil.copytree(base / "prj", tmp_path / "prj")
    return tmp_path


def edit_meta(src: Path, dst: Path, fn=None, raw: str | None = None) -> Path:
    m = onnx.load(str(src))
    prop = next(p for p in m.metadata_props if p.key == META_KEY)
    if raw is not None:
        prop.value = raw
    else:
        meta = json.loads(prop.value)
        fn(meta)
        prop.value = json.dumps(meta)
    onnx.save(m, str(dst))
    return dst


def edit_init(src: Path, dst: Path, op: str, index: int, value, which: int = 0) -> str:
    """Set input ``index`` (an initializer) of the ``which``-th node of type ``op`` (the
    first activation quantiser for Quant) to ``value``; returns the node's name."""
    m = onnx.load(str(src))
    inits = {i.name: i for i in m.graph.initializer}
    nodes = [n for n in m.graph.node if n.op_type == op and
             (op != "Quant" or n.input[0] not in inits)]
    node = nodes[which]
    init = inits[node.input[index]]
    old = numpy_helper.to_array(init)
    new = np.broadcast_to(np.asarray(value, old.dtype), old.shape).copy()
    init.CopyFrom(numpy_helper.from_array(new, init.name))
    onnx.save(m, str(dst))
    return node.name


# -- 1. the hfn metadata ---------------------------------------------------------------

def _dup_name(m):
    m["layers"][1]["name"] = m["layers"][0]["name"]


META_EDITS = {
    "seed is a string": (lambda m: m["layers"][0].update(seed="abc"), "layers[0]"),
    "negative seed": (lambda m: m["layers"][0].update(seed=-1), "seed"),
    "layers is an object": (lambda m: m.update(layers={}), "layers"),
    "layer without name": (lambda m: m["layers"][0].pop("name"), "name"),
    "unknown conv call": (lambda m: m["conv_calls"].__setitem__(0, "nope"), "nope"),
    "fold of 0 iterations": (lambda m: m["folds"][0].update(iterations=0), "iterations"),
    "fold of unknown layer": (lambda m: m["folds"][0]["layers"].append("ghost"), "ghost"),
    "input_shape of 2": (lambda m: m.update(input_shape=[1, 8]), "input_shape"),
    "input_shape disagrees": (lambda m: m.update(input_shape=[1, 9, 8]), "input_shape"),
    "0 classes": (lambda m: m.update(classes=0), "classes"),
    "act_bits 0": (lambda m: m.update(act_bits=0), "act_bits"),
    "act_bits 1": (lambda m: m.update(act_bits=1), "act_bits"),
    "act_bits 9": (lambda m: m.update(act_bits=9), "act_bits"),
    "act_bits 100": (lambda m: m.update(act_bits=100), "act_bits"),
    "act_bits 3.5": (lambda m: m.update(act_bits=3.5), "act_bits"),
    "res_bits 100": (lambda m: m.update(res_bits=100), "res_bits"),
    "k 0": (lambda m: m.update(k=0), "k"),
    "k 1.5": (lambda m: m.update(k=1.5), "k"),
    "layer k 2": (lambda m: m["layers"][2].update(k=2), "k"),
    "duplicate layer names": (_dup_name, "duplicate layer name"),
    "model seed of 40 bits": (lambda m: m.update(model_seed=2**40), "model_seed"),
    "version 2": (lambda m: m.update(version=2), "version"),
    "format missing": (lambda m: m.pop("format"), "format"),
    "shape with a 0": (lambda m: m["layers"][0].update(shape_oihw=[0, 1, 3, 3]), "shape_oihw"),
    "true as model seed": (lambda m: m.update(model_seed=True), "model_seed"),
    "preset with a newline": (lambda m: m.update(preset="digits\nexec rm -rf ~"), "preset"),
    "preset with a quote": (lambda m: m.update(preset='d"; exec x; #'), "preset"),
    "layer name with a newline": (lambda m: m["layers"][0].update(name="stem\n#error"), "name"),
}


@pytest.mark.parametrize("case", sorted(META_EDITS))
def test_metadata_edits(work, case):
    fn, needle = META_EDITS[case]
    bad = edit_meta(work / "model.onnx", work / "bad.onnx", fn)
    refused(["ir", bad, "-o", work / "out.json"], str(bad), needle, watch=[work],
            absent=[work / "out.json"])


@pytest.mark.parametrize("raw,needle", [("{", "invalid JSON"), ("[1, 2]", "dictionary"),
                                        ('{"k": NaN}', "invalid JSON"), ("", "invalid JSON")])
def test_metadata_that_is_not_an_object(work, raw, needle):
    bad = edit_meta(work / "model.onnx", work / "bad.onnx", raw=raw)
    refused(["ir", bad], str(bad), needle, watch=[work])


def test_metadata_names_in_generated_files(work):
    """A preset holding a newline never reaches build_prj.tcl or hfn_top.cpp: generate
    refuses it (and writes no project)."""
    bad = edit_meta(work / "model.onnx", work / "bad.onnx",
                    lambda m: m.update(preset="x\nexec touch PWNED"))
    refused(["generate", bad, "-o", work / "p2"], "preset", "not a name", watch=[work],
            absent=[work / "p2"])


# -- 2. numbers in the ONNX graph --------------------------------------------------------

ONNX_EDITS = {
    "scale NaN": ("Quant", 1, np.nan, "scale"),
    "scale Inf": ("Quant", 1, np.inf, "scale"),
    "scale 0": ("Quant", 1, 0.0, "scale"),
    "scale negative": ("Quant", 1, -0.5, "scale"),
    "zero point NaN": ("Quant", 2, np.nan, "zero point"),
    "bit width 0": ("Quant", 3, 0.0, "bit width"),
    "bit width 3.5": ("Quant", 3, 3.5, "bit width"),
    "bit width 32": ("Quant", 3, 32.0, "bit width 32"),
    "bit width negative": ("Quant", 3, -4.0, "bit width"),
    "BN variance negative": ("BatchNormalization", 4, -1.0, "variance"),
    "BN mean NaN": ("BatchNormalization", 3, np.nan, "mean"),
    "BN scale Inf": ("BatchNormalization", 1, np.inf, "scale"),
    "Conv weight NaN": ("Conv", 1, np.nan, "NaN"),
}


@pytest.mark.parametrize("case", sorted(ONNX_EDITS))
def test_onnx_numbers(work, case):
    op, index, value, needle = ONNX_EDITS[case]
    bad = work / "bad.onnx"
    node = edit_init(work / "model.onnx", bad, op, index, value)
    refused(["ir", bad], str(bad), node, needle, watch=[work])


def test_graph_input_shape_disagrees_with_metadata(work):
    m = onnx.load(str(work / "model.onnx"))
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = 9, 9
    onnx.save(m, str(work / "bad.onnx"))
    refused(["ir", work / "bad.onnx"], "input_shape", watch=[work])


def test_quant_attribute_out_of_range(work):
    m = onnx.load(str(work / "model.onnx"))
    q = next(n for n in m.graph.node if n.op_type == "Quant")
    next(a for a in q.attribute if a.name == "signed").i = 2
    onnx.save(m, str(work / "bad.onnx"))
    refused(["ir", work / "bad.onnx"], "signed", watch=[work])


# -- 3. the IR JSON ------------------------------------------------------------------------

def _first(d, kind):
    return next(o for o in d["ops"] if o["kind"] == kind)


def _layer(d):
    return next(iter(d["layers"].values()))


IR_EDITS = {
    "format": (lambda d: d.update(format="other"), "format"),
    "version 3": (lambda d: d.update(version=3), "version 3"),
    "no tensors": (lambda d: d.pop("tensors"), "tensors"),
    "tensor shape 0": (lambda d: d["tensors"]["input"].update(shape=[0, 5, 3]), "shape"),
    "tensor lo > hi": (lambda d: d["tensors"]["input"].update(lo=9, hi=1), "range"),
    "edited range": (lambda d: d["tensors"][_first(d, "conv")["output"]].update(
        hi=d["tensors"][_first(d, "conv")["output"]]["hi"] + 1), "proven"),
    "huge integer": (lambda d: d["tensors"]["input"].update(hi=2**70), "hi"),
    "unknown op kind": (lambda d: d["ops"][0].update(kind="softmax"), "kind"),
    "unknown input": (lambda d: d["ops"][0].update(inputs=["ghost"]), "ghost"),
    "unknown layer": (lambda d: _first(d, "conv")["attrs"].update(layer="ghost"), "ghost"),
    "unknown source": (lambda d: _layer(d).update(source="magic"), "magic"),
    "mask truncated": (lambda d: _layer(d)["params"].update(
        mask=_layer(d)["params"]["mask"][:-2]), "mask"),
    "seed a string": (lambda d: _layer(d)["params"].update(seed="0x12"), "seed"),
    "params missing": (lambda d: _layer(d).pop("params"), "params"),
    "no requant sets": (lambda d: _first(d, "requant")["attrs"].update(sets=[]), "sets"),
    "direction 2": (lambda d: _first(d, "requant")["attrs"]["sets"][0].update(
        direction=[2] * len(_first(d, "requant")["attrs"]["sets"][0]["direction"])),
        "direction"),
    "fold of 0 iterations": (lambda d: _first(d, "fold")["attrs"].update(iterations=0),
                             "iterations"),
    "name with a newline": (lambda d: d.update(name="g\n#error x"), "name"),
    "op name with a newline": (lambda d: d["ops"][1].update(name="rq\nexec x"), "name"),
    "duplicate op names": (lambda d: d["ops"][1].update(name=d["ops"][0]["name"]),
                           "duplicate op name"),
    "output missing": (lambda d: d.update(output="ghost"), "ghost"),
    "kernel does not fit layer": (lambda d: _first(d, "conv")["attrs"].update(kernel=5),
                                  "kernel"),
    "ops is an object": (lambda d: d.update(ops={}), "ops"),
    "stride 0": (lambda d: _first(d, "conv")["attrs"].update(stride=0), "stride"),
}


@pytest.mark.parametrize("case", sorted(IR_EDITS))
def test_ir_json_edits(work, case):
    fn, needle = IR_EDITS[case]
    d = json.loads((work / "g.json").read_text())
    fn(d)
    bad = work / "bad.json"
    bad.write_text(json.dumps(d))
    line = refused(["ir", bad], str(bad), needle, watch=[work])
    assert "verified" not in line
    refused(["generate", bad, "-o", work / "p2"], str(bad), needle, watch=[work],
            absent=[work / "p2"])


@pytest.mark.parametrize("text,needle", [("{", "invalid JSON"), ("[]", "dictionary"),
                                         ('{"format": "hfn-ir", "version": NaN}',
                                          "invalid JSON"), ("\xff\xfe", "JSON")])
def test_ir_json_that_is_not_a_document(work, text, needle):
    bad = work / "bad.json"
    bad.write_text(text, encoding="latin-1")
    rc, out, _ = run(["ir", bad])
    assert "verified" not in out
    refused(["ir", bad], str(bad), needle, watch=[work])


def test_ir_json_ok_says_checked_not_verified(work):
    rc, out, err = run(["ir", work / "g.json"])
    assert rc == 0, err
    assert "checked" in out and "verified" not in out


# -- 4. project.json, rtl.json, board files --------------------------------------------------

PROJECT_EDITS = {
    "not JSON": (None, "invalid JSON"),
    "version 1": (lambda d: d.update(version=1), "version 1"),
    "p_in a string": (lambda d: d["lanes"].update(p_in="4"), "lanes.p_in"),
    "0 vectors": (lambda d: d.update(tb_vectors=0), "tb_vectors"),
    "file outside": (lambda d: d["files"].append("../x"), "outside"),
    "board clock 0": (lambda d: d["board"].update(clock_mhz=0), "clock_mhz"),
    "input shape of 2": (lambda d: d["input"].update(shape=[5, 5]), "input.shape"),
    "name with a newline": (lambda d: d.update(name="a\nb"), "name"),
    "hls not an object": (lambda d: d.update(hls=[]), "hls"),
    "an array": (lambda d: d.clear(), "not an hfn-hls-project"),
}


@pytest.mark.parametrize("case", sorted(PROJECT_EDITS))
def test_project_json_edits(work, case):
    fn, needle = PROJECT_EDITS[case]
    pj = work / "prj" / "project.json"
    if fn is None:
        pj.write_text("{\"format\": ")
    else:
        d = json.loads(pj.read_text())
        fn(d)
        pj.write_text(json.dumps(d))
    refused(["csim", work / "prj"], "project.json", needle, watch=[work])


RTL_EDITS = {
    "not JSON": (None, "invalid JSON"),
    "P_IN 0": (lambda d: d["parameters"].update(P_IN=0), "parameters.P_IN"),
    "engine_macs a string": (lambda d: d.update(engine_macs="many"), "engine_macs"),
    "board with a newline": (lambda d: d.update(board="a\nb"), "board"),
    "verilog file outside": (lambda d: d["verilog"].append("../../x.v"), "verilog"),
}


@pytest.mark.parametrize("case", sorted(RTL_EDITS))
def test_rtl_json_edits(work, case):
    fn, needle = RTL_EDITS[case]
    rj = work / "prj" / "rtl" / "rtl.json"
    if fn is None:
        rj.write_text("[")
    else:
        d = json.loads(rj.read_text())
        fn(d)
        rj.write_text(json.dumps(d))
    refused(["sim", work / "prj", "-n", "1"], "rtl.json", needle, watch=[work])


BOARD_EDITS = {
    "clock 0": (lambda b: b.update(clock_mhz=0), "clock_mhz"),
    "clock negative": (lambda b: b.update(clock_mhz=-100), "clock_mhz"),
    "clock a string": (lambda b: b.update(clock_mhz="fast"), "clock_mhz"),
    "negative LUTs": (lambda b: b["resources"].update(lut=-1), "resources.lut"),
    "resources a list": (lambda b: b.update(resources=[1, 2]), "resources"),
    "unknown family": (lambda b: b.update(family="xc9"), "family"),
    "part missing": (lambda b: b.pop("part"), "part"),
    "name with a newline": (lambda b: b.update(name="pynq\nexec rm -rf /"), "name"),
    "part with a quote": (lambda b: b.update(part='xc7z020"; exec x'), "part"),
    "ecp5 without nextpnr": (lambda b: b.update(family="ecp5", flow="open"), "nextpnr"),
    "not an object": (lambda b: b.clear() or b.update({"x": [1]}), "name"),
}


@pytest.mark.parametrize("case", sorted(BOARD_EDITS))
def test_board_edits(work, case):
    from hfn_hls.paths import BOARDS_DIR
    fn, needle = BOARD_EDITS[case]
    b = json.loads((BOARDS_DIR / "pynq-z2.json").read_text())
    fn(b)
    bf = work / "my board.json"
    bf.write_text(json.dumps(b))
    refused(["generate", work / "g.json", "-o", work / "p2", "--board", bf], str(bf), needle,
            watch=[work], absent=[work / "p2"])


def test_board_file_not_json_and_board_name_not_a_name(work):
    bf = work / "b.json"
    bf.write_text("{")
    refused(["generate", work / "g.json", "-o", work / "p2", "--board", bf], "invalid JSON",
            watch=[work])
    refused(["generate", work / "g.json", "-o", work / "p2", "--board", "../../etc/x"],
            "not a board name", watch=[work])


# -- 5. command-line values ---------------------------------------------------------------

CLI_VALUES = [
    (["train", "--preset", "digits", "--epochs", "-1"], "--epochs -1"),
    (["train", "--preset", "digits", "--epochs", "0"], "--epochs 0"),
    (["train", "--preset", "digits", "--batch-size", "0"], "--batch-size 0"),
    (["train", "--preset", "digits", "--lr", "-1"], "--lr"),
    (["train", "--preset", "digits", "--lr", "nan"], "--lr"),
    (["train", "--preset", "digits", "--threads", "0"], "--threads 0"),
    (["train", "--preset", "digits", "--model-seed", "-1"], "--model-seed"),
    (["train", "--preset", "digits", "--act-bits", "9"], "--act-bits 9"),
    (["train", "--preset", "digits", "--k", "nan"], "--k"),
    (["train", "--preset", "digits", "--k", "0"], "--k"),
    (["train", "--preset", "digits", "--epochs", "abc"], "--epochs"),
    (["init", "--preset", "digits", "--act-bits", "1"], "--act-bits 1"),
    (["init", "--preset", "digits", "--seed", "-1"], "--seed -1"),
    (["init", "--preset", "digits", "--method", "layerfold", "--lambda", "inf"], "--lambda"),
]


@pytest.mark.parametrize("args,needle", CLI_VALUES, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_cli_values_train(work, args, needle):
    refused([*args, "-o", work / "r"], needle, watch=[work], absent=[work / "r"])


@pytest.mark.parametrize("args,needle", [
    (["generate", "{g}", "-o", "{w}/p2", "--vectors", "0"], "--vectors 0"),
    (["generate", "{g}", "-o", "{w}/p2", "--vectors", "1000000000000"], "--vectors"),
    (["generate", "{g}", "-o", "{w}/p2", "--lanes", "0"], "--lanes 0"),
    (["generate", "{g}", "-o", "{w}/p2", "--lanes", "3"], "--lanes 3"),
    (["generate", "{g}", "-o", "{w}/p2", "--lanes", "4x0"], "--lanes 4x0"),
    (["csim", "{w}/prj", "-n", "0"], "-n 0"),
    (["csim", "{w}/prj", "-n", "-5"], "-n -5"),
    (["sim", "{w}/prj", "-n", "0"], "-n 0"),
    (["synth", "{w}/prj", "--open", "--freq", "nan"], "--freq"),
    (["synth", "{w}/prj", "--open", "--no-pnr"], "--no-pnr"),
    (["report", "--preset", "nope"], "nope"),
])
def test_cli_values_hardware(work, args, needle):
    args = [a.format(g=work / "g.json", w=work) for a in args]
    refused(args, needle, watch=[work], absent=[work / "p2"])


def test_counts_bounded_by_what_exists(work):
    """csim -n 10^12 checks all 5 vectors and says so; nothing absurd is allocated."""
    rc, out, err = run(["csim", work / "prj", "-n", "1000000000000"])
    assert rc == 0, err
    assert "holds 5 vectors: checked all 5" in out and "5 vectors, 0 mismatches" in out


# -- 6. corrupted projects ------------------------------------------------------------------

def _cut(f: Path, keep: int):
    f.write_text("".join(f.read_text().splitlines(keepends=True)[:keep]))


TB_EDITS = {
    "outputs empty": (lambda p: (p / "tb_data/outputs.txt").write_text(""), "outputs.txt",
                      "empty"),
    "outputs truncated": (lambda p: _cut(p / "tb_data/outputs.txt", 2), "outputs.txt",
                          "truncated"),
    "inputs truncated": (lambda p: _cut(p / "tb_data/inputs.txt", 1), "inputs.txt",
                         "truncated"),
    "inputs garbage": (lambda p: (p / "tb_data/inputs.txt").write_text("zz zz\n" * 5),
                       "inputs.txt line 1", "hex"),
    "outputs garbage": (lambda p: (p / "tb_data/outputs.txt").write_text("1 x\n" * 5),
                        "outputs.txt line 1", "integer"),
    "outputs too long": (lambda p: (p / "tb_data/outputs.txt").write_text(
        (p / "tb_data/outputs.txt").read_text() * 2), "outputs.txt", "longer"),
    "inputs missing": (lambda p: (p / "tb_data/inputs.txt").unlink(), "missing", "inputs"),
    "word too wide": (lambda p: (p / "tb_data/inputs.txt").write_text(
        ("ffffffffff " * 25 + "\n") * 5), "inputs.txt line 1", "bits"),
    "project.json missing": (lambda p: (p / "project.json").unlink(), "no project.json", ""),
    "project is a file": (lambda p: shutil.rmtree(p) or p.write_text("x"),
                          "no such project", ""),
}


@pytest.mark.parametrize("cmd", ["csim", "sim"])
@pytest.mark.parametrize("case", sorted(TB_EDITS))
def test_corrupted_projects(work, case, cmd):
    """A broken tb_data file is exit 2 with the file named, never a pass and never a
    hardware mismatch (exit 1)."""
    fn, *needles = TB_EDITS[case]
    fn(work / "prj")
    refused([cmd, work / "prj", "-n", "3"], *[n for n in needles if n], watch=[work])


# -- 7. output folders and files ------------------------------------------------------------

def test_force_never_deletes_foreign_files(work):
    """'-o . --force' in a folder with files, a folder of other files, the input file
    itself, a file that is not a previous output: refused, nothing deleted."""
    refused(["generate", "g.json", "-o", ".", "--force"], "current directory",
            watch=[work], cwd=work)
    other = work / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    refused(["generate", work / "g.json", "-o", other, "--force"], "not an hfn-hls project",
            watch=[work])
    refused(["ir", work / "g.json", "-o", work / "g.json", "--force"], "also an input",
            watch=[work])
    (work / "notes.json").write_text('{"mine": 1}')
    refused(["ir", work / "g.json", "-o", work / "notes.json", "--force"], "not an IR JSON",
            watch=[work])
    refused(["generate", work / "g.json", "-o", work / "prj"], "--force", watch=[work])
    refused(["generate", work / "g.json", "-o", work / "g.json", "--force"],
            "not a directory", watch=[work])


def test_leftovers_are_cleaned_up_and_an_old_project_restored(work):
    """A dead run's staging folder is removed by the next run; an old project moved aside
    by a run killed between two renames is put back, and the run says so."""
    dead = 2**22 + 12345                    # above pid_max's default: no such process
    stale = work / f".prj.tmp{dead}"
    stale.mkdir()
    (stale / "half.h").write_text("// half")
    rc, out, err = run(["generate", work / "g.json", "-o", work / "prj", "--force",
                        "--vectors", "5"])
    assert rc == 0, err
    assert f"removed .prj.tmp{dead}" in out and leftovers(work) == []
    os.rename(work / "prj", work / f".prj.old{dead}")
    want = tree(work / f".prj.old{dead}")
    rc, out, err = run(["generate", work / "g.json", "-o", work / "prj", "--vectors", "5"])
    assert rc == 2 and "--force" in err                  # restored, so it exists again
    assert f"restored {work / 'prj'}" in out
    assert tree(work / "prj") == want and leftovers(work) == []


# -- 8. OS errors: read-only folders, a file where a folder is expected -----------------

@pytest.fixture
def read_only(tmp_path):
    """A folder nobody (root included) can write into: chattr +i as root, else chmod."""
    d = tmp_path / "ro"
    d.mkdir()
    (d / "x.txt").write_text("x")
    if os.geteuid() == 0:
        r = subprocess.run(["chattr", "+i", str(d)], capture_output=True)
        assert r.returncode == 0, r.stderr          # root ignores chmod: needs chattr
        yield d
        subprocess.run(["chattr", "-i", str(d)], check=True)
    else:
        d.chmod(0o555)
        yield d
        d.chmod(0o755)


def test_read_only_folders(work, read_only):
    refused(["generate", work / "g.json", "-o", read_only / "prj"], str(read_only),
            watch=[work, read_only])
    refused(["ir", work / "g.json", "-o", read_only / "ir.json"], str(read_only),
            watch=[work, read_only])
    prj = read_only.parent / "ro_prj"
    shutil.copytree(work / "prj", prj)
    before = tree(prj)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(prj)], check=True)
    else:
        prj.chmod(0o555)
    try:
        refused(["csim", prj], str(prj / "build"), watch=[prj])
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(prj)], check=True)
        else:
            prj.chmod(0o755)
    assert tree(prj) == before


def test_a_file_where_a_folder_is_expected(work):
    f = work / "afile"
    f.write_text("I am a file")
    refused(["generate", work / "g.json", "-o", f / "prj"], str(f), watch=[work])
    refused(["ir", work / "g.json", "-o", f / "ir.json"], str(f), watch=[work])
    refused(["init", "--preset", "digits", "-o", f / "run"], str(f), watch=[work])
    refused(["init", "--preset", "digits", "-o", f], str(f), watch=[work])
    refused(["csim", f], str(f), watch=[work])
    refused(["ir", work], "is a directory", watch=[work])


# -- 9. paths that must work ------------------------------------------------------------------

def test_relative_dot_and_spaces(work):
    """Relative paths and paths with spaces work for generate, ir and csim; '.' works as
    an input folder; regeneration is byte-identical, folder modes included."""
    sp = work / "my models" / "run 1"
    sp.mkdir(parents=True)
    shutil.copyfile(work / "g.json", sp / "g.json")
    rc, out, err = run(["generate", "g.json", "-o", "out prj", "--vectors", "3"], cwd=sp)
    assert rc == 0, err
    rc, out, err = run(["csim", "out prj"], cwd=sp)
    assert rc == 0 and "3 vectors, 0 mismatches" in out, err
    rc, out, err = run(["ir", "./g.json", "-o", "./ir copy.json"], cwd=sp)
    assert rc == 0, err
    # byte-identical regeneration, modes too (csim's build/ is not part of a project)
    shutil.rmtree(sp / "out prj" / "build")
    first = tree(sp / "out prj")
    rc, out, err = run(["generate", "g.json", "-o", "out prj", "--vectors", "3", "--force"],
                       cwd=sp)
    assert rc == 0, err
    assert tree(sp / "out prj") == first
    modes = {v[0] for k, v in first.items() if len(v) == 1}
    assert len(modes) == 1, modes                     # every folder the same mode
    rc, out, err = run(["generate", sp / "g.json", "-o", sp / "again", "--vectors", "3"])
    assert rc == 0, err
    assert tree(sp / "again") == first


def test_one_line_from_a_real_process(work):
    """The same promise from a real process (no in-process capture): a metadata edit."""
    bad = edit_meta(work / "model.onnx", work / "bad.onnx",
                    lambda m: m["layers"][0].update(seed="abc"))
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", "ir", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "layers[0]" in r.stderr


# -- 10. SIGKILL at random points of generate --force ----------------------------------------

def test_sigkill_during_generate_force_leaves_old_or_new(base, tmp_path):
    """``generate --force`` over an existing project, killed (SIGKILL) at random points
    of its run, a few times: the project folder is always the complete old or the
    complete new one (no half, never missing); the next run removes what the killed
    one left beside it and writes the new project."""
    import random
    import signal
    import time

    ir = base / "ir.json"                       # the digits IR: a run of about a second
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def gen(out: Path, vectors: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "hfn_hls.cli", "generate", str(ir),
                                 "-o", str(out), "--vectors", str(vectors), "--force"],
                                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    ref_old, ref_new = tmp_path / "ref_old", tmp_path / "ref_new"
    for out, v in ((ref_old, 7), (ref_new, 60)):
        assert gen(out, v).wait() == 0
    old, new = tree(ref_old), tree(ref_new)
    assert old != new
    t0 = time.perf_counter()
    assert gen(tmp_path / "timing", 60).wait() == 0
    full = time.perf_counter() - t0
    rng = random.Random(9)
    prj = tmp_path / "prj"
    seen = set()
    for i in range(6):
        if prj.exists():
            shutil.rmtree(prj)
        shutil.copytree(ref_old, prj)
        p = gen(prj, 60)
        time.sleep(rng.uniform(0.3, 1.1) * full)
        p.send_signal(signal.SIGKILL)
        p.wait()
        got = tree(prj)
        assert got in (old, new), f"kill {i}: the project is neither the old nor the new one"
        seen.add("new" if got == new else "old")
        # the next run cleans up after the killed one and completes
        r = gen(prj, 60)
        assert r.wait() == 0, r.stderr.read()
        assert tree(prj) == new and leftovers(tmp_path) == []
    print("states after the kills:", sorted(seen))
    assert seen, seen


def test_swap_without_rename_exchange(work, monkeypatch):
    """Where the atomic exchange is missing, the old project is renamed aside first: a
    run that dies between the two renames leaves it there, and the next run puts it
    back and says so (never a lost project)."""
    from hfn_hls import atomic

    want = tree(work / "prj")
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    real_replace = atomic.replace_dir

    def killed_between_renames(tmp, dest):        # what a SIGKILL there leaves behind
        if dest.name == "prj":
            os.rename(dest, dest.parent / f".{dest.name}.old{os.getpid()}")
            raise KeyboardInterrupt
        real_replace(tmp, dest)

    monkeypatch.setattr(atomic, "replace_dir", killed_between_renames)
    rc, out, err = run(["generate", work / "g.json", "-o", work / "prj", "--force",
                        "--vectors", "4"])
    assert rc == 130 and not (work / "prj").exists()
    assert [p.name for p in work.iterdir() if p.name.startswith(".prj.old")]
    monkeypatch.setattr(atomic, "replace_dir", real_replace)
    monkeypatch.setattr(atomic, "_alive", lambda pid: False)   # as after a real death
    rc, out, err = run(["generate", work / "g.json", "-o", work / "prj", "--vectors", "4"])
    assert "restored" in out and rc == 2 and "--force" in err
    assert tree(work / "prj") == want and leftovers(work) == []


def test_full_disk_while_writing(work, monkeypatch):
    """ENOSPC in the middle of writing a project: one line naming the file, the old
    project untouched, nothing left beside it."""
    import errno
    real = Path.write_text
    count = []

    def full(self, *a, **k):
        count.append(self)
        if len(count) == 5:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    line = refused(["generate", work / "g.json", "-o", work / "prj", "--force",
                    "--vectors", "4"], "No space left on device", "free some space",
                   watch=[work])
    assert ".prj.tmp" in line and leftovers(work) == []
