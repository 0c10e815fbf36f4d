"""What every job returns, and how a result becomes text or JSON.

Computing and rendering are separate: a job returns a dataclass with ``to_dict()``; this module
turns that into the JSON document, and each feature supplies its own text renderer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.display import escape_undecodable


@dataclass(frozen=True)
class FailedInput:
    """One input (usually a file) that could not be processed; the rest of the run went on."""

    path: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error}


class JobResult(Protocol):
    """The shape every feature's result has."""

    @property
    def failed_inputs(self) -> Sequence[FailedInput]:
        """Inputs that failed; non-empty means the CLI exits with code 3."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (only str keys, ints, finite floats or None, lists, dicts)."""
        ...


def _json_safe(value: Any) -> Any:
    """Replace non-finite floats by None so the document is strict JSON, and undecodable bytes
    of file names (lone surrogates) by ``\\xNN``, so it can be written as UTF-8."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return escape_undecodable(value)
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def render_json(result: JobResult) -> str:
    """Render a result as one strict JSON document (``NaN``/``inf`` become ``null``)."""
    return json.dumps(_json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table; numbers right-aligned, text left-aligned.

    >>> print(format_table(["name", "n"], [["a", 1], ["bb", 22]]))
    name   n
    ----  --
    a      1
    bb    22
    """
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in rows) and bool(rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
