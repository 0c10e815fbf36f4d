"""Input-derived text made safe to print: file names and lines never forge lines or crash writes.

A file name is whatever bytes the file system holds. Python decodes undecodable bytes as lone
surrogates (``os.fsdecode``'s ``surrogateescape``), which cannot be encoded as UTF-8 (writing the
report would raise ``UnicodeEncodeError``), and a name may contain a newline or a TAB, which would
split a ``SOURCE<TAB>LINE`` record of ``--malformed-out`` or forge a line on stderr
(``x.gz\\nWARNING fake``). :func:`escape_text` turns both into visible escapes:

* an undecodable byte ``0xNN`` (surrogate ``U+DCNN``) becomes ``\\xNN``;
* TAB, newline and carriage return become ``\\t``, ``\\n``, ``\\r``;
* every other control character (C0, DEL, C1) becomes ``\\xNN``;
* the bidirectional marks, embeddings, overrides and isolates (U+200E, U+200F, U+202A-U+202E,
  U+2066-U+2069) and the line and paragraph separators (U+2028, U+2029) become ``\\uNNNN``:
  a terminal reorders text after U+202E (``gol.exe`` shown for ``exe.log``) and may break a
  line at U+2028, as the text report already escapes them in log lines
  (:func:`pipeline.reporting.text.printable`).

A backslash is kept as it is, so the result is for display and for line-oriented records, not a
reversible encoding: a name that already contains the four characters ``\\xff`` reads the same.

>>> escape_text("bad\\udcff.gz")
'bad\\\\xff.gz'
>>> escape_text("x.gz\\nWARNING fake")
'x.gz\\\\nWARNING fake'
>>> escape_text("a\\u202egol.exe\\u2028b")
'a\\\\u202egol.exe\\\\u2028b'
>>> escape_text("plain-ünïcode.log")
'plain-ünïcode.log'
"""

from __future__ import annotations

import re
from typing import Final

_NAMED: Final[dict[str, str]] = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

#: The characters a terminal acts on, as the body of a regular-expression class: control
#: characters (C0, DEL, C1), bidirectional controls, line and paragraph separators. File names
#: here and log text in the report (:func:`pipeline.reporting.text.printable`) escape them all.
TERMINAL_CONTROLS: Final[str] = "\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069"

#: :data:`TERMINAL_CONTROLS` and the surrogates that stand for undecodable bytes.
_UNSAFE: Final[re.Pattern[str]] = re.compile(f"[{TERMINAL_CONTROLS}\udc80-\udcff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """``text`` with control characters and undecodable bytes written as visible escapes."""
    return _UNSAFE.sub(_escape, text)


def escape_undecodable(text: str) -> str:
    """Only undecodable bytes (lone surrogates) escaped; newlines and TABs kept.

    For whole multi-line documents (the text report), where line breaks are meant.

    >>> escape_undecodable("a\\udcff\\nb")
    'a\\\\xff\\nb'
    """
    return re.sub("[\udc80-\udcff]", _escape, text)
