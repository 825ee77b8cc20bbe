"""Atomic outputs: every folder and file hfn-hls writes is made beside its destination
and swapped in with renames (docs/robustness.md).

- A folder (``generate``'s PRJ/) is written into ``.<name>.tmp<pid>`` next to it; when
  complete it is exchanged with the destination in ONE ``renameat2(RENAME_EXCHANGE)``
  (Linux), so after a kill at any point the destination holds the complete old or the
  complete new folder.  Where the exchange is not available (another OS, a file system
  without it) the old folder is first renamed to ``.<name>.old<pid>``: a kill between
  the two renames leaves it there, and the next run puts it back and says so.
- A file is written into ``.<name>.tmp<pid>`` and ``os.replace``d over the destination.
- Leftovers of a killed run (``.<name>.tmp<pid>``, ``.<name>.old<pid>`` whose process
  is gone) are removed — or, for an old folder whose destination is missing, restored —
  by the next run that writes the same destination (:func:`recover`).
- ``--force`` replaces only what this tool wrote: the caller says what a previous output
  looks like (``owned``); anything else, the current directory or a folder holding it,
  is refused with one line.
"""
from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
from pathlib import Path
from typing import Callable

from .errors import HfnError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False             # our own leftovers (an earlier call in this process)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _siblings(dest: Path, tag: str) -> list[tuple[Path, int]]:
    pat = re.compile(re.escape(f".{dest.name}.{tag}") + r"(\d+)$")
    out = []
    try:
        entries = list(dest.parent.iterdir())
    except OSError:
        return []
    for p in entries:
        m = pat.match(p.name)
        if m:
            out.append((p, int(m.group(1))))
    return sorted(out)


def tmp_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.tmp{os.getpid()}"


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def recover(dest: str | Path) -> list[str]:
    """Clean up what killed runs left beside ``dest``; returns what was done (one sentence
    each, for the user).  An old folder whose destination is missing is put back."""
    dest = Path(dest)
    notes = []
    for p, pid in _siblings(dest, "old"):
        if _alive(pid):
            continue
        if not os.path.lexists(dest):
            os.rename(p, dest)
            notes.append(f"restored {dest} from {p.name}, left by an interrupted run")
        else:
            _remove(p)
            notes.append(f"removed {p.name}, left by an interrupted run")
    for p, pid in _siblings(dest, "tmp"):
        if not _alive(pid):
            _remove(p)
            notes.append(f"removed {p.name}, left by an interrupted run")
    return notes


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False if not supported here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    r = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if r == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def check_destination(dest: Path, force: bool, owned: Callable[[Path], bool], what: str) -> None:
    """Refuse a destination that must not be replaced: a file where a folder is wanted
    (or the reverse), anything without ``force`` that is not an empty folder, and with
    ``force`` anything that ``owned`` does not recognise as a previous output, the
    current directory or a folder that holds it."""
    if not os.path.lexists(dest):
        return
    real = dest.resolve()
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise HfnError(str(dest), "is the current directory or holds it; an output folder "
                       "is replaced whole", "give a new folder, e.g. -o prj")
    if not dest.is_dir():
        raise HfnError(str(dest), "exists and is not a directory", "choose another -o")
    try:
        empty = not any(dest.iterdir())
    except OSError as e:
        raise HfnError(str(dest), f"cannot read it ({e.strerror})", "choose another -o") from None
    if empty:
        return
    if not force:
        raise HfnError(str(dest), "output directory exists and is not empty",
                       "choose another -o or pass --force to replace it")
    if not owned(dest):
        raise HfnError(str(dest), f"holds files that are not {what}; --force replaces only "
                       "a previous output of hfn-hls", "choose a new or empty folder")


def replace_dir(tmp: Path, dest: Path) -> None:
    """Swap the complete folder ``tmp`` in as ``dest`` (module docstring)."""
    if os.path.lexists(dest):
        if _exchange(tmp, dest):
            shutil.rmtree(tmp, ignore_errors=True)      # now holds the old folder
            return
        old = dest.parent / f".{dest.name}.old{os.getpid()}"
        os.rename(dest, old)
        try:
            os.rename(tmp, dest)
        except BaseException:
            os.rename(old, dest)          # put the old one back (a kill: the next run does)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, dest)


def write_dir(dest: str | Path, fill: Callable[[Path], object], *, force: bool,
              owned: Callable[[Path], bool], what: str) -> tuple[object, list[str]]:
    """Make the folder ``dest`` atomically: ``fill(tmp)`` writes it into a sibling staging
    folder, which then replaces ``dest``.  Returns (what ``fill`` returned, the recovery
    notes).  On any error or interruption ``dest`` is untouched and nothing is left."""
    dest = Path(dest)
    if dest.is_symlink():
        dest = dest.resolve()
    notes = recover(dest) if dest.parent.is_dir() else []
    check_destination(dest, force, owned, what)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(dest)
    if os.path.lexists(tmp):
        _remove(tmp)
    tmp.mkdir()
    try:
        result = fill(tmp)
        replace_dir(tmp, dest)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
    return result, notes


def write_file(dest: str | Path, data: str | bytes | Callable[[Path], object]) -> Path:
    """Write a file atomically: text, bytes, or ``data(tmp_path)`` writing it; leftovers
    of killed runs beside it are removed first."""
    dest = Path(dest)
    if dest.parent.is_dir():
        recover(dest)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(dest)
    try:
        if isinstance(data, str):
            tmp.write_text(data)
        elif isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            data(tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
    return dest


def check_output_file(dest: str | Path, force: bool, owned: Callable[[Path], bool],
                      what: str, inputs: tuple = ()) -> Path:
    """An output file path: refused if it exists (without ``force``), is a folder, is one
    of ``inputs``, or (with ``force``) is not recognised by ``owned`` as a previous
    output."""
    p = Path(dest)
    for i in inputs:
        try:
            if os.path.lexists(p) and Path(i).exists() and os.path.samefile(p, i):
                raise HfnError(str(p), "is also an input of this command",
                               "write the output to another file")
        except OSError:
            pass
    if not os.path.lexists(p):
        if p.parent.exists() and not p.parent.is_dir():
            raise HfnError(str(p.parent), "is not a directory", "choose another -o")
        return p
    if p.is_dir():
        raise HfnError(str(p), "is a directory", "give a file name")
    if not force:
        raise HfnError(str(p), "exists already", "pass --force to overwrite it")
    if not owned(p):
        raise HfnError(str(p), f"is not {what}; --force replaces only a previous output of "
                       "hfn-hls", "choose another file name")
    return p
