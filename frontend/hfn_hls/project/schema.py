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
from typing import Annotated, Any, Literal, Optional

from pydantic import Field, model_validator

from ..boards import Board, board_from_data
from ..errors import HfnError
from ..lanes import Lanes
from ..validate import Closed, Dim, Doc, Name, check, read_json

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
        """Checked against ``ProjectDoc``: one HfnError naming the field otherwise."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise HfnError(where, f"not an {FORMAT} description", REGENERATE)
        if d.get("version") != VERSION:
            raise HfnError(where, f"{FORMAT} version {d.get('version')} (this hfn-hls reads "
                                  f"version {VERSION})", REGENERATE)
        doc = check(ProjectDoc, d, where, REGENERATE)
        board = board_from_data(d["board"], f"{where} board")
        return cls(
            name=doc.name, top=doc.top, board=board,
            lanes=Lanes(doc.lanes.p_out, doc.lanes.p_in),
            input=StreamIn(doc.input.tensor, list(doc.input.shape), doc.input.tdata_bits),
            output=StreamOut(doc.output.tensor, doc.output.codes),
            tb_vectors=doc.tb_vectors,
            vendor=None if doc.vendor is None else Vendor(
                **{k: getattr(doc.vendor, k) for k in Vendor.__dataclass_fields__}),
            hls=d["hls"], rtl=d.get("rtl"), files=tuple(doc.files), tools=d.get("tools") or {})


RelPath = Annotated[str, Field(min_length=1, max_length=4096)]


class _Lanes(Closed):
    p_out: Annotated[int, Field(ge=1, le=1 << 12)]
    p_in: Annotated[int, Field(ge=1, le=1 << 12)]


class _In(Doc):
    tensor: Name
    shape: list[Dim] = Field(min_length=3, max_length=3)
    tdata_bits: Annotated[int, Field(ge=8, le=1 << 16)]


class _Out(Doc):
    tensor: Name
    codes: Annotated[int, Field(ge=1, le=1 << 24)]


class _Vendor(Doc):
    flow: Name
    flow_target: Name
    export_format: Name
    export: RelPath
    vlnv: Optional[str]
    hls_project: Name
    solution: Name
    switch_env: Name


class ProjectDoc(Doc):
    """``project.json`` (module docstring); ``hls`` and ``rtl`` are the writers' sections,
    checked here as objects (their readers check what they read)."""

    format: Literal["hfn-hls-project"]
    version: Literal[2]
    name: Name
    top: Name
    board: dict[str, Any]
    lanes: _Lanes
    input: _In
    output: _Out
    tb_vectors: Annotated[int, Field(ge=1, le=1 << 24)]
    vendor: _Vendor | None     # null: the board has no vendor flow (open flow)
    hls: dict[str, Any]
    rtl: Optional[dict[str, Any]] = None
    files: list[RelPath]
    tools: Optional[dict[str, Any]] = None

    @model_validator(mode="after")
    def _inside(self):
        for f in self.files:
            p = Path(f)
            if p.is_absolute() or ".." in p.parts or "\n" in f:
                raise ValueError(f"\"files\" holds a path outside the project ({f!r})")
        if not 0 < self.input.shape[2] * 8 <= self.input.tdata_bits:
            raise ValueError("input.tdata_bits does not hold 8 bits per channel")
        return self


def is_project(d: Path) -> bool:
    """True if folder ``d`` holds an hfn-hls project (a ``project.json`` of this format,
    any version): what ``generate --force`` may replace."""
    try:
        doc = json.loads((Path(d) / FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


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
    if not pj.exists():
        raise HfnError(str(prj), f"not an hfn-hls project (no {FILE})",
                       "give the directory written by hfn-hls generate")
    d = read_json(pj, "a project description", REGENERATE)
    info = ProjectInfo.from_dict(d, str(pj))
    if check_files:
        missing = [f for f in info.files if not (prj / f).is_file()]
        if missing:
            raise HfnError(str(prj), f"corrupt project: missing {', '.join(missing[:3])}"
                           + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""),
                           REGENERATE)
    return Project(prj, info)
