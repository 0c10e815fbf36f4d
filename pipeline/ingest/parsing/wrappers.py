"""Container wrappers: the access line inside a line that a container runtime or a shipper wrote.

Lines collected from containers come wrapped; the line inside is read with its own format (a
:class:`~pipeline.ingest.formats.presets.LogFormat` whose ``wrapper`` is set). Three wrappers:

* ``docker``: Docker's json-file logging driver, one JSON object per line,
  ``{"log": "<line>\\n", "stream": "stdout", "time": "2024-04-25T17:51:55.294Z"}``.
* ``cri``: the Kubernetes CRI format (containerd, CRI-O),
  ``2024-04-25T17:51:55.294Z stdout F <line>``. ``F`` marks a full line, ``P`` a partial one: the
  runtime cuts a line longer than its buffer (16 KiB) into ``P`` pieces ended by an ``F`` piece.
  Pieces are **not** joined (they may lie in different blocks of a file): each is read on its
  own, so the parts of such a long line are malformed. Access lines that long are rare.
* ``message``: a shipper's JSON object with the line in ``message`` (Filebeat, Vector, Fluent
  Bit, Logstash), its time in ``@timestamp``, ``timestamp`` or ``time`` when there is one.

:func:`unwrap` is applied to a whole partition: a regular expression for ``cri`` (vectorised),
``json.loads`` per line for the JSON wrappers (the JSON decoding, escapes included, is the point;
the inner line is then parsed vectorised). A line that is not wrapped as its format says becomes
:data:`NOT_WRAPPED`, which no format parses: it is malformed, and reported as written.
"""

from __future__ import annotations

import json
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.parsing.convert import iso_time_ms

#: The inner "line" of a line that is not wrapped as expected: a NUL byte no format parses.
NOT_WRAPPED: Final[str] = "\x00"

#: A CRI line: RFC 3339 time, stream, tag (``F`` full, ``P`` partial), then the line (the
#: trimmed line may end at the tag when the logged line was empty).
CRI_PATTERN: Final[str] = (
    r"^(?P<time>[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+) (?:stdout|stderr) [FP](?: (?P<line>.*))?$"
)

#: Keys holding the time in a shipper's ``message`` object, in the order they are preferred.
MESSAGE_TIME_KEYS: Final[tuple[str, ...]] = ("@timestamp", "timestamp", "time")


def unwrap(lines: pa.Array, wrapper: str) -> tuple[pa.Array, pa.Array]:
    """The inner line and the wrapper's time (UTC ms, null when none) of each line.

    >>> inner, times = unwrap(pa.array(["2024-04-25T17:51:55.294Z stdout F GET /x 200"]), "cri")
    >>> inner.to_pylist(), times.to_pylist()
    (['GET /x 200'], [1714067515294])
    >>> docker = ['{"log":"a b\\\\n","time":"2024-04-25T17:51:55Z"}', "x"]
    >>> unwrap(pa.array(docker), "docker")[0].to_pylist()
    ['a b', '\\x00']
    """
    if wrapper == "cri":
        parts = pc.extract_regex(lines, pattern=CRI_PATTERN)
        matched = pc.is_valid(parts)
        inner = pc.if_else(matched, pc.fill_null(pc.struct_field(parts, "line"), ""), NOT_WRAPPED)
        stamps = pc.fill_null(pc.struct_field(parts, "time"), "")
    elif wrapper in ("docker", "message"):
        inner, stamps = _json_lines(lines.to_pylist(), wrapper)
    else:
        raise ValueError(f"unknown wrapper {wrapper!r}")
    inner = pc.utf8_trim_whitespace(pc.cast(inner, pa.large_string()))
    inner = pc.if_else(pc.equal(inner, ""), NOT_WRAPPED, inner)
    return inner, _times(stamps)


def _json_lines(lines: list[Any], wrapper: str) -> tuple[pa.Array, pa.Array]:
    """Inner lines and time strings of JSON-wrapped lines (``json.loads`` per line)."""
    key = "log" if wrapper == "docker" else "message"
    times = ("time",) if wrapper == "docker" else MESSAGE_TIME_KEYS
    inner: list[str] = []
    stamps: list[str] = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        value = record.get(key) if isinstance(record, dict) else None
        if not isinstance(value, str):
            inner.append(NOT_WRAPPED)
            stamps.append("")
            continue
        inner.append(value)
        stamp = next((record[k] for k in times if isinstance(record.get(k), str)), "")
        stamps.append(stamp)
    return pa.array(inner, pa.large_string()), pa.array(stamps, pa.large_string())


def _times(stamps: pa.Array) -> pa.Array:
    """ISO 8601 times -> UTC ms, null where there is none or it does not convert."""
    values, ok = iso_time_ms(stamps)
    return pa.array(values, type=pa.int64(), mask=~np.asarray(ok, dtype=bool))


#: What marks each wrapper in a sample, tried in this order: a CRI prefix, Docker's ``{"log":``
#: first key, a JSON object with a ``message`` key.
WRAPPER_MARKS: Final[tuple[tuple[str, str], ...]] = (
    ("cri", CRI_PATTERN),
    ("docker", r'^\{"log":'),
    ("message", r'^\{.*"message" ?:'),
)
