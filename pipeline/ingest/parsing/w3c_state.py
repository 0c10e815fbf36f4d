"""The directives in force in a W3C or CloudFront file, carried in the format itself.

A W3C file describes itself with directive lines (``#Software:``, ``#Version:``, ``#Date:``,
``#Fields:``). The ones that change how later lines read (``#Fields:``, ``#Software:`` for the
``time-taken`` unit, ``#Date:`` for files with a ``time`` but no ``date`` column) are the
parser's state. It travels in :attr:`~pipeline.ingest.formats.presets.LogFormat.options`
(keys :data:`STATE_KEYS`): a text is parsed with the state at its start and :func:`carried`
gives the state at its end, which the next piece of the same file is parsed with. A block in the
middle of a large file gets the state at its start from its file's earlier blocks
(:func:`state_after` over their :func:`directive_lines`), without parsing them.

>>> from pipeline.ingest.formats.presets import preset
>>> fmt = carried(preset("w3c"), "#Fields: date time sc-status\\n2024-01-01 00:00:00 200\\n")
>>> option(fmt, FIELDS_KEY)
'date time sc-status'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import numpy as np

from pipeline.ingest.formats.presets import LogFormat

#: Keys of the directives in force in a format's options (absent: none seen yet).
FIELDS_KEY: Final[str] = "in_force_fields"
SOFTWARE_KEY: Final[str] = "in_force_software"
DATE_KEY: Final[str] = "in_force_date"
STATE_KEYS: Final[tuple[str, ...]] = (FIELDS_KEY, SOFTWARE_KEY, DATE_KEY)

#: Fields only IIS writes: a ``#Fields:`` set with one of them is IIS's (time-taken in ms).
IIS_FIELDS: Final[frozenset[str]] = frozenset(
    {"s-sitename", "s-computername", "sc-substatus", "sc-win32-status"}
)

#: The ``#Software:`` of IIS (time-taken in ms), matched case-insensitively.
IIS_SOFTWARE: Final[str] = "microsoft internet information services"

#: The byte of ``#``, and bytes that may stand before the ``#`` of a directive line (a line
#: break, ASCII whitespace, the last byte of a multi-byte whitespace character).
_HASH: Final[int] = ord("#")
_BEFORE_HASH: Final = np.array(sorted({10, 9, 11, 12, 13, 28, 29, 30, 31, 32}), dtype=np.uint8)


def option(fmt: LogFormat, key: str, default: str = "") -> str:
    """The value of ``key`` in the format's options (the last one set wins)."""
    found = default
    for name, value in fmt.options:
        if name == key:
            found = value
    return found


def directive_lines(text: str | bytes) -> list[str]:
    """The directive lines of ``text`` (trimmed, in order): lines whose first non-whitespace
    character is ``#``, as the parser sees them.

    Only the ``#`` bytes are looked at (numpy), so a text without directives costs one pass.

    >>> directive_lines(b"#Version: 1.0\\nGET /a#x\\n  #Fields: a b\\n")
    ['#Version: 1.0', '#Fields: a b']
    """
    data = text.encode("utf-8", errors="surrogateescape") if isinstance(text, str) else text
    raw = np.frombuffer(data, dtype=np.uint8)
    hashes = np.flatnonzero(raw == _HASH)
    if not len(hashes):
        return []
    before = raw[np.maximum(hashes - 1, 0)]
    candidate = (hashes == 0) | np.isin(before, _BEFORE_HASH) | (before >= 0x80)
    found = []
    for position in hashes[candidate].tolist():
        start = data.rfind(b"\n", 0, position) + 1
        if data[start:position].decode("utf-8", errors="replace").strip():
            continue  # a # inside a line
        end = data.find(b"\n", position)
        line = data[start : end if end >= 0 else len(data)]
        found.append(line.decode("utf-8", errors="replace").strip())
    return found


def state_after(fmt: LogFormat, directives: Sequence[str]) -> LogFormat:
    """``fmt`` with the directives in force after ``directives`` (``#Fields:``, ``#Software:``,
    ``#Date:``; others change nothing).

    >>> fmt = state_after(LogFormat("w3c", "w3c"), ["#Date: 2013-07-30 00:00:00", "#Fields: a b"])
    >>> option(fmt, FIELDS_KEY), option(fmt, DATE_KEY)
    ('a b', '2013-07-30')
    """
    updates = {}
    for line in directives:
        key, _, value = line[1:].partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "fields":
            updates[FIELDS_KEY] = " ".join(value.split())
        elif key == "software":
            updates[SOFTWARE_KEY] = value
        elif key == "date":
            updates[DATE_KEY] = value.split()[0] if value else ""
    if not updates:
        return fmt
    kept = tuple((name, value) for name, value in fmt.options if name not in updates)
    return replace(fmt, options=kept + tuple(sorted(updates.items())))


def carried(fmt: LogFormat, text: str | bytes) -> LogFormat:
    """The format to parse the text that follows ``text`` with: ``fmt`` itself for formats
    without directives, else with the directives of ``text`` applied."""
    if fmt.kind != "w3c":
        return fmt
    return state_after(fmt, directive_lines(text))
