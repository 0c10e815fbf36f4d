"""CSV export (``--format csv --output DIR``): any feature's JSON document as a directory of tables.

The rules read only the shape of the JSON document (:func:`pipeline.reporting.text.json_document`),
so a panel added to a report later comes out as CSV without new code here
(docs/report.md, section "CSV"):

* every **scalar** is a row of ``summary.csv`` (``key,value``), keyed by its dotted JSON path
  (``lines.total``, ``latency_ms.p95``, ``requests.by_status.404``);
* every **list** is a table named by its JSON path with ``_`` (``user_agents.top`` ->
  ``user_agents_top.csv``; a last key ``rows`` is dropped: ``timeline.rows`` -> ``timeline.csv``):
  a list of objects gives one row per object, its columns the keys in first-seen order (objects
  inside a row are flattened: ``max_gap: {gap, after}`` -> ``max_gap_gap, max_gap_after``; a list
  inside a row becomes a sub-table ``TABLE_KEY.csv`` whose column ``row`` is the parent row's
  0-based index); a list of scalars, and an empty list, give one column ``value``;
* a **mapping of names to objects of scalars** (``latency_by_method``) is a table with one row per
  name, its first column named after the mapping's last ``by_`` (``method``), else ``key``;
* any other mapping is walked into; an empty mapping gives nothing.

Cells: ``null`` is an empty cell, booleans ``true``/``false``, numbers as in the JSON report,
text exactly as in the report (no escaping, no formula neutralising). Headers are snake_case, with
the unit of :data:`UNITS` appended where the JSON key has none (``p95`` -> ``p95_ms``).
Files are UTF-8, RFC 4180 (quoted as needed, CRLF line ends).

>>> tables = csv_tables({"n": 2, "top": [{"path": "/a", "p95": 1.5}]})
>>> tables["summary"], tables["top"]
([['key', 'value'], ['n', '2']], [['path', 'p95'], ['/a', '1.5']])
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import json
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from pipeline.errors import InputError, OutputError
from pipeline.reporting import temporaries
from pipeline.reporting.display import escape_text
from pipeline.reporting.outputs import STREAM_PATH, atomic_text

log = logging.getLogger(__name__)

#: Units of table columns whose JSON key does not say them: table name pattern -> column
#: pattern -> unit suffix (``fnmatch`` patterns on the snake_case names). Data only: a panel
#: whose figures have a unit adds one line here. Summary keys are JSON paths and never change.
UNITS: Final[Mapping[str, Mapping[str, str]]] = {
    "latency_by_*": {
        "mean": "ms",
        "median": "ms",
        "min": "ms",
        "max": "ms",
        "std": "ms",
        "p[0-9]*": "ms",
    },
    "latency_histogram": {"lo": "ms", "hi": "ms"},
    "top_paths": {"mean": "ms", "p[0-9]*": "ms"},
    "timeline": {"latency_p[0-9]*": "ms"},
    "hosts": {"p[0-9]*": "ms"},
    "virtual_hosts": {"p[0-9]*": "ms"},
}

#: The file of scalars, and its header.
SUMMARY: Final[str] = "summary"
SUMMARY_HEADER: Final[tuple[str, str]] = ("key", "value")
#: Column of a list of scalars (or an empty list), and of a sub-table's parent row index.
VALUE_COLUMN: Final[str] = "value"
ROW_COLUMN: Final[str] = "row"
#: First column of a mapping table whose name has no ``by_``.
KEY_COLUMN: Final[str] = "key"
#: A list's last key dropped from its table's name (``timeline.rows`` -> ``timeline``).
_ROWS_KEY: Final[str] = "rows"
#: RFC 4180 line end.
LINE_END: Final[str] = "\r\n"

Table = list[list[str]]


@functools.lru_cache(maxsize=4096)  # a report repeats a few keys in every row
def snake_case(name: str) -> str:
    """A header or file name as lower snake_case ASCII (``maxGap`` -> ``max_gap``).

    >>> snake_case("maxGap"), snake_case("status_5xx"), snake_case("Content-Type"), snake_case("")
    ('max_gap', 'status_5xx', 'content_type', 'field')
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_") or "field"


