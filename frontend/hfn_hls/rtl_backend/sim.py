"""System simulation of a project's RTL (ours or any RTL with the same top ports) with
cocotb + Verilator, compared with the golden model.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np

from ..errors import HfnError
from ..ir.model import Graph
from .tools import verilator_environment
from .writer import load_rtl_desc

TOP = "hfn_top"
PORTS = ["ap_clk", "ap_rst_n", "s_axis_TDATA", "s_axis_TVALID", "s_axis_TREADY",
         "s_axis_TKEEP", "s_axis_TSTRB", "s_axis_TLAST", "m_axis_TDATA", "m_axis_TVALID",
         "m_axis_TREADY", "m_axis_TKEEP", "m_axis_TSTRB", "m_axis_TLAST"]
SOURCES = ("*.v", "*.sv")
MAX_RANDOM_IMAGES = 10_000      # images of a folder without tb_data (no project.json)


def rtl_sources(rtl_dir: Path) -> list[Path]:
    return sorted(p for pat in SOURCES for p in Path(rtl_dir).glob(pat))


def check_top_ports(rtl_dir: Path) -> list[Path]:
    """The Verilog sources of ``rtl_dir``; HfnError unless ``hfn_top`` has every port."""
    rtl_dir = Path(rtl_dir)
    srcs = rtl_sources(rtl_dir)
    if not srcs:
        raise HfnError(str(rtl_dir), "no Verilog sources (*.v, *.sv)",
                       "run 'hfn-hls generate' first or give --rtl-dir")
    for f in srcs:
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", f.read_text(errors="replace"), flags=re.S)
        m = re.search(r"\bmodule\s+" + TOP + r"\b(.*?);", text, re.S)
        if m is None:
            continue
        end = text.find("endmodule", m.start())
        body = text[m.start():end if end >= 0 else len(text)]
        missing = [p for p in PORTS if not re.search(r"\b" + p + r"\b", body)]
        if missing:
            raise HfnError(str(f), f"module {TOP} lacks ports {', '.join(missing)}",
                           "the top must have the ports of docs/interfaces.md")
        return srcs
    raise HfnError(str(rtl_dir), f"no module {TOP} in the Verilog sources",
                   "the RTL top must be named hfn_top (docs/interfaces.md)")


def _sync_sources(srcs: list[Path], dst: Path) -> list[Path]:
    """Copy sources into ``dst`` unless identical there: identical designs (e.g. several
    graphs under one floor) then reuse one Verilator build."""
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for f in srcs:
        t = dst / f.name
        if not t.is_file() or t.read_bytes() != f.read_bytes():
            shutil.copyfile(f, t)
        out.append(t)
    for old in dst.iterdir():
        if old not in out:
            old.unlink()
    return out


_BUILT: dict = {}      # build dir -> (sources digest, runner) of this process

# GNU make (the Verilator build) cannot work in a folder whose path holds a space
# (verilated.mk stops with "cannot build in directories containing spaces"); the other
# characters are those make treats specially in file names.
_MAKE_UNSAFE = re.compile(r"[\s#$:;=%\\'\"]")


def _cache_roots() -> list[Path]:
    import os
    import tempfile
    roots = []
    xdg = os.environ.get("XDG_CACHE_HOME")
    roots.append(Path(xdg) if xdg else Path.home() / ".cache")
    roots.append(Path(tempfile.gettempdir()))
    return [r / "hfn-hls" / "rtl_sim" for r in roots]


def make_safe_build_dir(build_dir: Path) -> Path:
    """``build_dir`` (absolute) if make can build there; else a folder of the user's cache
    (``$XDG_CACHE_HOME`` or ``~/.cache``, then the temp dir) keyed by ``build_dir``'s
    path, so each project keeps its own incremental build.  HfnError when no candidate
    is usable."""
    build_dir = Path(build_dir).resolve()
    if not _MAKE_UNSAFE.search(str(build_dir)):
        return build_dir
    key = hashlib.sha256(str(build_dir).encode()).hexdigest()[:16]
    for root in _cache_roots():
        cand = root.resolve() / key
        if not _MAKE_UNSAFE.search(str(cand)):
            return cand
    raise HfnError(str(build_dir), "the path holds a space or a character make cannot "
                   "handle, and so do the cache and temp folders",
                   "move the project to a path without spaces, or set XDG_CACHE_HOME to one")


def build(rtl_dir: Path, build_dir: Path, waves: bool = False):
    """Verilate ``rtl_dir`` into ``build_dir`` (incremental) and return the runner.

    A build of identical sources made earlier in this process is reused as is."""
    from cocotb_tools.runner import get_runner
    # the runner works inside build_dir (so no relative paths) and make cannot build in a
    # path with spaces (run_system_sim chooses make_safe_build_dir)
    build_dir = Path(build_dir).resolve()
    if _MAKE_UNSAFE.search(str(build_dir)):
        raise HfnError(str(build_dir), "make cannot build in this path (a space or a "
                       "special character)", "use sim.make_safe_build_dir(build_dir)")
    srcs = _sync_sources(check_top_ports(rtl_dir), build_dir / "src")
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in srcs) + bytes([waves])).hexdigest()
    key = str(build_dir.resolve())
    build_dir.mkdir(parents=True, exist_ok=True)
    for f in sorted(rtl_dir.iterdir()):            # ROM images read at run time
        if f.suffix in (".mem", ".dat", ".hex"):
            shutil.copyfile(f, build_dir / f.name)
    if key in _BUILT and _BUILT[key][0] == digest and (build_dir / TOP).is_file():
        return _BUILT[key][1]
    runner = get_runner("verilator")
    log = build_dir / "build.log"
    # only the top's ports are public: cocotb needs nothing else, and keeping the rest
    # private lets Verilator optimise (several times faster than --public-flat-rw)
    vlt = build_dir / "hfn_public.vlt"
    text = '`verilator_config\npublic_flat_rw -module "' + TOP + '" -var "*"\n'
    if not vlt.is_file() or vlt.read_text() != text:
        vlt.write_text(text)
    try:
        runner.build(sources=srcs, hdl_toplevel=TOP, build_dir=build_dir, waves=waves,
                     build_args=["-Wno-fatal", "-Wno-WIDTH", "-O3", "--x-assign", "0", "--no-public-flat-rw", str(vlt),
                                 "--x-initial", "0"],
                     defines={"HFN_MEM_DIR": f'"{build_dir.resolve()}"'},
                     timescale=("1ns", "1ps"), log_file=log)
    except (SystemExit, Exception) as e:
        raise HfnError(str(rtl_dir), f"Verilator build failed ({e})",
                       f"see {log}") from None
    _BUILT[key] = (digest, runner)
    return runner


def run_system_sim(prj_dir, n: int, rtl_dir=None, waves: bool = False,
                   images: np.ndarray | None = None, build_dir=None,
                   pauses: dict | None = None) -> dict:
    """Stream ``n`` images through the RTL and compare with the golden model.

    ``pauses`` = ``{"in": p, "out": q, "seed": s}`` stalls the input stream (idle
    cycles, probability p per cycle) and the output stream (back-pressure, q); the
    cycle figures of such a run include the stalls (no ``utilisation`` is given).

    Returns {vectors, mismatches, outputs, cycles_per_inference, latency_cycles, ...}.
    """
    prj_dir = Path(prj_dir)
    if n < 1:
        raise HfnError(f"-n {n}", "need at least one image", "give -n 1 or more")
    ir = prj_dir / "ir.json"
    if not ir.is_file():
        raise HfnError(str(prj_dir), "not a project (no ir.json)", "run 'hfn-hls generate'")
    rtl_dir = Path(rtl_dir) if rtl_dir else prj_dir / "rtl"
    if not rtl_dir.is_dir():
        raise HfnError(str(rtl_dir), "the project has no RTL",
                       "run 'hfn-hls generate' (it writes PRJ/rtl/) or give --rtl-dir")
    available = None
    if images is not None:
        codes = np.asarray(images)[:n]
        graph = Graph.load(ir)
    elif not (prj_dir / "project.json").exists():
        # a bare folder (ir.json + rtl/, e.g. written by write_rtl): no test vectors, so
        # seeded random input codes, bounded
        graph = Graph.load(ir)
        if n > MAX_RANDOM_IMAGES:
            raise HfnError(f"-n {n}", f"{prj_dir} has no tb_data (no project.json): at most "
                           f"{MAX_RANDOM_IMAGES} random images", "give a smaller -n")
        t = graph.input_tensor
        codes = np.random.default_rng(0).integers(t.lo, t.hi + 1, (n, *t.shape))
    else:
        # the project's checked test vectors (a broken tb_data file is exit 2, never a
        # mismatch); -n is bounded by what exists
        from ..project import load
        from ..project.tbdata import load_tb_data
        project = load(prj_dir)
        tb = load_tb_data(project, n)
        codes, available = tb.inputs, tb.available
        graph = Graph.load(ir)
        if list(graph.input_tensor.shape) != list(project.info.input.shape):
            raise HfnError(str(ir), "the input shape differs from project.json's",
                           "regenerate the project with hfn-hls generate --force")
    if len(codes) < 1:
        raise HfnError(f"{prj_dir}", "no image to simulate", "give -n 1 or more")
    desc = load_rtl_desc(rtl_dir)
    build_dir = make_safe_build_dir(Path(build_dir) if build_dir
                                    else prj_dir / "build" / "rtl_sim")
    with verilator_environment():
        runner = build(rtl_dir, build_dir, waves)
    inputs, result = build_dir / "inputs.npy", build_dir / "result.json"
    np.save(inputs, np.asarray(codes, dtype=np.int64))
    if result.exists():
        result.unlink()
    per = desc.get("engine_macs", 10**7) // max(1, _lanes(desc)) * 3 + 20000
    cfg = {"ir": str(ir.resolve()), "inputs": str(inputs.resolve()),
           "result": str(result.resolve()), "timeout_cycles": int(per * 2 + 100000)}
    if pauses:
        p_in, p_out = float(pauses.get("in", 0)), float(pauses.get("out", 0))
        if not (0 <= p_in < 1 and 0 <= p_out < 1):
            raise HfnError(f"pauses {pauses}", "pause probabilities must lie in [0, 1)",
                           "give e.g. {'in': 0.3, 'out': 0.5}")
        cfg["pauses"] = {"in": p_in, "out": p_out, "seed": int(pauses.get("seed", 0))}
        cfg["timeout_cycles"] = int(cfg["timeout_cycles"] / (1 - max(p_in, p_out)) ** 2)
    (build_dir / "sim_cfg.json").write_text(json.dumps(cfg))
    with verilator_environment():
        try:
            runner.test(hdl_toplevel=TOP, test_module="hfn_hls.rtl_backend.cocotb_system",
                        test_dir=build_dir, build_dir=build_dir, waves=waves,
                        extra_env={"HFN_SIM_CFG": str((build_dir / "sim_cfg.json").resolve())},
                        log_file=build_dir / "sim.log")
        except (SystemExit, Exception):
            pass                     # judged below from the result file
    if not result.is_file():
        raise HfnError(str(rtl_dir), "the simulation produced no result",
                       f"see {build_dir / 'sim.log'}")
    out = json.loads(result.read_text())
    if out.get("vectors") != len(codes):
        raise HfnError(str(rtl_dir), f"the simulation checked {out.get('vectors')} images, "
                       f"{len(codes)} were asked", f"see {build_dir / 'sim.log'}")
    out["asked"], out["available"] = n, available
    out["rtl_dir"] = str(rtl_dir)
    out["build_dir"] = str(build_dir)
    if waves and (build_dir / "dump.vcd").is_file():
        out["waves"] = str(build_dir / "dump.vcd")
    # dense ideal: MACs / lanes (the cycles with no skipping at full utilisation)
    if desc.get("dense_ideal_cycles", desc.get("ideal_cycles")):
        out["dense_ideal_cycles"] = int(desc.get("dense_ideal_cycles", desc.get("ideal_cycles")))
        out["lanes_total"] = _lanes(desc)
    if desc.get("model_cycles"):
        out["model_cycles"] = desc["model_cycles"]
    if desc.get("ideal_cycles") and not pauses:
        out["ideal_cycles"] = desc["ideal_cycles"]
        out["utilisation"] = desc["ideal_cycles"] / out["cycles_per_inference"]
    return out


def _lanes(desc: dict) -> int:
    if desc.get("lanes_total"):
        return int(desc["lanes_total"])
    p = desc.get("parameters", {})
    return p.get("P_OUT", 1) * p.get("P_IN", 1)
