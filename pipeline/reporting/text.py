"""What every job returns, and how a result becomes text or JSON.

Computing and rendering are separate: a job returns a dataclass with ``to_dict()``; this module
turns that into the JSON document, and each feature supplies its own text renderer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from pipeline.reporting.display import TERMINAL_CONTROLS, escape_undecodable

#: Version of the JSON documents (``"schema_version"``): an integer, raised once per issue that
#: changes a key's name, type or enumeration; docs/report.schema.json changes with it (its
#: ``$defs/schema_version``), and docs/report.md lists the versions.
SCHEMA_VERSION: Final[int] = 6

#: Significant digits of the floats in the JSON document: enough for any latency (ms with us
#: resolution up to 10^9 ms would need 12, but latencies are exact decimals with at most 3
#: fraction digits below 10^6 ms) and any density, without binary noise such as
#: ``243.11999999999992``. Legal range: 1 .. 17 (17 keeps every float exactly).
JSON_SIGNIFICANT_DIGITS: Final[int] = 9


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


def _json_safe(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """Replace non-finite floats by None so the document is strict JSON and round the others to
    :data:`JSON_SIGNIFICANT_DIGITS` significant digits; undecodable bytes of file names (lone
    surrogates) become ``\\xNN``, so the document can be written as UTF-8.

    A container met again (the same object: a report may list one entry many times, such as
    10,000 identical prime ranges) is converted once; ``memo`` maps ``id`` to its converted
    copy, which is valid because every input container lives until the top call returns.

    >>> _json_safe([243.11999999999992, 1e-10 / 3, float("nan"), 7])
    [243.12, 3.33333333e-11, None, 7]
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{JSON_SIGNIFICANT_DIGITS}g}")
    if isinstance(value, str):  # ASCII has no lone surrogates (the common case, made cheap)
        return value if value.isascii() else escape_undecodable(value)
    if isinstance(value, dict | list | tuple):
        if memo is None:
            memo = {}
        done = memo.get(id(value))
        if done is None:
            if isinstance(value, dict):
                done = {_json_safe(k, memo): _json_safe(v, memo) for k, v in value.items()}
            else:
                done = [_json_safe(item, memo) for item in value]
            memo[id(value)] = done
        return done
    return value


def json_document(result: JobResult) -> Any:
    """The JSON document of a result, as Python objects (what :func:`render_json` writes):
    ``schema_version`` first, then the result's keys. Read it, do not modify it: an entry the
    result lists several times is one object listed several times."""
    return {"schema_version": SCHEMA_VERSION, **_json_safe(result.to_dict())}


def render_json(result: JobResult) -> str:
    """Render a result as one strict JSON document (``NaN``/``inf`` become ``null``).

    The text is exactly ``json.dumps(document, indent=2)``, written by :func:`_dumps` so that an
    entry listed many times is encoded once.
    """
    return _dumps(json_document(result), 0, {}) + "\n"


def render_json_line(result: JobResult) -> str:
    """The document of :func:`render_json` as one compact line (``ingest --follow``'s JSON
    lines), ending with a newline."""
    return json.dumps(json_document(result), separators=(",", ":"), allow_nan=False) + "\n"


#: Indentation of one nesting level in the JSON report.
_INDENT: Final[str] = "  "


def _dumps(value: Any, level: int, memo: dict[tuple[int, int], str]) -> str:
    """``json.dumps(value, indent=2, allow_nan=False)`` for ``value`` nested ``level`` deep.

    The standard library writes every part, except that this function walks dicts (with string
    keys) and lists whose items repeat (the same container object several times, such as
    10,000 identical prime ranges): such a list's distinct items are encoded once each
    (``memo``, by ``id`` and depth; the document outlives the call) and joined, the way the standard
    library lays out a list (``",\\n"`` and the indentation between items). A string in JSON
    never holds a raw newline, so indenting a part's text is replacing its newlines.

    >>> doc = {"a": [1, {"b": None}], "c": {}, "d": "\u00e9"}
    >>> _dumps(doc, 0, {}) == json.dumps(doc, indent=2)
    True
    """
    pad = "\n" + _INDENT * (level + 1)
    if isinstance(value, dict) and value and all(isinstance(key, str) for key in value):
        items = [f"{json.dumps(k)}: {_dumps(v, level + 1, memo)}" for k, v in value.items()]
        return "{" + pad + ("," + pad).join(items) + "\n" + _INDENT * level + "}"
    if isinstance(value, list | tuple) and _repeats(value):
        items = []
        for item in value:
            key = (id(item), level + 1)
            text = memo.get(key)
            if text is None:
                text = memo[key] = _dumps(item, level + 1, memo)
            items.append(text)
        return "[" + pad + ("," + pad).join(items) + "\n" + _INDENT * level + "]"
    text = json.dumps(value, indent=2, allow_nan=False)
    return text.replace("\n", "\n" + _INDENT * level) if level else text


def _repeats(items: Sequence[Any]) -> bool:
    """Whether a container object occurs more than once in ``items``."""
    ids = [id(item) for item in items if isinstance(item, dict | list | tuple)]
    return len(set(ids)) < len(ids)


