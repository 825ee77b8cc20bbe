"""Where the non-Python parts live: the HLS library, the RTL library, boards, test vectors.

They are the repository's top-level folders ``hls_templates/``, ``rtl/``, ``boards/`` and
``test_vectors/``, shipped inside the wheel as the data packages ``hfn_hls._<folder>``
(``setup.py`` maps each package name onto its folder).  Two ways to run, one answer:

- source tree (``PYTHONPATH=frontend``, or the editable install): this file is
  ``<repo>/frontend/hfn_hls/paths.py`` and the folders are read in ``<repo>/``, so a
  worktree always uses its own copies;
- installed (wheel, ``pip install .``): read through ``importlib.resources`` from the
  package's data packages.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

FOLDERS = ("hls_templates", "rtl", "boards", "test_vectors")     # = setup.py DATA_FOLDERS

_HERE = Path(__file__).resolve().parent


def source_tree() -> Path | None:
    """The repository root when running from a checkout, else None (an installed wheel)."""
    root = _HERE.parents[1]
    if _HERE.parent.name == "frontend" and (root / "pyproject.toml").is_file() and \
            (root / "setup.py").is_file():
        return root
    return None


def data_dir(folder: str) -> Path:
    """The directory holding one of ``FOLDERS``."""
    if folder not in FOLDERS:
        raise KeyError(folder)
    root = source_tree()
    if root is not None:
        return root / folder
    d = resources.files("hfn_hls") / f"_{folder}"
    if not isinstance(d, Path) or not d.is_dir():
        # a zip import or a broken install: the tools need real files (g++ -I, Verilator)
        from .errors import HfnError
        raise HfnError(f"hfn_hls/_{folder}", "package data not found on the file system",
                       "reinstall hfn-hls from its wheel (pip install --force-reinstall)")
    return d


REPO = source_tree()            # None once installed: only tests and scripts use it
HLS_TEMPLATES = data_dir("hls_templates")
RTL_DIR = data_dir("rtl")
BOARDS_DIR = data_dir("boards")
TEST_VECTORS = data_dir("test_vectors")


def fill_template(name: str, **values: str) -> str:
    """``hls_templates/<name>`` with every ``{{KEY}}`` replaced; a placeholder left unfilled
    is a bug in the writer (the template and its writer disagree)."""
    text = (HLS_TEMPLATES / name).read_text()
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", v)
    if "{{" in text:
        raise AssertionError(f"{name}: unfilled placeholder")
    return text
