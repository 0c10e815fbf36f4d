"""logfmt lines (``key=value`` pairs, as Heroku's router and Go services write) -> parsed columns.

A line is a sequence of ``key=value`` pairs separated by spaces; a value may be double-quoted
(``path="/a b"``, with ``\\"`` and ``\\\\`` escapes) and may be empty (``key=``). Words without
``=`` are skipped, so a line keeps its pairs whatever precedes them. The pairs become a record
read exactly as a JSON object is (:mod:`pipeline.ingest.parsing.records`): the generic
``logfmt`` preset looks keys up through the JSON aliases (``--field`` overrides included), a
named preset (``heroku``) through its own key table.

A row's ``prefix`` option is a Python regular expression matched at the start of each line
before the pairs (Heroku's ``2014-01-09T06:16:53.748849+00:00 heroku[router]:``, or the
logplex frame a drain receives); its named groups become keys of the record (``time``), which
the line's own pairs override.

This is, like JSON, a per-line Python path (a regular expression per line): logfmt logs are
rarely the bulk of a site's logs.

>>> import pyarrow as pa
>>> line = 'method=GET path="/a b" status=200 service=12ms'
>>> rows = parse_logfmt(pa.array([line]), (), (("latency", "service:duration"),
...     ("method", "method"), ("path", "path"), ("status", "status")))
>>> rows.path.to_pylist(), rows.latency_ms.tolist(), rows.ok.tolist()
(['/a b'], [12.0], [True])
"""

from __future__ import annotations

import re
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.parsing.jsonlines import ALIASES
from pipeline.ingest.parsing.records import (
    JsonRows,
    Overrides,
    key_table,
    option,
    rows_from_records,
)

#: One pair: a key (no space, ``=`` or quote), ``=``, then a quoted or a bare value.
_PAIR: Final = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?=\s|$)')

#: Escapes inside a quoted value.
_ESCAPE: Final = re.compile(r"\\(.)")


def parse_logfmt(
    lines: pa.Array, overrides: Overrides, options: tuple[tuple[str, str], ...] = ()
) -> JsonRows:
    """Parse logfmt lines; ``overrides`` are ``--field`` entries ``(canonical, key, unit)``,
    ``options`` the preset row's settings (key table, ``prefix``, ``require``)."""
    table = key_table(options, ALIASES, overrides)
    spec = option(options, "prefix")
    prefix = re.compile(spec) if spec is not None else None
    records = []
    for index, line in enumerate(lines.to_pylist()):
        if line.startswith("{"):  # a JSON object, whose strings may hold "key=value" text
            continue
        record = decode_logfmt(line, prefix)
        if record:
            records.append((index, record))
    probes = tuple(key for _, key, _ in overrides)
    return rows_from_records(records, len(lines), table, option(options, "require"), probes)


def may_be_logfmt(
    lines: pa.Array, overrides: Overrides, options: tuple[tuple[str, str], ...] = ()
) -> pa.Array:
    """Lines :func:`parse_logfmt` may read (a superset, for format detection): a line is read
    only with a status key and a path or request key, and a key of :data:`_PAIR` starts the line
    or follows a space, ``=`` or ``"``. Every line when the row's prefix may supply such a key.

    >>> may_be_logfmt(pa.array(["status=200 path=/", "[GET] /x, status=200"]), ()).to_pylist()
    [True, False]
    """
    table = key_table(options, ALIASES, overrides)
    spec = option(options, "prefix")
    supplied = set(re.compile(spec).groupindex) if spec is not None else set()

    def keys_of(*fields: str) -> list[str]:
        names = {key for field in fields for key, _ in table.get(field, ())}
        return sorted(names | {name.split(".")[0] for name in names})

    status, target = keys_of("status"), keys_of("path", "request")
    if not status or not target or supplied & {*status, *target}:
        return pa.array([True] * len(lines))
    found = None
    for keys in (status, target):
        pattern = r'(?:^|[\s="])(?:' + "|".join(re.escape(key) for key in keys) + ")="
        has = pc.match_substring_regex(lines, pattern=pattern)
        found = has if found is None else pc.and_(found, has)
    return pc.and_(found, pc.invert(pc.starts_with(lines, "{")))


def decode_logfmt(line: str, prefix: re.Pattern[str] | None = None) -> dict[str, Any]:
    """The record of one line: the prefix's named groups, then its pairs (the last of a
    repeated key wins, as in most logfmt readers).

    >>> decode_logfmt('at=info path="/a \\\\"b\\\\"" connect=1ms fwd=')
    {'at': 'info', 'path': '/a "b"', 'connect': '1ms', 'fwd': ''}
    """
    record: dict[str, Any] = {}
    start = 0
    if prefix is not None:
        found = prefix.match(line)
        if found is not None:
            record.update({k: v for k, v in found.groupdict().items() if v is not None})
            start = found.end()
    for key, value in _PAIR.findall(line, start):
        if value.startswith('"'):
            value = _ESCAPE.sub(r"\1", value[1:-1])
        record[key] = value
    return record
