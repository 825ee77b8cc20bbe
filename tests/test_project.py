"""The project module: generate() with the two backends as peers, the typed project.json
and its loader, atomic replacement, determinism."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hfn_hls.boards import load_board
from hfn_hls.errors import HfnError
from hfn_hls.ir.random_graph import random_graph
from hfn_hls.lanes import parse_lanes
from hfn_hls.project import FORMAT, VERSION, generate, load, toolflow

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"


def snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graph():
    return random_graph(4)


def test_generate_writes_every_part_and_lists_it(tmp_path, graph):
    info = generate(graph, load_board("pynq-z2"), parse_lanes("4x4"), tmp_path / "p", vectors=3)
    prj = load(tmp_path / "p")
    assert prj.info == info
    files = set(info.files)
    assert {"project.json", "ir.json", "build_prj.tcl", "tb_data/inputs.txt",
            "tb_data/outputs.txt", "firmware/hfn_top.cpp", "tb/hfn_tb.cpp",
            "rtl/hfn_top.v", "rtl/rtl.json"} <= files
    assert files == set(snapshot(tmp_path / "p"))          # every file listed, no other
    d = json.loads((tmp_path / "p" / "project.json").read_text())
    assert (d["format"], d["version"]) == (FORMAT, VERSION) == ("hfn-hls-project", 2)
    assert d["board"] == load_board("pynq-z2").data
    assert d["vendor"]["vlnv"] == str(toolflow.IP) and d["rtl"]["top"] == "hfn_top"
    assert d["input"]["shape"] == graph.input_tensor.shape and d["tb_vectors"] == 3
    assert "estimate" in d["hls"] and "estimate" not in d


def test_deterministic_and_write_project_wrapper(tmp_path, graph):
    from hfn_hls.hls import write_project
    a = write_project(graph, load_board("kv260"), parse_lanes("8"), tmp_path / "a", vectors=2)
    generate(graph, load_board("kv260"), parse_lanes("8"), tmp_path / "b", vectors=2)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    assert a == json.loads((tmp_path / "a" / "project.json").read_text())


def test_hls_writer_does_not_import_the_rtl_backend():
    code = ("import sys, hfn_hls.hls.writer; "
            "print(any(m.startswith('hfn_hls.rtl_backend') for m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": str(FRONTEND), "PATH": "/usr/bin:/bin"})
    assert r.stdout.strip() == "False", r.stderr


def test_custom_board_is_kept_in_the_project(tmp_path, graph):
    data = {**load_board("pynq-z2").data, "name": "my-board"}
    bf = tmp_path / "my-board.json"
    bf.write_text(json.dumps(data))
    generate(graph, load_board(str(bf)), parse_lanes("4x4"), tmp_path / "p", vectors=2)
    bf.unlink()                                              # the project stands alone
    assert load(tmp_path / "p").info.board.name == "my-board"
    from hfn_hls.vendor.flow import load_project
    assert load_project(tmp_path / "p").board.part == data["part"]


def test_failed_generate_keeps_the_previous_project(tmp_path, graph, monkeypatch):
    out = tmp_path / "p"
    generate(graph, load_board("pynq-z2"), parse_lanes("4x4"), out, vectors=2)
    before = snapshot(out)
    import hfn_hls.project.writer as gen

    def boom(*a, **k):
        raise HfnError("rtl", "failed on purpose")
    monkeypatch.setattr(gen, "write_rtl", boom)
    with pytest.raises(HfnError, match="on purpose"):
        generate(graph, load_board("pynq-z2"), parse_lanes("4x4"), out, force=True, vectors=5)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]      # no .tmp / .old left
    with pytest.raises(HfnError, match="--force"):
        generate(graph, load_board("pynq-z2"), parse_lanes("4x4"), out, vectors=2)


@pytest.mark.parametrize("damage,message", [
    (lambda d: d.update(version=1), "version 1"),
    (lambda d: d.pop("vendor"), '"vendor" is missing'),
    (lambda d: d["lanes"].update(p_in="4"), '"lanes.p_in" = "4": input should be a valid integer'),
    (lambda d: d["board"].pop("part"), 'board: "part" is missing'),
    (lambda d: d["files"].append("../outside"), "outside the project"),
    (lambda d: d.update(format="other"), "not an hfn-hls-project description"),
])
def test_loader_refuses_bad_descriptions(tmp_path, graph, damage, message):
    generate(graph, load_board("pynq-z2"), parse_lanes("4x4"), tmp_path / "p", vectors=2,
             rtl=False)
    pj = tmp_path / "p" / "project.json"
    d = json.loads(pj.read_text())
    damage(d)
    pj.write_text(json.dumps(d))
    with pytest.raises(HfnError, match=message.replace("(", r"\(")) as e:
        load(tmp_path / "p")
    assert "\n" not in str(e.value)
