"""``hfn-hls sim`` on projects that ``hfn-hls generate`` really wrote, addressed as the
README writes it: a relative path from the folder that holds the project, and a folder
whose path holds spaces (make cannot build there: the build moves to a space-free cache
folder), or one clear line with exit 2 when no space-free folder exists."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hfn_hls.ir.random_graph import random_graph


def hfn(*args, cwd: Path, env: dict | None = None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, env=e)
    return r.returncode, r.stdout, r.stderr


def _generated(folder: Path, *lanes: str) -> None:
    """folder/prj written by `hfn-hls generate` from a small random IR, run from folder
    (``lanes``: e.g. "--lanes", "16"; default: generate's own, --lanes auto)."""
    folder.mkdir(parents=True)
    random_graph(3, max_width=6, image=5).save(folder / "g.json")
    rc, out, err = hfn("generate", "g.json", "-o", "prj", "--vectors", "5", *lanes,
                       cwd=folder)
    assert rc == 0, err
    assert (folder / "prj" / "rtl" / "hfn_top.v").is_file()


def test_sim_relative_path(tmp_path):
    """The default project (--lanes auto: the pixel engine) simulated from its folder."""
    work = tmp_path / "work"
    _generated(work)
    assert json.loads((work / "prj" / "rtl" / "rtl.json").read_text())["engine"] == "pixel"
    rc, out, err = hfn("sim", "prj", "-n", "5", cwd=work)
    assert rc == 0, err
    assert out.startswith("5 images, 0 mismatches with the golden model"), out
    rep = json.loads((work / "prj" / "reports" / "rtl_sim.json").read_text())
    assert (rep["vectors"], rep["mismatches"]) == (5, 0)
    assert Path(rep["build_dir"]) == work / "prj" / "build" / "rtl_sim"


def test_sim_in_a_path_with_spaces(tmp_path):
    work = tmp_path / "my models" / "run 1"
    _generated(work, "--lanes", "16")      # about the build folder: the smaller channel engine
    cache = tmp_path / "cache"
    rc, out, err = hfn("sim", "prj", "-n", "5", "--json", cwd=work,
                       env={"XDG_CACHE_HOME": str(cache)})
    assert rc == 0, err
    rep = json.loads(out)
    assert (rep["vectors"], rep["mismatches"]) == (5, 0)
    # built outside the project, in the space-free cache folder
    assert Path(rep["build_dir"]).parent == cache / "hfn-hls" / "rtl_sim"
    assert (Path(rep["build_dir"]) / "hfn_top").is_file()
    assert json.loads((work / "prj" / "reports" / "rtl_sim.json").read_text()) == rep


def test_sim_refused_when_no_space_free_folder(tmp_path):
    work = tmp_path / "my models"
    _generated(work, "--lanes", "16")
    spaced = tmp_path / "cache dir"
    spaced.mkdir()
    rc, out, err = hfn("sim", "prj", "-n", "5", cwd=work,
                       env={"XDG_CACHE_HOME": str(spaced), "TMPDIR": str(spaced)})
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "without spaces" in lines[0] and str(work / "prj") in lines[0]
    assert not (work / "prj" / "reports").exists()
