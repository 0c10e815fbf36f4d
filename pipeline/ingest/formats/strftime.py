"""strftime time formats (Apache ``%{format}t``) as RE2 patterns.

Apache writes a ``%{format}t`` time with the C library's ``strftime``; to read it back, each
conversion becomes a fixed-shape regular expression. :func:`strftime_pattern` gives the pattern
that matches a whole time field (no capture group: it is part of a format's line pattern), and
with ``named=True`` the same pattern with one named group per component, which
:func:`pipeline.ingest.parsing.units.strftime_ms` extracts to compute the time.

Apache also has its own ``%{msec_frac}t`` and ``%{usec_frac}t`` (the fraction of the second,
3 or 6 digits) and ``%{sec}t`` (epoch seconds). The compiler merges adjacent ``%{...}t``
directives into one format (``%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t``, the example of Apache's
manual, is one time); in that merged format ``%3N`` and ``%6N`` stand for the two fractions (the
GNU ``date`` spelling) and ``%s`` for epoch seconds.

A format without ``%z`` (or ``%s``) has no UTC offset: its times are read as UTC and the report
says so (:func:`has_offset`).

>>> strftime_pattern("%Y%m%d %H")
'[0-9]{4}[0-9]{2}[0-9]{2} [0-9]{2}'
>>> has_offset("%d/%b/%Y:%H:%M:%S %z"), has_offset("%Y-%m-%d %T")
(True, False)
"""

from __future__ import annotations

import re
from typing import Final

from pipeline.errors import InputError

_MONTH_ABBR: Final[str] = (
    "(?:[Jj]an|[Ff]eb|[Mm]ar|[Aa]pr|[Mm]ay|[Jj]un|[Jj]ul|[Aa]ug|[Ss]ep|[Oo]ct|[Nn]ov|[Dd]ec)"
)
_MONTH_FULL: Final[str] = (
    "(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
_DAY_NAME: Final[str] = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"

#: Conversion letter -> (pattern, component or "" when the value is matched only). Components:
#: year, year2 (``%y``), month, month_name (``%b``/``%B``), day, hour, hour12 (with ``ampm``),
#: minute, second, zone (``+hhmm``), epoch (``%s``), ms (``%3N``), us (``%6N``).
CONVERSIONS: Final[dict[str, tuple[str, str]]] = {
    "Y": ("[0-9]{4}", "year"),
    "y": ("[0-9]{2}", "year2"),
    "m": ("[0-9]{2}", "month"),
    "b": (_MONTH_ABBR, "month_name"),
    "h": (_MONTH_ABBR, "month_name"),
    "B": (_MONTH_FULL, "month_name"),
    "d": ("[0-9]{2}", "day"),
    "e": ("(?: [0-9]|[0-9]{2})", "day"),  # space-padded day
    "H": ("[0-9]{2}", "hour"),
    "k": ("(?: [0-9]|[0-9]{2})", "hour"),  # space-padded hour
    "I": ("[0-9]{2}", "hour12"),
    "l": ("(?: [0-9]|[0-9]{2})", "hour12"),
    "p": ("(?:AM|PM|am|pm)", "ampm"),
    "M": ("[0-9]{2}", "minute"),
    "S": ("[0-9]{2}", "second"),
    "z": ("[+-][0-9]{4}", "zone"),
    "Z": ("[A-Za-z]+", ""),  # a zone name: matched, not read (the time is read as UTC)
    "a": (_DAY_NAME, ""),
    "A": (_DAY_NAME, ""),
    "u": ("[1-7]", ""),
    "w": ("[0-6]", ""),
    "s": ("[0-9]+", "epoch"),
    "3N": ("[0-9]{3}", "ms"),
    "6N": ("[0-9]{6}", "us"),
}

#: Conversions that stand for several others (as glibc's strftime expands them).
SHORTHANDS: Final[dict[str, str]] = {
    "T": "%H:%M:%S",
    "R": "%H:%M",
    "D": "%m/%d/%y",
    "F": "%Y-%m-%d",
    "r": "%I:%M:%S %p",
}

_TOKEN: Final = re.compile(r"%(3N|6N|.)|([^%]+)", re.DOTALL)


def _literal(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in " _" else "\\" + ch for ch in text).replace(
        "\t", "\\t"
    )


def _expanded(fmt: str) -> str:
    for short, long in SHORTHANDS.items():
        fmt = re.sub(rf"(?<!%)((?:%%)*)%{short}", rf"\g<1>{long}", fmt)
    return fmt


def components(fmt: str) -> list[str]:
    """The components a format writes, in order (each at most once).

    >>> components("%d/%b/%Y:%T %z")
    ['day', 'month_name', 'year', 'hour', 'minute', 'second', 'zone']
    """
    seen: list[str] = []
    for match in _TOKEN.finditer(_expanded(fmt)):
        letter = match.group(1)
        if letter and letter in CONVERSIONS and CONVERSIONS[letter][1]:
            seen.append(CONVERSIONS[letter][1])
    return seen


def strftime_pattern(fmt: str, named: bool = False) -> str:
    """The RE2 pattern of times written with ``fmt``; ``named``: a group per component.

    A conversion this table does not know (``%j``, ``%c``, locale-dependent ones) raises
    :class:`~pipeline.errors.InputError` (exit 2), as does a format that writes one component
    twice or cannot name a day (no date and no epoch).
    """
    parts: list[str] = []
    used: set[str] = set()
    for match in _TOKEN.finditer(_expanded(fmt)):
        letter, text = match.group(1), match.group(2)
        if text is not None:
            parts.append(_literal(text))
        elif letter == "%":
            parts.append("%")
        elif letter == "n":
            parts.append("\\n")
        elif letter == "t":
            parts.append("\\t")
        elif letter in CONVERSIONS:
            pattern, component = CONVERSIONS[letter]
            if component and component in used:
                raise InputError(f"time format {fmt!r} writes its {component} twice")
            if component:
                used.add(component)
            parts.append(f"(?P<{component}>{pattern})" if named and component else pattern)
        else:
            raise InputError(f"unsupported strftime conversion '%{letter}' in time format {fmt!r}")
    dated = (
        "day" in used and bool(used & {"year", "year2"}) and bool(used & {"month", "month_name"})
    )
    if not dated and "epoch" not in used:
        raise InputError(f"time format {fmt!r} does not write a date (year, month and day)")
    return "".join(parts)


def has_offset(fmt: str) -> bool:
    """Whether the times of ``fmt`` carry their UTC offset (``%z``, or they are epoch times)."""
    found = components(fmt)
    return "zone" in found or "epoch" in found