def cell(value: Any) -> str:
    """A JSON scalar as CSV text: null empty, booleans as in JSON, numbers as the report writes
    them (``json.dumps``), text as it is.

    >>> [cell(v) for v in (None, True, 3, 0.25, "=1+1")]
    ['', 'true', '3', '0.25', '=1+1']
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # what json.dumps writes for a finite float
    return json.dumps(value)


def csv_tables(document: Mapping[str, Any]) -> dict[str, Table]:
    """Every table of a JSON document, name -> rows (the header first), ``summary`` first.

    Raises :class:`ValueError` when two parts of the document would share a file name
    (``a.b_c`` and ``a_b.c``); no report of ours has such keys.
    """
    summary: Table = [list(SUMMARY_HEADER)]
    tables: dict[str, Table] = {SUMMARY: summary}
    owners: dict[str, str] = {SUMMARY: "the summary"}
    walked = (found for key, item in document.items() for found in _walk(item, (str(key),)))
    for path, value in walked:  # the document itself is never a table
        if not isinstance(value, list | dict):
            summary.append([".".join(path), cell(value)])
            continue
        for name, table in _tables_of(path, value):
            dotted = ".".join(path)
            if name in owners:
                raise ValueError(f"{dotted} and {owners[name]} would both be {name}.csv")
            owners[name] = dotted
            tables[name] = table
    return tables


def _walk(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Scalars, lists and table mappings with their paths, in document order."""
    if isinstance(value, dict) and not _is_mapping_table(value):
        for key, item in value.items():
            yield from _walk(item, (*path, str(key)))
    else:
        yield path, value


def _is_mapping_table(value: Mapping[str, Any]) -> bool:
    """A non-empty mapping whose values are all objects of scalars (``latency_by_method``)."""
    return bool(value) and all(
        isinstance(row, dict) and not any(isinstance(v, dict | list) for v in row.values())
        for row in value.values()
    )


def _table_name(path: Sequence[str]) -> str:
    parts = list(path[:-1]) if len(path) > 1 and path[-1] == _ROWS_KEY else list(path)
    return "_".join(snake_case(part) for part in parts)


def _tables_of(path: tuple[str, ...], value: list[Any] | dict[str, Any]) -> list[tuple[str, Table]]:
    """The table at ``path`` and its sub-tables (lists inside its rows)."""
    name = _table_name(path)
    if isinstance(value, dict):
        last = path[-1]
        taken = {key for row in value.values() for key in row}
        key_column = last.rsplit("by_", 1)[1] if "by_" in last else KEY_COLUMN
        while key_column in taken:  # a row has a field of that name: the key comes first
            key_column = f"{key_column}_"
        rows = [{key_column: key, **row} for key, row in value.items()]
        return [(name, _table(name, rows))]
    if not value or not all(isinstance(item, dict) for item in value):
        return [(name, [[VALUE_COLUMN], *([_scalar_cell(item)] for item in value)])]
    flat: list[dict[str, Any]] = []
    nested: dict[str, list[dict[str, Any]]] = {}
    for index, item in enumerate(value):
        row: dict[str, Any] = {}
        for key, field in _flatten(item):
            if isinstance(field, list):
                children = nested.setdefault(key, [])
                for child in field:
                    extra = child if isinstance(child, dict) else {VALUE_COLUMN: child}
                    children.append({ROW_COLUMN: index, **dict(_flatten(extra))})
            elif key in row:  # {"a_b": 1, "a": {"b": 2}}: no report of ours has such keys
                raise ValueError(f"{'.'.join(path)}[{index}] has two fields named {key}")
            else:
                row[key] = field
        flat.append(row)
    found = [(name, _table(name, flat))]
    for key, children in nested.items():
        sub = f"{name}_{key}"
        found.append((sub, _table(sub, children)))
    return found


