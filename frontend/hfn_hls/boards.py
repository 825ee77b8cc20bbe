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

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import HfnError
from .paths import BOARDS_DIR


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
        p = BOARDS_DIR / f"{name_or_path}.json"
    if not p.is_file():
        raise HfnError(f"board {name_or_path!r}", "unknown board",
                       f"choose one of: {', '.join(available())}, or give a board JSON file")
    try:
        d = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise HfnError(str(p), f"not valid JSON ({e})", "fix the board file") from None
    return board_from_data(d, str(p))


def board_from_data(d, where: str) -> Board:
    """A board from the content of a board file (also as a project.json stores it)."""
    if not isinstance(d, dict):
        raise HfnError(where, "the board is not a JSON object", "see README 'Boards' for the keys")
    missing = [k for k in REQUIRED if k not in d] + \
        [f"resources.{k}" for k in RESOURCES if k not in d.get("resources", {})]
    if d.get("family") == "ecp5":
        missing += [f"{k}.{s}" for k, subs in ECP5_KEYS for s in subs
                    if not isinstance(d.get(k), dict) or s not in d[k]]
    if missing:
        raise HfnError(where, f"board file lacks {', '.join(missing)}",
                       "see README 'Boards' for the keys")
    if d["family"] not in FAMILIES:
        raise HfnError(str(p), f"unknown family {d['family']!r}",
                       f"use one of {', '.join(FAMILIES)}")
    if d["flow"] not in FLOWS:
        raise HfnError(str(p), f"unknown flow {d['flow']!r}", f"use one of {', '.join(FLOWS)}")
    return Board(d["name"], d["part"], d["family"], d["flow"], float(d["clock_mhz"]),
                 dict(d["resources"]), d)
