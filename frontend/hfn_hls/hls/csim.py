"""C simulation of a generated project with g++ against hls4ml's bundled ap_types.

``run_csim`` builds and runs the testbench (tb/hfn_tb.cpp on tb_data/);
``HlsModel(prj).compile()`` builds a shared library and ``predict(codes)`` calls the
top through ctypes, as hls4ml does.  Build products live in PRJ/build/ and are reused
while the sources and flags are unchanged (a hash in a stamp file).
"""
from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import HfnError

CXXFLAGS = ["-O2", "-std=c++14", "-w", "-fPIC"]


def ap_types_dir() -> Path:
    """The ap_types headers (ap_int.h, hls_stream.h) that the installed hls4ml ships."""
    try:
        import hls4ml
    except ImportError:
        raise HfnError("hls4ml", "not installed: C simulation needs its ap_types headers",
                       "pip install 'hfn-hls[hw]' (hls4ml==1.3.0)") from None
    d = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    if not (d / "ap_int.h").is_file() or not (d / "hls_stream.h").is_file():
        raise HfnError(str(d), "hls4ml's ap_types headers are missing",
                       "reinstall hls4ml==1.3.0")
    return d


def compiler() -> str:
    gxx = shutil.which("g++")
    if gxx is None:
        raise HfnError("g++", "not found on PATH: C simulation compiles the project with g++",
                       "install g++ (e.g. apt-get install g++) or add it to PATH")
    return gxx


def load_project(prj: str | Path) -> dict:
    """project.json of a generated project, checked (``hfn_hls.project.load``); HfnError
    if the directory is not one."""
    from ..project import load
    return load(prj).info.to_dict()