def _flatten(row: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """A row's fields with nested objects flattened: ``("max_gap_gap", 8)``."""
    for key, value in row.items():
        name = f"{prefix}_{snake_case(str(key))}" if prefix else snake_case(str(key))
        if isinstance(value, dict):
            yield from _flatten(value, name)
        else:
            yield name, value


def _scalar_cell(value: Any) -> str:
    """An item of a list that is not all objects: a scalar, or its JSON text."""
    return json.dumps(value) if isinstance(value, list) else cell(value)


def _table(name: str, rows: Sequence[Mapping[str, Any]]) -> Table:
    """Header (snake_case, units, made unique) and rows; a key missing from a row is empty."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    header: list[str] = []
    for key in keys:
        column = _with_unit(name, snake_case(key))
        candidate, number = column, 2
        while candidate in header:
            candidate, number = f"{column}_{number}", number + 1
        header.append(candidate)
    return [header, *([cell(row.get(key)) for key in keys] for row in rows)]


def _with_unit(table: str, column: str) -> str:
    for table_pattern, columns in UNITS.items():
        if not fnmatch.fnmatchcase(table, table_pattern):
            continue
        for column_pattern, unit in columns.items():
            if fnmatch.fnmatchcase(column, column_pattern) and not column.endswith(f"_{unit}"):
                return f"{column}_{unit}"
    return column


def check_csv_directory(
    directory: str | os.PathLike[str] | None,
    others: Mapping[str, str | os.PathLike[str] | None] | None = None,
    inputs: Sequence[str] = (),
) -> None:
    """Refuse, before anything is computed, a ``--format csv`` output that cannot be written.

    ``directory`` must be given (not standard output), be missing with an existing writable
    parent, or be an empty directory; ``others`` (option -> path) must not lie inside it (the
    run would write them there). A directory inside one of the local input directories
    ``inputs`` gets one WARNING: the next run over that directory would read the CSV files.
    """
    if directory is None:
        raise InputError("--format csv needs --output DIR (it writes one CSV file per table)")
    path = os.fspath(directory)
    if path == STREAM_PATH:
        raise InputError("--format csv cannot write to standard output (--output -); give a DIR")
    shown = escape_text(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OutputError(f"cannot write the CSV tables to {shown}: not a directory")
    if os.path.isdir(path):
        try:
            entries = os.listdir(path)
        except OSError as exc:
            raise OutputError(f"cannot write the CSV tables to {shown}: {exc.strerror}") from None
        if entries:
            raise OutputError(f"cannot write the CSV tables to {shown}: it is not empty")
    parent = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(parent):
        raise OutputError(f"cannot write the CSV tables to {shown}: no such directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write the CSV tables to {shown}: permission denied")
    real = os.path.realpath(path)
    for label, other in (others or {}).items():
        if other is not None and os.path.commonpath([real, os.path.realpath(other)]) == real:
            raise OutputError(
                f"{label} {escape_text(os.fspath(other))} is inside --output {shown}, which must "
                "stay empty until the CSV tables are written; put it elsewhere"
            )
    for source in inputs:
        root = os.path.realpath(source)
        if os.path.isdir(source) and os.path.commonpath([root, real]) == root:
            log.warning(
                "--output %s is inside the input directory %s: the next run over it will read it",
                shown,
                escape_text(source),
            )


def write_csv_directory(tables: Mapping[str, Table], directory: str | os.PathLike[str]) -> None:
    """Write each table as ``NAME.csv`` into ``directory``, all or nothing.

    The files are written (each through :func:`~pipeline.reporting.outputs.atomic_text`) into a
    hidden sibling directory, renamed to ``directory`` at the end: onto a missing or empty
    directory (whose permissions it takes); a directory that is no longer empty is left as it is
    and the run fails (:class:`OutputError`, exit 2). Nothing is left behind on failure.
    """
    shown = escape_text(os.fspath(directory))
    target = os.path.realpath(directory)
    parent, base = os.path.split(target)
    scratch = os.path.join(parent, f".{base}.{secrets.token_hex(4)}.tmp")
    try:
        os.mkdir(scratch)  # 0o777 minus the umask, as a plain mkdir would
        temporaries.register(scratch)
        try:
            if os.path.isdir(target):
                os.chmod(scratch, stat.S_IMODE(os.stat(target).st_mode))
            for name, rows in tables.items():
                try:
                    with atomic_text(Path(scratch) / f"{name}.csv", what="CSV table") as handle:
                        csv.writer(handle, lineterminator=LINE_END).writerows(rows)
                except OutputError as exc:  # named by the hidden path: name the file instead
                    cause = exc.__cause__
                    reason = cause.strerror if isinstance(cause, OSError) else None
                    raise OutputError(
                        f"cannot write the CSV tables to {shown}: {name}.csv: {reason or exc}"
                    ) from exc
            os.replace(scratch, target)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        finally:
            temporaries.release(scratch)
    except OSError as exc:
        raise OutputError(f"cannot write the CSV tables to {shown}: {exc.strerror or exc}") from exc
    log.info("%d CSV files written to %s", len(tables), shown)
