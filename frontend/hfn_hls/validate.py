"""Validated reading of the documents hfn-hls reads (docs/robustness.md).

Every document has one schema, written as pydantic models next to its owner (the
``hfn`` / ``hfn-hls`` metadata in ``metadata.py``, the IR in ``ir/schema.py``, boards in
``boards.py``, ``project.json`` in ``project/schema.py``, ``rtl/rtl.json`` in
``rtl_backend/writer.py``, checkpoints in ``train.py``).  This module holds what they
share: strict types (no bool for an int, no string for a number, finite floats), the
:data:`Name` type of everything that reaches generated C++, Verilog or TCL, and
:func:`check`, which turns the first schema violation into ONE ``HfnError`` naming the
file and the field.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import HfnError

# A name that may reach generated C++, Verilog or TCL (model, preset, layer, tensor, op,
# board, part names): letters, digits, '_', '.', '-', not starting with '.' or '-'.  So no
# newline, quote, brace, '$', ';' or space can become live text in a generated file.
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$"
NAME_RULE = "letters, digits, '_', '.', '-'; at most 128 characters"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
U32 = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
Dim = Annotated[int, Field(ge=1, le=1 << 16)]        # a tensor dimension

M = TypeVar("M", bound=BaseModel)


class Doc(BaseModel):
    """Base of every document schema: strict types, unknown keys kept (documents may
    carry informational keys; what the tool reads is checked)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=False)


class Closed(Doc):
    """A schema whose keys are all known: an unknown key is a typo, refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


def is_name(s: object) -> bool:
    import re
    return isinstance(s, str) and re.fullmatch(NAME_PATTERN[1:-1], s) is not None


def loc_text(loc: tuple) -> str:
    """``('layers', 3, 'seed')`` -> ``layers[3].seed``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _short(v: Any) -> str:
    try:
        r = json.dumps(v, allow_nan=True)
    except (TypeError, ValueError):
        r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def error_text(err: dict) -> str:
    """One line for one pydantic error: the field, the value, what is wrong."""
    # tagged unions and function validators add their own names to the location
    loc = tuple(p for p in err.get("loc", ()) if not str(p).startswith("function-"))
    field = loc_text(loc)
    kind = err.get("type", "")
    if kind == "string_pattern_mismatch":
        msg = f"is not a name ({NAME_RULE})"
    elif kind == "missing":
        return f"\"{field}\" is missing"
    elif kind == "extra_forbidden":
        return f"unknown key \"{field}\""
    else:
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        msg = msg[0].lower() + msg[1:] if msg else msg
    if kind == "value_error" or not loc:
        return f"{field}: {msg}" if field else msg
    return f"\"{field}\" = {_short(err.get('input'))}: {msg}"


def check(schema: type[M], data: Any, where: str, fix: str) -> M:
    """``data`` validated against ``schema``; else one HfnError naming ``where`` and the
    field."""
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        errs = e.errors()
        text = error_text(errs[0]) if errs else str(e).splitlines()[0]
        raise HfnError(where, " ".join(text.split()), fix) from None


def read_json(path: str | Path, what: str, fix: str) -> Any:
    """A JSON file's content; HfnError naming the file if it is missing, unreadable or not
    JSON (NaN and Infinity are refused too)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HfnError(str(p), f"{what} not found", fix) from None
    except IsADirectoryError:
        raise HfnError(str(p), f"is a directory, not {what}", fix) from None
    except UnicodeDecodeError:
        raise HfnError(str(p), f"not {what} (not UTF-8 text)", fix) from None
    except OSError as e:
        raise HfnError(str(p), f"cannot read {what} ({e.strerror or e})", fix) from None
    return parse_json(text, str(p), what, fix)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str, where: str, what: str, fix: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as e:
        msg = " ".join(str(e).split())
        raise HfnError(where, f"not {what} (invalid JSON: {msg})", fix) from None


def finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError, OverflowError):
        return False