def _digest(paths: list[Path], extra: list[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    for e in extra:
        h.update(e.encode())
    return h.hexdigest()


class _Builder:
    """g++ invocations with a per-target stamp so unchanged targets are not rebuilt."""

    def __init__(self, prj: Path):
        self.prj = prj
        self.gxx = compiler()
        self.inc = ["-I", str(prj / "firmware"), "-I", str(prj / "firmware" / "lib"),
                    "-I", str(ap_types_dir())]
        self.build = prj / "build"
        self.pre = self._precompiled_header()

    def _precompiled_header(self) -> list[str]:
        """``-include`` of a precompiled ap_int.h + hls_stream.h, cached per user in the
        temporary directory (keyed by compiler, flags and headers): it halves the compile
        time of small projects.  Any failure just means compiling without it."""
        ap = ap_types_dir()
        key = _digest([ap / "ap_int.h", ap / "hls_stream.h"], [self.gxx, *CXXFLAGS, str(ap)])
        d = Path(tempfile.gettempdir()) / f"hfn-hls-pch-{os.getuid()}" / key[:16]
        hdr, gch = d / "hfn_pre.h", d / "hfn_pre.h.gch"
        if not gch.is_file():
            try:
                d.mkdir(parents=True, exist_ok=True)
                if not hdr.is_file():
                    tmp_h = d / f"hfn_pre.h.{os.getpid()}"
                    tmp_h.write_text('#include "ap_int.h"\n#include "hls_stream.h"\n')
                    tmp_h.replace(hdr)
                tmp = d / f"hfn_pre.h.gch.{os.getpid()}"
                r = subprocess.run([self.gxx, *CXXFLAGS, "-I", str(ap), "-x", "c++-header",
                                    str(hdr), "-o", str(tmp)], capture_output=True)
                if r.returncode:
                    return []
                tmp.replace(gch)
            except OSError:
                return []
        return ["-include", str(hdr)]

    def _sources(self) -> list[Path]:
        fw = self.prj / "firmware"
        return sorted(fw.glob("*.h")) + sorted((fw / "lib").glob("*.h")) + \
            [fw / "hfn_top.cpp"]

    def target(self, name: str, main_src: Path, shared: bool) -> tuple[Path, float]:
        """Build PRJ/build/<name>; returns (path, seconds spent compiling, 0 if cached)."""
        self.build.mkdir(exist_ok=True)
        out = self.build / name
        stamp = self.build / f"{name}.stamp"
        key = _digest(self._sources() + [main_src], [self.gxx, *CXXFLAGS, str(shared),
                                                      str(ap_types_dir())])
        if out.is_file() and stamp.is_file() and stamp.read_text() == key:
            return out, 0.0
        t0 = time.perf_counter()
        top_o = self.build / "hfn_top.o"
        main_o = self.build / f"{name}.o"
        jobs = [self._start(self.prj / "firmware" / "hfn_top.cpp", top_o),
                self._start(main_src, main_o)]
        for proc, src in jobs:
            self._finish(proc, src)
        link = [self.gxx, *(["-shared"] if shared else []), "-o", str(out), str(top_o),
                str(main_o)]
        self._finish(subprocess.Popen(link, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True), "link")
        stamp.write_text(key)
        return out, time.perf_counter() - t0

    def _start(self, src: Path, obj: Path):
        cmd = [self.gxx, *CXXFLAGS, *self.inc, *self.pre, "-c", str(src), "-o", str(obj)]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True), src

    def _finish(self, proc, src) -> None:
        log, _ = proc.communicate()
        if proc.returncode:
            name = Path(str(src)).name
            log_file = self.build / f"{name}.log"
            log_file.write_text(log)
            first = next((l for l in log.splitlines() if "error" in l), "")
            raise HfnError(f"{self.prj}: compiling {name}",
                           f"g++ failed: {' '.join(first.split())[:300]}",
                           f"the whole log is in {log_file}; regenerate the project; if it "
                           "persists this is a bug in hfn-hls")


def run_csim(prj: str | Path, n: int | None = None) -> dict:
    """Build and run the testbench on the first n vectors (all if None, at most all
    there are: ``available`` in the result).  The tb_data files are checked first
    (``project.tbdata``: a broken file is an HfnError, exit 2, not a mismatch), and the
    run must check exactly the vectors asked."""
    from ..project import load
    from ..project.tbdata import load_tb_data

    prj = Path(prj)
    project = load(prj)
    desc = project.info.to_dict()
    if n is not None and n < 1:
        raise HfnError(f"-n {n}", "must be at least 1", "give a positive count")
    tb = load_tb_data(project, n)
    count = len(tb.inputs)
    exe, build_s = _Builder(prj).target("csim", prj / "tb" / "hfn_tb.cpp", shared=False)
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), str(prj / "tb_data"), str(count),
                           str(prj / "build" / "csim_outputs.txt")],
                          capture_output=True, text=True)
    run_s = time.perf_counter() - t0
    m = re.search(r"HFN_CSIM vectors=(\d+) mismatches=(\d+)", proc.stdout)
    if not m or proc.returncode not in (0, 1):
        err = [l for l in proc.stdout.splitlines() if l.startswith("HFN_CSIM error")]
        what = err[0] if err else (proc.stdout + proc.stderr).strip()[-300:]
        raise HfnError(f"{prj}: testbench", f"did not complete (exit {proc.returncode}): "
                       f"{' '.join(what.split())}",
                       "regenerate the project with hfn-hls generate --force")
    ran = int(m.group(1))
    if ran != count:
        raise HfnError(f"{prj}: testbench", f"checked {ran} vectors, {count} were asked",
                       "regenerate the project with hfn-hls generate --force")
    lines = [l for l in proc.stdout.splitlines() if l.startswith("mismatch:")]
    return {"project": desc["name"], "vectors": ran, "asked": n, "available": tb.available,
            "mismatches": int(m.group(2)), "build_seconds": round(build_s, 3),
            "run_seconds": round(run_s, 3), "first_mismatches": lines}


class HlsModel:
    """The generated C++ as a Python callable: ``compile()`` then ``predict(codes)``."""

    def __init__(self, prj: str | Path):
        self.prj = Path(prj)
        self.desc = load_project(self.prj)
        self._lib = None
        self.build_seconds = 0.0

    def compile(self) -> "HlsModel":
        path, self.build_seconds = _Builder(self.prj).target(
            "libhfn.so", self.prj / "tb" / "hfn_bridge.cpp", shared=True)
        lib = ctypes.CDLL(str(path.resolve()))
        lib.hfn_predict.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_int)]
        lib.hfn_predict.restype = ctypes.c_int
        self._lib = lib
        return self

    def predict(self, codes: np.ndarray) -> np.ndarray:
        """Output codes (N, outputs) for integer input codes (N, H, W, C)."""
        if self._lib is None:
            self.compile()
        shape = self.desc["input"]["shape"]
        x = np.asarray(codes)
        if x.ndim == 3:
            x = x[None]
        if list(x.shape[1:]) != list(shape):
            raise ValueError(f"input shape {list(x.shape[1:])}, expected {shape}")
        if x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError("input codes must be 0..255")
        x = np.ascontiguousarray(x, dtype=np.intc)
        out = np.zeros((x.shape[0], self.desc["output"]["codes"]), dtype=np.intc)
        rc = self._lib.hfn_predict(x.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), x.shape[0],
                                   out.ctypes.data_as(ctypes.POINTER(ctypes.c_int)))
        if rc:
            raise RuntimeError("hfn_top did not produce the expected output stream")
        return out.astype(np.int64)
