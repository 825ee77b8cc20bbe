"""Bad input to generate / csim: one clear message, exit code 2, nothing overwritten."""
from __future__ import annotations

import json

import pytest

from hfn_hls.cli import main
from hfn_hls.ir.random_graph import RESNET20, random_graph, resnet_graph


@pytest.fixture
def ir_file(tmp_path):
    p = tmp_path / "small.json"
    random_graph(2, max_width=4, image=5).save(p)
    return p


def _run(capsys, *argv) -> tuple[int, str]:
    rc = main(list(argv))
    err = capsys.readouterr().err
    return rc, err


def _snapshot(d):
    return {p: p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_unknown_board(tmp_path, capsys, ir_file):
    rc, err = _run(capsys, "generate", str(ir_file), "-o", str(tmp_path / "p"), "--board", "nope")
    assert rc == 2 and "unknown board" in err and "pynq-z2" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "p").exists()


def test_design_too_large_names_numbers_and_a_fix(tmp_path, capsys):
    ir = tmp_path / "rn20.json"
    resnet_graph(0, stages=RESNET20).save(ir)
    rc, err = _run(capsys, "generate", str(ir), "-o", str(tmp_path / "p"), "--lanes", "32x32")
    assert rc == 2 and "does not fit" in err and "lut" in err
    assert "--lanes" in err and "--board" in err          # fewer lanes, or a bigger board
    assert not (tmp_path / "p").exists()
    assert not list(tmp_path.glob(".p.tmp*"))


def test_existing_output_is_not_overwritten(tmp_path, capsys, ir_file):
    out = tmp_path / "p"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rc, err = _run(capsys, "generate", str(ir_file), "-o", str(out))
    assert rc == 2 and "--force" in err
    assert (out / "keep.txt").read_text() == "mine" and len(list(out.iterdir())) == 1
    # --force replaces only a previous project: a folder of other files is refused
    rc, err = _run(capsys, "generate", str(ir_file), "-o", str(out), "--force", "--vectors", "2")
    assert rc == 2 and "not an hfn-hls project" in err
    assert (out / "keep.txt").read_text() == "mine" and len(list(out.iterdir())) == 1
    (out / "keep.txt").unlink()
    assert _run(capsys, "generate", str(ir_file), "-o", str(out), "--vectors", "2")[0] == 0
    rc, _ = _run(capsys, "generate", str(ir_file), "-o", str(out), "--force", "--vectors", "3")
    assert rc == 0 and json.loads((out / "project.json").read_text())["tb_vectors"] == 3


def test_failure_leaves_previous_project_intact(tmp_path, capsys, ir_file):
    out = tmp_path / "p"
    assert _run(capsys, "generate", str(ir_file), "-o", str(out), "--vectors", "2")[0] == 0
    before = _snapshot(out)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    rc, err = _run(capsys, "generate", str(ir_file), "-o", str(out), "--force", "--inputs", str(bad))
    assert rc == 2 and "bad.npy" in err
    assert _snapshot(out) == before


def test_gxx_missing(tmp_path, capsys, ir_file, monkeypatch):
    out = tmp_path / "p"
    assert _run(capsys, "generate", str(ir_file), "-o", str(out), "--vectors", "2")[0] == 0
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    rc, err = _run(capsys, "csim", str(out))
    assert rc == 2 and "g++" in err and "not found" in err
    assert not (out / "build").exists()


@pytest.mark.parametrize("damage", ["no_project_json", "bad_json", "missing_file", "not_dir"])
def test_corrupt_project(tmp_path, capsys, ir_file, damage):
    out = tmp_path / "p"
    assert _run(capsys, "generate", str(ir_file), "-o", str(out), "--vectors", "2")[0] == 0
    if damage == "no_project_json":
        (out / "project.json").unlink()
    elif damage == "bad_json":
        (out / "project.json").write_text("{ truncated")
    elif damage == "missing_file":
        (out / "firmware" / "parameters.h").unlink()
    else:
        out = tmp_path / "absent"
    rc, err = _run(capsys, "csim", str(out), "--json")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert {"no_project_json": "not an hfn-hls project", "bad_json": "invalid JSON",
            "missing_file": "parameters.h", "not_dir": "no such project"}[damage] in err


def test_csim_json_reports_vectors_and_mismatches(tmp_path, capsys, ir_file):
    out = tmp_path / "p"
    assert _run(capsys, "generate", str(ir_file), "-o", str(out), "--vectors", "7")[0] == 0
    capsys.readouterr()
    assert main(["csim", str(out), "-n", "5", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["vectors"] == 5 and res["mismatches"] == 0


def test_bad_lanes_and_bad_inputs_shape(tmp_path, capsys, ir_file):
    import numpy as np
    rc, err = _run(capsys, "generate", str(ir_file), "-o", str(tmp_path / "p"), "--lanes", "3")
    assert rc == 2 and "lane" in err
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 4, 4, 1), dtype=np.int64))
    rc, err = _run(capsys, "generate", str(ir_file), "-o", str(tmp_path / "p"), "--inputs", str(x))
    assert rc == 2 and "do not match" in err and not (tmp_path / "p").exists()
