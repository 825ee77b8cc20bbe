"""Board descriptions: one JSON file per board in the repository's ``boards/`` folder.

Keys: name, description, part, family (``FAMILIES``: Yosys ``synth_xilinx -family`` xc7 |
xcup, or ecp5), flow (``FLOWS``: zynq | alveo | open), clock_mhz (the board's nominal
clock), resources {lut, ff, bram_18k, uram, dsp}, driver (pynq | xrt), ps (Zynq
processing-system IP) or platform (Alveo).  See README "Boards".

Lattice ECP5 boards (family ``ecp5``, flow ``open``: no vendor flow, the whole flow is
open source, docs/open-flow.md) also have ``nextpnr`` {device (``85k``, ``25k``, ...),
package, speed}, ``clock`` {pin, io_type} (the oscillator's pin, where ``ap_clk`` is
placed), optionally ``ecppack`` (extra options) and ``sources`` (where the data is from).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Optional

from pydantic import Field, model_validator

from .errors import HfnError
from .paths import BOARDS_DIR
from .validate import Doc, Finite, Name, check, is_name, read_json


REQUIRED = ("name", "part", "family", "flow", "clock_mhz", "resources")
RESOURCES = ("lut", "ff", "bram_18k", "uram", "dsp")
# family -> what `hfn-hls synth --open` runs for it (rtl_backend/synth.py dispatches)
FAMILIES = {"xc7": "yosys synth_xilinx", "xcup": "yosys synth_xilinx",
            "ecp5": "yosys synth_ecp5, nextpnr-ecp5, ecppack"}
# flow -> the vendor flow of `hfn-hls synth` without --open; "open" means none
FLOWS = ("zynq", "alveo", "open")
# keys an ecp5 board needs beyond REQUIRED
ECP5_KEYS = (("nextpnr", ("device", "package", "speed")), ("clock", ("pin",)))


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    family: str
    flow: str
    clock_mhz: float
    resources: dict
    data: dict

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    @property
    def has_vendor_flow(self) -> bool:
        """False for boards whose only flow is the open one (``synth --open``)."""
        return self.flow != "open"


def available() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load_board(name_or_path: str) -> Board:
    """A board by name (``pynq-z2``) or by path to a JSON file of the same form."""
    p = Path(name_or_path)
    if p.suffix != ".json":
        if not is_name(name_or_path):
            raise HfnError(f"board {name_or_path!r}", "not a board name",
                           f"choose one of: {', '.join(available())}, or give a board JSON "
                           "file")
        p = BOARDS_DIR / f"{name_or_path}.json"
    if not p.is_file():
        raise HfnError(f"board {name_or_path!r}", "unknown board" if not p.exists() else
                       "is not a file", f"choose one of: {', '.join(available())}, or give "
                       "a board JSON file")
    return board_from_data(read_json(p, "a board JSON file", FIX), str(p))


FIX = "see README 'Boards' for the keys"
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,127}$")]
Count = Annotated[int, Field(ge=0, le=1 << 40)]


class Resources(Doc):
    lut: Count
    ff: Count
    bram_18k: Count
    uram: Count
    dsp: Count

    @model_validator(mode="after")
    def _some_logic(self):
        if self.lut == 0 or self.ff == 0:
            raise ValueError("a board has LUTs and flip-flops (lut and ff > 0)")
        return self


class Nextpnr(Doc):
    device: Ident
    package: Ident
    speed: Annotated[int, Field(ge=1, le=99)]


class Clock(Doc):
    pin: Ident
    io_type: Ident = "LVCMOS33"


class BoardDoc(Doc):
    """A board file (module docstring).  Every string that reaches a generated file or a
    tool's command line is a checked name."""

    name: Name
    part: Ident
    family: Literal["xc7", "xcup", "ecp5"]
    flow: Literal["zynq", "alveo", "open"]
    clock_mhz: Annotated[Finite, Field(gt=0, le=5000)]
    resources: Resources
    description: Optional[str] = None
    driver: Optional[Ident] = None
    ps: Optional[Ident] = None
    platform: Optional[Ident] = None
    nextpnr: Optional[Nextpnr] = None
    clock: Optional[Clock] = None
    ecppack: list[Annotated[str, Field(pattern=r"^-{0,2}[A-Za-z0-9_][A-Za-z0-9_.=\-]*$")]] = []

    @model_validator(mode="after")
    def _ecp5(self):
        if self.family == "ecp5" and (self.nextpnr is None or self.clock is None):
            raise ValueError("an ecp5 board needs \"nextpnr\" {device, package, speed} and "
                             "\"clock\" {pin}")
        return self


def board_from_data(d, where: str) -> Board:
    """A board from the content of a board file (also as a project.json stores it),
    checked against ``BoardDoc``: one HfnError naming ``where`` and the field otherwise."""
    b = check(BoardDoc, d, where, FIX)
    return Board(b.name, b.part, b.family, b.flow, float(b.clock_mhz),
                 b.resources.model_dump(include=set(RESOURCES)), d)
