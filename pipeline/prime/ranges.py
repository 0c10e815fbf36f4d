"""Loading and validating the ranges file, before any task is built.

Accepted shapes: a JSON list, or an object whose ``"ranges"`` key holds the list. Each item is
``{"start": a, "end": b}`` with an optional ``"name"``, or a two-element list ``[a, b]``; bounds are
inclusive. Integers are required; a float with an integral value is accepted up to 2**53 (beyond
that a float is not exactly the integer the user wrote); an object may not name a key twice.
Every problem raises
:class:`pipeline.errors.InputError` with one line naming the item index and what is wrong.

>>> [r.as_tuple() for r in parse_ranges('[[1, 10], {"start": 5, "end": 2e1, "name": "b"}]')]
[(None, 1, 10), ('b', 5, 20)]
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipeline.errors import InputError
from pipeline.prime.tuning import MAX_END

#: Largest float accepted as an integer: every integer up to 2**53 is exactly representable.
MAX_EXACT_FLOAT: Final[int] = 2**53
_KEYS: Final[frozenset[str]] = frozenset({"start", "end", "name"})


@dataclass(frozen=True)
class PrimeRange:
    """One inclusive range ``[start, end]`` of the input, in input order."""

    start: int
    end: int
    name: str | None = None

    def as_tuple(self) -> tuple[str | None, int, int]:
        """``(name, start, end)``, handy in tests and doctests."""
        return (self.name, self.start, self.end)


#: Largest ranges file read, in bytes. A real one is a few lines; the cap keeps ``--path
#: /dev/zero`` (or a wrong multi-GB file) from filling memory before JSON parsing even starts.
#: Parsing needs several times the file size in memory. Legal range: >= 1 KiB.
MAX_RANGES_FILE_BYTES: Final[int] = 8 * 2**20


def load_ranges(path: str) -> tuple[PrimeRange, ...]:
    """Read and validate a ranges file; raise :class:`InputError` naming the problem.

    Besides the format rules, the file may hold at most :data:`MAX_RANGES_FILE_BYTES` bytes,
    and JSON nested too deeply for the parser, or an integer of more digits than Python converts
    (4,300 by default), is an invalid file, not a crash.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_RANGES_FILE_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"ranges file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"ranges path is a directory, not a file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read ranges file {path}: {exc}") from None
    if len(data) > MAX_RANGES_FILE_BYTES:
        raise InputError(
            f"ranges file {path} is larger than {MAX_RANGES_FILE_BYTES} bytes; "
            "a ranges file lists a few ranges"
        )
    try:
        return parse_ranges(text, source=path)
    except RecursionError:
        raise InputError(f"{path}: invalid JSON: nested too deeply") from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        limit = sys.get_int_max_str_digits()
        reason = f"a number has more than {limit} digits" if "digits" in str(exc) else str(exc)
        raise InputError(f"{path}: invalid JSON: {reason}") from None