def format_ms(value: float | None) -> str:
    """A latency in ms: 3 decimals below 10 ms, 1 at or above; ``-`` for None.

    >>> format_ms(1.23456), format_ms(1203.25), format_ms(None)
    ('1.235', '1,203.2', '-')
    """
    if value is None:
        return "-"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def plural(count: int, noun: str) -> str:
    """``1 range``, ``2 ranges``, ``1,000 integers`` (regular English plurals only).

    >>> plural(1, "range"), plural(1_000, "integer"), plural(0, "worker")
    ('1 range', '1,000 integers', '0 workers')
    """
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def report_header(title: str, facts: Sequence[tuple[str, str]]) -> list[str]:
    """The opening lines of every text report: the title, underlined, then aligned facts.

    >>> for line in report_header("Prime report", [("ranges", "1 range"), ("mode", "sync")]):
    ...     print(line)
    Prime report
    ============
    ranges: 1 range
    mode:   sync
    """
    width = max((len(key) for key, _ in facts), default=0) + 1
    return [title, "=" * len(title)] + [f"{key + ':':<{width}} {value}" for key, value in facts]


def footer(elapsed_s: float, mode: str, workers: int) -> str:
    """The one footer of every report (text and HTML).

    >>> footer(1.23456, "threading", 1)
    'computed in 1.235 s, mode threading, 1 worker'
    """
    return f"computed in {elapsed_s:.3f} s, mode {mode}, {plural(workers, 'worker')}"


def format_bytes(count: int) -> str:
    """A size in bytes for people: B below 1 KiB, else KiB/MiB/GiB/TiB with one decimal.

    >>> format_bytes(512), format_bytes(27_822_613), format_bytes(16 * 2**20)
    ('512 B', '26.5 MiB', '16.0 MiB')
    """
    if count < 1024:
        return f"{count:,} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:,.1f} {unit}"


#: Control characters (C0, DEL, C1), bidirectional overrides and line separators: a terminal
#: acts on them (an OSC title sequence ends with BEL, ESC starts a colour), so the text report
#: shows them as escapes.
_UNPRINTABLE: Final = re.compile(f"[{TERMINAL_CONTROLS}]")


def printable(text: str) -> str:
    r"""``text`` with every control character written as ``\xNN`` or ``\uNNNN``.

    >>> printable("ok" + chr(27) + "]0;x" + chr(7) + " tab" + chr(9) + "end")
    'ok\\x1b]0;x\\x07 tab\\x09end'
    """
    return _UNPRINTABLE.sub(_escape_char, text)


def printable_cut(text: str, width: int) -> str:
    r"""``printable(text)`` cut to at most ``width`` characters, the last one an ellipsis when it
    was cut; an escape is kept whole or left out, never cut in the middle (``\x1`` is not an
    escape a reader can decode).

    >>> printable_cut("abc" + chr(27) + "[31m", 7), printable_cut("abcdef", 6)
    ('abc…', 'abcdef')
    """
    shown = printable(text)
    if len(shown) <= width:
        return shown
    room, pieces = width - 1, []
    for raw in _PIECES.findall(text):
        piece = printable(raw)
        if len(piece) > room:
            if piece == raw:  # plain text is cut; an escape is left out whole
                pieces.append(piece[:room])
            break
        pieces.append(piece)
        room -= len(piece)
    return "".join(pieces) + "…"


#: A run of printable characters or one character that :func:`printable` escapes.
_PIECES: Final = re.compile(f"[{TERMINAL_CONTROLS}]|[^{TERMINAL_CONTROLS}]+")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def format_share(part: int, total: int) -> str:
    """``part`` as a percentage of ``total`` with one decimal; ``-`` when ``total`` is 0.

    >>> format_share(1, 3), format_share(0, 0)
    ('33.3 %', '-')
    """
    return f"{100 * part / total:.1f} %" if total else "-"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table; numbers right-aligned, text left-aligned.

    >>> print(format_table(["name", "n"], [["a", 1], ["bb", 22]]))
    name   n
    ----  --
    a      1
    bb    22
    """
    # column by column: one pass per column for texts, alignment and width (10,000 rows of
    # prime ranges are two tables of 10,000 lines; row-wise bookkeeping was most of their cost)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    if len(columns) != len(headers):
        raise ValueError(f"{len(headers)} headers but rows of {len(columns)} values")
    shown = []
    for header, column in zip(headers, columns, strict=True):
        texts = [_cell(value) for value in column]
        width = max(len(header), max(map(len, texts), default=0))
        numeric = bool(rows) and all(
            value is None or isinstance(value, int | float | Cell) for value in column
        )
        justify = str.rjust if numeric else str.ljust
        shown.append(
            [justify(header, width), justify("-" * width, width)]
            + [justify(text, width) for text in texts]
        )
    return "\n".join("  ".join(parts).rstrip() for parts in zip(*shown, strict=True))


@dataclass(frozen=True)
class Cell:
    """A table cell shown as ``text`` but aligned as a number (e.g. ``12.5 %`` or ``1.235``)."""

    text: str


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, Cell):
        return value.text
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return printable(str(value))
