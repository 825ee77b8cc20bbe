"""A generated project (``hfn-hls generate``): what it is, how it is written, how the
vendor tools meet it.

- ``schema``: the typed ``project.json`` and its one loader (``load``);
- ``writer``: ``generate(graph, board, lanes, out)`` calls the HLS writer and the RTL
  writer as peers and writes tb_data/, ir.json, build_prj.tcl and project.json, atomically;
- ``toolflow``: the switch convention of ``build_prj.tcl``, the flow target, the IP's
  VLNV, export paths and every vendor command line (read by ``hfn_hls.vendor``).

See docs/project.md.
"""
from __future__ import annotations

from .schema import FORMAT, VERSION, Project, ProjectInfo, load

__all__ = ["FORMAT", "VERSION", "Project", "ProjectInfo", "generate", "load"]


def __getattr__(name: str):
    # generate() pulls in both backends: imported on first use only, so that vendor/ and
    # csim can read the schema and the tool conventions without them
    if name in ("generate", "default_inputs", "load_inputs", "DEFAULT_VECTORS"):
        from . import writer
        return getattr(writer, name)
    raise AttributeError(name)
