"""The compiled check and cut of the project's own line grammar: one pass over each line's bytes.

The grammar (:data:`pipeline.ingest.parsing.own_grammar.LINE_PATTERN`) is
``[METHOD] PATH, status=STATUS, time=LATENCYms user-agent=AGENT``. Checking it with RE2 and then
finding each separator with a substring search reads every line four times and copies the kept
lines once; this loop decides whether a line matches and where its fields are in one walk, and
reads the status digits on the way. The walk is the pattern, piece by piece:

* ``[``, then ``[A-Z]+``, then ``] ``;
* PATH: characters for which ``str.isspace()`` is false, one or more, up to the first
  whitespace character, which must be the space of ``, status=`` (PATH cannot hold a space, so
  the first one is that literal's; any other whitespace character ends the match);
* ``status=`` and three digits, the first 1-5; ``, time=``;
* LATENCY: ``[0-9]+`` and optionally ``.`` and ``[0-9]+``; ``ms user-agent=``; AGENT is the rest.

Whitespace is UTF-8 here: the ASCII ones and the multi-byte encodings of U+0085, U+00A0, U+1680,
U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000 (:data:`PY_WHITESPACE`). The text is
valid UTF-8 (Arrow strings), so a lead byte is followed by its continuation bytes. The suite
compares this loop with RE2's match and groups on hostile lines (tests/test_ingest_own_grammar.py).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]

#: Rows of the spans :func:`scan_default` returns.
METHOD, PATH, LATENCY, AGENT = 0, 1, 2, 3

_STATUS = np.frombuffer(b"status=", dtype=np.uint8)
_TIME = np.frombuffer(b", time=", dtype=np.uint8)
_AGENT = np.frombuffer(b"ms user-agent=", dtype=np.uint8)


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def _whitespace(raw: Bytes, at: int, end: int) -> bool:
    """Whether the character starting at ``raw[at]`` is one ``str.isspace()`` accepts."""
    byte = raw[at]
    if byte == 32 or 9 <= byte <= 13 or 28 <= byte <= 31:
        return True
    if byte == 0xC2 and at + 1 < end:  # U+0085, U+00A0
        return bool(raw[at + 1] == 0x85 or raw[at + 1] == 0xA0)
    if byte == 0xE1 and at + 2 < end:  # U+1680
        return bool(raw[at + 1] == 0x9A and raw[at + 2] == 0x80)
    if byte == 0xE2 and at + 2 < end:
        second, third = raw[at + 1], raw[at + 2]
        if second == 0x80:  # U+2000-U+200A, U+2028, U+2029, U+202F
            return bool(0x80 <= third <= 0x8A or third == 0xA8 or third == 0xA9 or third == 0xAF)
        return bool(second == 0x81 and third == 0x9F)  # U+205F
    if byte == 0xE3 and at + 2 < end:  # U+3000
        return bool(raw[at + 1] == 0x80 and raw[at + 2] == 0x80)
    return False


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def _literal(raw: Bytes, at: int, end: int, text: Bytes) -> bool:
    """Whether ``raw[at:end]`` starts with ``text``."""
    if at + len(text) > end:
        return False
    for index in range(len(text)):  # noqa: SIM110 (numba compiles no generator in all())
        if raw[at + index] != text[index]:
            return False
    return True


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def _digits(raw: Bytes, at: int, end: int) -> int:
    """The index after the ASCII digits starting at ``at``."""
    while at < end and 48 <= raw[at] <= 57:
        at += 1
    return at


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def scan_default(
    raw: Bytes, offsets: Ints
) -> tuple[npt.NDArray[np.bool_], Ints, Ints, npt.NDArray[np.int16]]:
    """Which lines match the grammar, the spans of their fields and their status codes.

    ``raw[offsets[i]:offsets[i + 1]]`` is line ``i`` (trimmed). Returns ``ok`` per line, then
    ``begin`` and ``stop`` (rows :data:`METHOD`, :data:`PATH`, :data:`LATENCY`, :data:`AGENT`;
    set for the lines that match) and the status code (0 where a line does not match).
    """
    count = len(offsets) - 1
    ok = np.zeros(count, np.bool_)
    begin = np.zeros((4, count), np.int64)
    stop = np.zeros((4, count), np.int64)
    status = np.zeros(count, np.int16)
    for line in range(count):
        at = offsets[line]
        end = offsets[line + 1]
        if at >= end or raw[at] != 91:  # "["
            continue
        first = at + 1
        at = first
        while at < end and 65 <= raw[at] <= 90:  # [A-Z]+
            at += 1
        if at == first or at + 2 > end or raw[at] != 93 or raw[at + 1] != 32:  # "] "
            continue
        begin[METHOD, line] = first
        stop[METHOD, line] = at
        first = at + 2
        at = first
        while at < end and not _whitespace(raw, at, end):
            at += 1
        # the first whitespace is the space of ", status=", after a PATH of at least one byte
        if at >= end or raw[at] != 32 or at - 1 <= first or raw[at - 1] != 44:
            continue
        begin[PATH, line] = first
        stop[PATH, line] = at - 1
        at += 1
        if not _literal(raw, at, end, _STATUS) or at + 10 > end:
            continue
        at += 7
        hundreds, tens, units = int(raw[at]) - 48, int(raw[at + 1]) - 48, int(raw[at + 2]) - 48
        if not (1 <= hundreds <= 5 and 0 <= tens <= 9 and 0 <= units <= 9):
            continue
        at += 3
        if not _literal(raw, at, end, _TIME):
            continue
        first = at + 7
        at = _digits(raw, first, end)
        if at == first:
            continue
        if at < end and raw[at] == 46:  # "." and at least one digit
            after = _digits(raw, at + 1, end)
            if after == at + 1:
                continue
            at = after
        begin[LATENCY, line] = first
        stop[LATENCY, line] = at
        if not _literal(raw, at, end, _AGENT):
            continue
        begin[AGENT, line] = at + 14
        stop[AGENT, line] = end
        status[line] = hundreds * 100 + tens * 10 + units
        ok[line] = True
    return ok, begin, stop, status
