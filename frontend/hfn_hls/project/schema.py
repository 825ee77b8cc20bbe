"""``PRJ/project.json``: the typed description of a generated project, and its one loader.

Written by :func:`hfn_hls.project.generate` and read by every command that takes a
project (``csim``, ``synth``, the vendor flow, ``HlsModel``).  The document has sorted
keys, no timestamps and no absolute paths (docs/project.md):

- ``format`` ``"hfn-hls-project"``, ``version`` 2, ``name`` (the model), ``top``;
- ``board``: the whole board description the project was generated for (a board file's
  content), so a project made for ``--board my.json`` stays self-contained;
- ``lanes`` ``{p_out, p_in}``; ``input`` ``{tensor, shape, tdata_bits}`` and ``output``
  ``{tensor, codes}``: the AXI4-Stream interface of ``hfn_top`` (docs/interfaces.md);
- ``tb_vectors``: the number of test vectors in ``tb_data/``;
- ``vendor``: what ``build_prj.tcl`` does (``project/toolflow.py``): ``flow``,
  ``flow_target``, ``export_format``, ``export`` (path of the IP folder or ``.xo``),
  ``vlnv`` (``null`` for an ``.xo``), ``hls_project``, ``solution``, ``switch_env``;
- ``hls``: the HLS writer's description (owned by ``hls/writer.py``, docs/hls.md);
- ``rtl``: the RTL writer's description (``rtl/rtl.json``, docs/rtl.md), or ``null``;
- ``files``: every file of the project, relative; ``tools``: package versions.

Version 1 documents (written before the project module) are refused with the fix
(regenerate), never half-read.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..boards import Board, board_from_data
from ..errors import HfnError
from ..lanes import Lanes

FORMAT = "hfn-hls-project"
VERSION = 2
FILE = "project.json"
REGENERATE = "regenerate the project with hfn-hls generate --force"


@dataclass(frozen=True)
class StreamIn:
    tensor: str
    shape: list[int]          # H, W, C of one image
    tdata_bits: int           # one pixel per beat


@dataclass(frozen=True)
class StreamOut:
    tensor: str
    codes: int                # int32 beats per image


@dataclass(frozen=True)
class Vendor:
    flow: str                 # zynq | alveo (the board's)
    flow_target: str          # open_solution -flow_target
    export_format: str        # export_design -format
    export: str               # PRJ-relative: IP folder (component.xml inside) or .xo file
    vlnv: str | None          # vendor:library:name:version of the IP (ip_catalog only)
    hls_project: str
    solution: str
    switch_env: str           # environment variable holding build_prj.tcl's switches


@dataclass(frozen=True)
class ProjectInfo:
    name: str
    top: str
    board: Board
    lanes: Lanes
    input: StreamIn
    output: StreamOut
    tb_vectors: int
    vendor: Vendor | None     # None: the board has no vendor flow (open flow, e.g. ECP5)
    hls: dict
    rtl: dict | None
    files: tuple[str, ...]
    tools: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "name": self.name, "top": self.top,
            "board": dict(self.board.data),
            "lanes": {"p_out": self.lanes.p_out, "p_in": self.lanes.p_in},
            "input": asdict(self.input), "output": asdict(self.output),
            "tb_vectors": self.tb_vectors, "vendor": asdict(self.vendor) if self.vendor else None,
            "hls": self.hls, "rtl": self.rtl, "files": sorted(self.files),
            "tools": self.tools,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d, where: str) -> "ProjectInfo":
        """Checked: a missing or mistyped key is an HfnError naming it."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise HfnError(where, f"not an {FORMAT} description", REGENERATE)
        if d.get("version") != VERSION:
            raise HfnError(where, f"{FORMAT} version {d.get('version')} (this hfn-hls reads "
                                  f"version {VERSION})", REGENERATE)

        def get(key, typ, sub=None):
            src = d if sub is None else sub
            v = src.get(key) if isinstance(src, dict) else None
            if not isinstance(v, typ) or isinstance(v, bool) and typ is not bool:
                raise HfnError(where, f"\"{key}\" missing or not {_name(typ)}", REGENERATE)
            return v

        lanes = get("lanes", dict)
        inp, out = get("input", dict), get("output", dict)
        ven = None if d.get("vendor", {}) is None else get("vendor", dict)
        rtl = d.get("rtl")
        if rtl is not None and not isinstance(rtl, dict):
            raise HfnError(where, "\"rtl\" is not an object", REGENERATE)
        files = get("files", list)
        if not all(isinstance(f, str) and f and not Path(f).is_absolute() and ".." not in
                   Path(f).parts for f in files):
            raise HfnError(where, "\"files\" holds a path outside the project", REGENERATE)
        try:
            return cls(
                name=get("name", str), top=get("top", str),
                board=board_from_data(get("board", dict), f"{where}: board"),
                lanes=Lanes(get("p_out", int, lanes), get("p_in", int, lanes)),
                input=StreamIn(get("tensor", str, inp), list(get("shape", list, inp)),
                               get("tdata_bits", int, inp)),
                output=StreamOut(get("tensor", str, out), get("codes", int, out)),
                tb_vectors=get("tb_vectors", int),
                vendor=None if ven is None else Vendor(
                    **{k: (ven.get(k) if k == "vlnv" else get(k, str, ven))
                       for k in Vendor.__dataclass_fields__}),
                hls=get("hls", dict), rtl=rtl, files=tuple(files),
                tools=d.get("tools") or {})
        except TypeError as e:            # e.g. a vendor key of the wrong kind
            raise HfnError(where, f"malformed ({e})", REGENERATE) from None


def _name(typ) -> str:
    return {dict: "an object", list: "a list", str: "a string", int: "an integer"}.get(
        typ, typ.__name__)


@dataclass(frozen=True)
class Project:
    """A project folder and its checked description."""

    dir: Path
    info: ProjectInfo

    def path(self, rel: str) -> Path:
        return self.dir / rel


def load(prj_dir: str | Path, *, check_files: bool = True) -> Project:
    """``PRJ/project.json``, checked; with ``check_files`` every listed file must exist.

    Every problem is an HfnError (one line): not a directory, no project.json, corrupt
    JSON, another format or version, a missing key, a missing file."""
    prj = Path(prj_dir)
    if not prj.is_dir():
        raise HfnError(str(prj), "no such project directory", "run hfn-hls generate first")
    pj = prj / FILE
    try:
        d = json.loads(pj.read_text())
    except FileNotFoundError:
        raise HfnError(str(prj), f"not an hfn-hls project (no {FILE})",
                       "give the directory written by hfn-hls generate") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HfnError(str(pj), f"corrupt project description ({e})", REGENERATE) from None
    info = ProjectInfo.from_dict(d, str(pj))
    if check_files:
        missing = [f for f in info.files if not (prj / f).is_file()]
        if missing:
            raise HfnError(str(prj), f"corrupt project: missing {', '.join(missing[:3])}"
                           + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""),
                           REGENERATE)
    return Project(prj, info)
