"""Where an incremental run stopped in each file, and which file a cursor now names.

A :class:`Cursor` is saved per input file by ``ingest --state FILE``. It says which file it is
(its device and inode, and a fingerprint of its first bytes: BLAKE2b of the first
``min(HEAD_BYTES, size)`` bytes together with how many bytes were hashed), how far the file was
read (``offset``: the end of the last complete line counted, in the file's text, so decompressed
for a compressed file), a fingerprint of the :data:`TAIL_BYTES` just before that offset, and the
log format in force there (for W3C, the ``#Fields`` directives live in the format's options:
:mod:`pipeline.ingest.parsing.w3c_state`), so a resumed tail is never detected again.

A later run finds, for every input file, the cursor it continues (:class:`HeadIndex`, then
:func:`~pipeline.ingest.state.plan.plan_incremental`):

* the file's first ``head_length`` bytes must hash to the cursor's head, and its text must
  still reach ``offset`` with the same bytes just before it (:func:`tail_matches`); otherwise
  the file was truncated (``copytruncate``) or rewritten, and it is read from the start;
* a cursor goes to one file at most. A file at the cursor's device and inode is preferred, so
  after ``access.log`` is renamed ``access.log.1`` and a new ``access.log`` created, the cursor
  follows the renamed file; a file compressed later (``access.log.2.gz``, another inode) is
  found by its decompressed head.

Cursors whose file is gone are kept for :data:`RETENTION_RUNS` runs (a WARNING names the file
the first time it is missed), then dropped.

>>> head = head_fingerprint(b"GET /a 200\\n")
>>> head.length, len(head.digest)
(11, 64)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from pipeline.errors import StateError
from pipeline.ingest.formats.presets import LogFormat

#: Bytes of a file's start hashed to recognise it: long enough that two logs with timestamps
#: never share them, short enough to read in one small read. Legal range: >= 1. A file shorter
#: than this is hashed whole and re-hashed once it grows past it.
HEAD_BYTES: Final[int] = 4096

#: Bytes just before a cursor's offset that must be unchanged for a file to be read on from
#: there (a file rewritten with the same first line is read again from its start).
TAIL_BYTES: Final[int] = 4096

#: Runs a cursor is kept while no input matches it. logrotate's ``delaycompress`` keeps a
#: rotated file uncompressed for one cycle and compresses it the next; a file only goes missing
#: between two runs when its rotated name falls outside ``--path`` or a rotation is in progress,
#: so a handful of runs is enough; more costs one small entry per file and run. Legal: >= 1.
RETENTION_RUNS: Final[int] = 10


@dataclass(frozen=True)
class Fingerprint:
    """BLAKE2b-256 (hex) of ``length`` bytes."""

    digest: str
    length: int


def head_fingerprint(head: bytes) -> Fingerprint:
    """The fingerprint of a file's first bytes (at most :data:`HEAD_BYTES` are hashed)."""
    data = head[:HEAD_BYTES]
    return Fingerprint(hashlib.blake2b(data, digest_size=32).hexdigest(), len(data))


def tail_fingerprint(before: bytes) -> Fingerprint:
    """The fingerprint of the bytes just before an offset (the last :data:`TAIL_BYTES`)."""
    data = before[-TAIL_BYTES:] if before else b""
    return Fingerprint(hashlib.blake2b(data, digest_size=32).hexdigest(), len(data))


@dataclass(frozen=True)
class Cursor:
    """How far one file was read (see the module docstring).

    ``offset`` is -1 for a compressed file read whole: it is recognised by its identity, size
    and time (a compressed log does not grow), its text length was never measured. ``size`` and
    ``mtime_ns`` are the file's size on disk and time when it was read; ``missed``: consecutive
    runs in which no input matched it.
    """

    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    compressed: bool
    head: Fingerprint
    offset: int
    tail: Fingerprint
    format: LogFormat | None
    missed: int = 0

    @property
    def identity(self) -> tuple[int, int]:
        return (self.device, self.inode)

    def to_json(self) -> dict[str, Any]:
        """A JSON object (the state file holds a list of them)."""
        return {
            "path": self.path,
            "device": self.device,
            "inode": self.inode,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "compressed": self.compressed,
            "head": [self.head.digest, self.head.length],
            "offset": self.offset,
            "tail": [self.tail.digest, self.tail.length],
            "format": None if self.format is None else format_to_json(self.format),
            "missed": self.missed,
        }


