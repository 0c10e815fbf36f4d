"""The project's own line grammar (the ``default`` format): which lines match, and their fields.

Applied to each trimmed, non-empty line::

    [METHOD] PATH, status=STATUS, time=LATENCYms user-agent=UA

Two ways to the same result, as for the cut of other formats (:mod:`pipeline.ingest.parsing.scan`):

* **RE2 and substring searches**: :data:`VALID_PREFIX` decides which lines match (RE2's DFA,
  no capture groups), then each separator is found with a plain substring search, whose first
  occurrence is the right one because METHOD, PATH, STATUS and LATENCY cannot contain a space,
  and every separator does;
* **one compiled walk per line** (:mod:`pipeline.ingest.parsing.default_kernel`): match and cut
  in one pass, no copy of the matching lines; about 0.1 s less CPU per 16 MiB block
  (180,000 lines).

A text of fewer than :data:`~pipeline.ingest.parsing.scan.COMPILED_CUT_MIN_LINES` lines takes
the first way while the compiled walk is not loaded in the process (loading numba costs more
than it saves on a small log). tests/test_ingest_own_grammar.py compares both with ``re``.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.parsing.convert import decimal_to_ms, large_strings, positions, substrings
from pipeline.ingest.parsing.scan import COMPILED_CUT_MIN_LINES, gathered, string_bytes

#: Every character for which ``str.isspace()`` is true (what ``str.strip()`` removes).
#: ``tests/test_ingest_parse.py`` checks this against a scan of all code points.
PY_WHITESPACE: Final[str] = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

_NOT_SPACE: Final[str] = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + "]"

#: The line grammar in RE2 syntax, for a trimmed line (documentation and the reference for
#: :data:`VALID_PREFIX`). STATUS 100-599 is checked by the pattern itself; LATENCY rejects
#: ``.5``, ``5.``, signs, exponents, ``nan`` and ``inf``.
LINE_PATTERN: Final[str] = (
    r"^\[(?P<method>[A-Z]+)\] "
    rf"(?P<path>{_NOT_SPACE}+), "
    r"status=(?P<status>[1-5][0-9][0-9]), "
    r"time=(?P<latency_ms>[0-9]+(?:\.[0-9]+)?)ms "
    r"user-agent=(?P<user_agent>.*)$"
)

#: What RE2 matches: the grammar up to ``user-agent=`` without capture groups, so RE2 runs its
#: fast DFA (captures force the slower NFA: about 5x slower here). The UA part ``.*$`` adds
#: nothing because a line never contains ``\n``. Fields are then cut out by position.
VALID_PREFIX: Final[str] = re.sub(r"\(\?P<\w+>", "(?:", LINE_PATTERN).removesuffix("(?:.*)$")

_KERNEL: Final[str] = "pipeline.ingest.parsing.default_kernel"

Columns = dict[str, pa.Array]
Mask = np.ndarray[Any, np.dtype[np.bool_]]


def own_fields(lines: pa.Array, *, compiled: bool | None = None) -> tuple[Mask, Columns, Mask]:
    """Which ``lines`` (trimmed) match the grammar, and the typed columns of those that do.

    Returns ``ok`` (one entry per line), the columns ``method`` (dictionary), ``path``,
    ``status`` (int16), ``latency_ms`` (float64) and ``user_agent`` of the matching lines, and
    ``valid`` (one entry per matching line: False where the latency is above the limit of
    :func:`~pipeline.ingest.parsing.convert.decimal_to_ms`). ``compiled`` forces a way (True:
    the compiled walk, False: RE2); None chooses by the number of lines (see the module).
    """
    lines = large_strings(lines)
    count = len(lines)
    if compiled is None:
        compiled = count >= COMPILED_CUT_MIN_LINES or _KERNEL in sys.modules
    if compiled and count:
        return _compiled(lines)
    ok = np.asarray(
        pc.fill_null(pc.match_substring_regex(lines, pattern=VALID_PREFIX), False).to_numpy(
            zero_copy_only=False
        ),
        dtype=bool,
    )
    matched = lines if ok.all() else lines.filter(pa.array(ok))
    columns, valid = _by_position(matched)
    return ok, columns, valid


def _compiled(lines: pa.Array) -> tuple[Mask, Columns, Mask]:
    from pipeline.ingest.parsing.default_kernel import scan_default  # numba: on first use

    offsets, raw = string_bytes(lines)
    ok, begin, stop, status = scan_default(raw, offsets)
    keep = np.flatnonzero(ok)
    method, path, latency_text, agent = gathered(raw, begin, stop, keep)
    latency, valid = decimal_to_ms(latency_text, exponent=0)
    return (
        ok,
        {
            "method": method.dictionary_encode(),
            "path": path,
            "status": pa.array(status[keep], type=pa.int16()),
            "latency_ms": pa.array(latency, type=pa.float64()),
            "user_agent": agent,
        },
        valid,
    )


def _by_position(matched: pa.Array) -> tuple[Columns, Mask]:
    """The typed columns of lines known to match (positional cut after RE2's check)."""
    offsets, raw = string_bytes(matched)
    data = matched.buffers()[2]
    start, end = offsets[:-1], offsets[1:]
    close = start + positions(matched, "] ")
    comma = start + positions(matched, ", status=")
    unit = start + positions(matched, "ms user-agent=")
    digits = [raw[comma + 9 + i].astype(np.int16) - ord("0") for i in range(3)]
    status = digits[0] * 100 + digits[1] * 10 + digits[2]
    latency, latency_ok = decimal_to_ms(substrings(data, comma + 19, unit), exponent=0)
    return {
        "method": substrings(data, start + 1, close).dictionary_encode(),
        "path": substrings(data, close + 2, comma),
        "status": pa.array(status, type=pa.int16()),
        "latency_ms": pa.array(latency, type=pa.float64()),
        "user_agent": substrings(data, unit + 14, end),
    }, latency_ok