class _DuplicateKey(Exception):
    """An object of the ranges file names a key twice (JSON would keep the last silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` of the ranges file: a dict, or :class:`_DuplicateKey`."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def parse_ranges(text: str, *, source: str = "<ranges>") -> tuple[PrimeRange, ...]:
    """Validate the text of a ranges file (see the module docstring for the format)."""
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except _DuplicateKey as exc:
        raise InputError(f"{source}: an object has the key {exc.args[0]!r} twice") from None
    if isinstance(document, dict):
        extra = sorted(set(document) - {"ranges"})
        if "ranges" not in document:
            raise InputError(f'{source}: an object must have a "ranges" key holding the list')
        if extra:
            raise InputError(f"{source}: unknown top-level key(s): {', '.join(extra)}")
        document = document["ranges"]
    if not isinstance(document, list):
        raise InputError(
            f'{source}: expected a list of ranges or {{"ranges": [...]}}, got {_kind(document)}'
        )
    if not document:
        raise InputError(f"{source}: the list of ranges is empty")
    seen: dict[Hashable, PrimeRange] = {}  # an item repeated verbatim is checked once
    parsed = []
    for index, item in enumerate(document):
        key = _item_key(item)
        try:
            found = seen.get(key)
        except TypeError:  # an unhashable part (a nested list or object): not remembered
            key = found = None
        if found is None:
            found = _parse_item(item, index, source)
            if key is not None:
                seen[key] = found
        parsed.append(found)
    return tuple(parsed)


def _item_key(item: Any) -> Hashable:
    """A key equal for two items only when they are the same JSON value with the same types
    (``1``, ``1.0`` and ``true`` are equal in Python but not here); None for other items.

    Identical items then share one validated :class:`PrimeRange` (a file may repeat one range
    10,000 times); a bad item is never remembered, so its error names its own index. The key
    may be unhashable (an item holding a list): the caller then does not remember it.

    >>> _item_key([0, 1e9]) == _item_key([0, 1e9]), _item_key([1, 2]) == _item_key([True, 2])
    (True, False)
    """
    if type(item) is list:
        return (*item, *map(type, item))
    if type(item) is dict:
        return (*item.items(), *map(type, item.values()))
    return None


def parse_range_options(values: Sequence[str]) -> tuple[PrimeRange, ...]:
    """Validate ``--range START:END`` values with the same rules as the file's bounds.

    Each bound is read as a JSON number, so ``1e10`` is accepted (an integral float up to 2**53)
    and ``1.5`` or ``abc`` are not.

    >>> [r.as_tuple() for r in parse_range_options(["0:100", "1e9:1.5e9"])]
    [(None, 0, 100), (None, 1000000000, 1500000000)]
    """
    parsed = []
    for index, text in enumerate(values):
        parts = text.split(":")
        if len(parts) != 2:
            raise InputError(f"--range {text!r}: expected START:END, e.g. 0:1e6")
        bounds = [_number(part.strip(), text) for part in parts]
        parsed.append(_parse_item(bounds, index, f"--range {text!r}", prefix=False))
    return tuple(parsed)


def _number(part: str, text: str) -> Any:
    """A bound of ``--range`` as JSON reads it (int or float); strings stay strings (rejected)."""
    try:
        return json.loads(part)
    except ValueError:
        return part


def _parse_item(item: Any, index: int, source: str, *, prefix: bool = True) -> PrimeRange:
    if type(item) is list and len(item) == 2:  # the common [start, end] of two valid ints, fast
        start, end = item
        if type(start) is int and type(end) is int and 0 <= start <= end <= MAX_END:
            return PrimeRange(start, end)
    where = f"{source}: range {index}" if prefix else source
    name: str | None = None
    if isinstance(item, dict):
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}")
        for key in ("start", "end"):
            if key not in item:
                raise InputError(f'{where}: missing key "{key}"')
        if "name" in item and item["name"] is not None and not isinstance(item["name"], str):
            raise InputError(f"{where}: name must be a string, got {_kind(item['name'])}")
        name = item.get("name")
        raw_start, raw_end = item["start"], item["end"]
    elif isinstance(item, list):
        if len(item) != 2:
            raise InputError(f"{where}: a list item must be [start, end], got {len(item)} values")
        raw_start, raw_end = item
    else:
        raise InputError(f"{where}: expected {{'start': a, 'end': b}} or [a, b], got {_kind(item)}")
    start = _integer(raw_start, f"{where}: start")
    end = _integer(raw_end, f"{where}: end")
    if start > end:
        raise InputError(f"{where}: start {start} is greater than end {end}")
    if end > MAX_END:
        raise InputError(f"{where}: end {end} exceeds the supported limit {MAX_END} (10^15)")
    return PrimeRange(start=start, end=end, name=name)


def _integer(value: Any, what: str) -> int:
    """A non-negative integer from a JSON number; integral floats only up to 2**53."""
    if isinstance(value, bool) or value is None or isinstance(value, str | list | dict):
        raise InputError(f"{what} must be an integer, got {_kind(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{what} must be an integer, got {value!r}")
        if not value.is_integer():
            raise InputError(f"{what} must be an integer, got the fraction {value!r}")
        if abs(value) > MAX_EXACT_FLOAT:
            raise InputError(
                f"{what}: float {value!r} is above 2^53 and not exact; write it as an integer"
            )
        value = int(value)
    if not isinstance(value, int):
        raise InputError(f"{what} must be an integer, got {_kind(value)}")
    if value < 0:
        raise InputError(f"{what} must be >= 0, got {value}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, float | int):
        return f"number {value!r}"
    return {"list": "a list", "dict": "an object"}.get(type(value).__name__, type(value).__name__)