def cursor_from_json(item: Any) -> Cursor:
    """The cursor of :meth:`Cursor.to_json`; :class:`StateError` for anything else."""
    try:
        head, tail = item["head"], item["tail"]
        cursor = Cursor(
            path=_typed(item["path"], str),
            device=_typed(item["device"], int),
            inode=_typed(item["inode"], int),
            size=_typed(item["size"], int),
            mtime_ns=_typed(item["mtime_ns"], int),
            compressed=_typed(item["compressed"], bool),
            head=Fingerprint(_typed(head[0], str), _typed(head[1], int)),
            offset=_typed(item["offset"], int),
            tail=Fingerprint(_typed(tail[0], str), _typed(tail[1], int)),
            format=None if item["format"] is None else format_from_json(item["format"]),
            missed=_typed(item["missed"], int),
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise StateError(f"a cursor is malformed ({type(exc).__name__}: {exc})") from exc
    return cursor


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def format_to_json(fmt: LogFormat) -> dict[str, Any]:
    """A log format's fields as JSON (tuples become lists)."""
    return {
        "name": fmt.name,
        "kind": fmt.kind,
        "pattern": fmt.pattern,
        "roles": list(fmt.roles),
        "json_fields": [list(item) for item in fmt.json_fields],
        "layout": [list(item) for item in fmt.layout],
        "extras": fmt.extras,
        "options": [list(item) for item in fmt.options],
        "wrapper": fmt.wrapper,
    }


def format_from_json(item: Any) -> LogFormat:
    """The format of :func:`format_to_json`; TypeError/KeyError/ValueError when malformed."""

    def strings(values: Any, width: int, nullable_last: bool = False) -> tuple[Any, ...]:
        rows = []
        for row in values:
            if not isinstance(row, list) or len(row) != width:
                raise ValueError(f"expected rows of {width}")
            for index, value in enumerate(row):
                allowed = value is None and nullable_last and index == width - 1
                if not allowed and not isinstance(value, str):
                    raise TypeError("expected strings")
            rows.append(tuple(row))
        return tuple(rows)

    roles = item["roles"]
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise TypeError("roles must be strings")
    return LogFormat(
        name=_typed(item["name"], str),
        kind=_typed(item["kind"], str),
        pattern=_typed(item["pattern"], str),
        roles=tuple(roles),
        json_fields=strings(item["json_fields"], 3, nullable_last=True),
        layout=tuple(_layout_row(row) for row in item["layout"]),
        extras=_typed(item["extras"], bool),
        options=strings(item["options"], 2),
        wrapper=_typed(item["wrapper"], str),
    )


def _layout_row(row: Any) -> tuple[str, str, str, bool]:
    """One ``LogFormat.layout`` entry: three strings and whether the field has escapes."""
    if not isinstance(row, list) or len(row) != 4:
        raise ValueError("expected layout rows of 4")
    kind, text, stops, escaped = row
    return (_typed(kind, str), _typed(text, str), _typed(stops, str), _typed(escaped, bool))


@dataclass(frozen=True)
class Seen:
    """What the client saw of one input file: its identity, size and time on disk, whether it
    is compressed, and its first :data:`HEAD_BYTES` bytes of text."""

    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    compressed: bool
    head: bytes

    @property
    def identity(self) -> tuple[int, int]:
        return (self.device, self.inode)


class HeadIndex:
    """The cursors by the length and digest of their head, so that matching a file costs one
    hash per distinct head length (one for every file past 4 KiB), not one per cursor.

    >>> head, tail = head_fingerprint(b"ab"), tail_fingerprint(b"ab")
    >>> cursor = Cursor("a", 1, 2, 3, 4, False, head, 2, tail, None)
    >>> seen = Seen("b", 1, 9, 5, 6, False, b"abcde")
    >>> HeadIndex([cursor]).candidates(seen)
    [0]
    """

    def __init__(self, cursors: Sequence[Cursor]) -> None:
        self.cursors = cursors
        self._by_length: dict[int, dict[str, list[int]]] = {}
        for index, cursor in enumerate(cursors):
            by_digest = self._by_length.setdefault(cursor.head.length, {})
            by_digest.setdefault(cursor.head.digest, []).append(index)

    def candidates(self, seen: Seen) -> list[int]:
        """Indexes of the cursors whose head matches ``seen``: the one at its device and inode
        first, then the others by decreasing offset (the longest counted text first)."""
        found: list[int] = []
        for length, by_digest in self._by_length.items():
            if length <= len(seen.head):
                found.extend(by_digest.get(head_fingerprint(seen.head[:length]).digest, ()))
        cursors = self.cursors
        return sorted(
            found,
            key=lambda i: (cursors[i].identity != seen.identity, -max(cursors[i].offset, 0), i),
        )


def age_unmatched(
    cursors: Sequence[Cursor], matched: set[int], warn: Callable[[str], None]
) -> list[Cursor]:
    """The cursors no input matched this run, one run older; those missed more than
    :data:`RETENTION_RUNS` runs are dropped. ``warn(path)`` is called for a cursor missed for
    the first time."""
    kept = []
    for index, cursor in enumerate(cursors):
        if index in matched:
            continue
        if cursor.missed == 0:
            warn(cursor.path)
        if cursor.missed + 1 <= RETENTION_RUNS:
            kept.append(replace(cursor, missed=cursor.missed + 1))
    return kept


def formats_by_name(cursors: Sequence[Cursor]) -> Mapping[str, LogFormat]:
    """The formats the cursors hold, by name (the last one of a name wins)."""
    return {cursor.format.name: cursor.format for cursor in cursors if cursor.format is not None}
