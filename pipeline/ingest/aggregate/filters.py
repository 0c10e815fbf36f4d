"""``--since``, ``--until``, ``--status``, ``--method``, ``--path-regex``: which parsed lines count
(and ``--anonymize-ip``, how their client addresses are counted).

Filters apply after parsing, to each partition's typed frame, with vectorised masks. A line a
filter removes is counted in ``lines.filtered`` and appears in no statistic. ``anonymize_ip``
rides along because it has the same reach: it travels with every block task, in every mode, to
the first step after the parse (:func:`pipeline.ingest.aggregate.partial.aggregate_partition`),
which masks the ``client`` column before anything is counted and keeps no malformed line text.
All values are validated up front by :func:`build_filters` (an unparseable date, an unknown
status class, an invalid RE2 pattern raise :class:`~pipeline.errors.InputError` before any task
runs).

>>> filters = build_filters(status="5xx,404", method="get")
>>> sorted(filters.classes), sorted(filters.statuses), sorted(filters.methods)
([5], [404], ['GET'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import InputError


@dataclass(frozen=True)
class Filters:
    """Validated filters (small and picklable; they travel with every block task).

    ``since_ms`` is inclusive and ``until_ms`` exclusive, in UTC ms since the epoch.
    """

    since_ms: int | None = None
    until_ms: int | None = None
    statuses: frozenset[int] = frozenset()
    classes: frozenset[int] = frozenset()
    methods: frozenset[str] = frozenset()
    path_regex: str | None = None
    anonymize_ip: bool = False

    @property
    def active(self) -> bool:
        """Some line may be filtered out (``anonymize_ip`` filters none)."""
        return replace(self, anonymize_ip=False) != Filters()

    @property
    def by_time(self) -> bool:
        return self.since_ms is not None or self.until_ms is not None

    def keep(self, frame: pd.DataFrame, paths: pa.Array) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Mask of the rows that pass; ``paths`` are the paths without their query string."""
        keep = np.ones(len(frame), dtype=bool)
        if self.by_time:
            times = frame["time"]
            has_time = times.notna().to_numpy()
            millis = np.where(has_time, times.to_numpy(dtype="datetime64[ms]").view(np.int64), 0)
            keep &= has_time
            if self.since_ms is not None:
                keep &= millis >= self.since_ms
            if self.until_ms is not None:
                keep &= millis < self.until_ms
        if self.statuses or self.classes:
            status = frame["status"].to_numpy()
            keep &= np.isin(status, list(self.statuses)) | np.isin(
                status // 100, list(self.classes)
            )
        if self.methods:
            keep &= frame["method"].astype(str).str.upper().isin(self.methods).to_numpy()
        if self.path_regex is not None:
            found = pc.match_substring_regex(paths, pattern=self.path_regex)
            keep &= np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
        return keep


def build_filters(
    *,
    since: str | None = None,
    until: str | None = None,
    status: str | None = None,
    method: str | None = None,
    path_regex: str | None = None,
    anonymize_ip: bool = False,
) -> Filters:
    """Validate the CLI's filter strings; raise InputError with one line on a bad value."""
    since_ms = _instant(since, "--since") if since else None
    until_ms = _instant(until, "--until") if until else None
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise InputError(f"--since {since} is not before --until {until}: no request could count")
    statuses: set[int] = set()
    classes: set[int] = set()
    for item in _items(status):
        if re.fullmatch(r"[1-5]xx", item, flags=re.IGNORECASE):
            classes.add(int(item[0]))
        elif re.fullmatch(r"[1-5][0-9][0-9]", item):
            statuses.add(int(item))
        else:
            raise InputError(
                f"--status: {item!r} is neither a status code (100-599) nor a class (1xx-5xx)"
            )
    methods = {item.upper() for item in _items(method)}
    for item in methods:
        if not re.fullmatch(r"[A-Z]+|-", item):
            raise InputError(f"--method: {item!r} is not a method name (letters, or -)")
    if path_regex is not None:
        try:
            pc.match_substring_regex(pa.array([""]), pattern=path_regex)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            message = str(exc).splitlines()[0]
            raise InputError(
                f"--path-regex: invalid RE2 pattern {path_regex!r}: {message}"
            ) from exc
    return Filters(
        since_ms=since_ms,
        until_ms=until_ms,
        statuses=frozenset(statuses),
        classes=frozenset(classes),
        methods=frozenset(methods),
        path_regex=path_regex,
        anonymize_ip=anonymize_ip,
    )


def _items(text: str | None) -> list[str]:
    if text is None:
        return []
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise InputError(f"empty item in the list {text!r}")
    return items


def _instant(text: str, option: str) -> int:
    """ISO 8601 date or date-time -> UTC ms; no offset means UTC, a date alone means 00:00.

    >>> _instant("2026-11-28", "--since"), _instant("2026-11-28T01:00:00+01:00", "--since")
    (1795824000000, 1795824000000)
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option}: {text!r} is not an ISO 8601 date or date-time (e.g. 2026-11-28 or "
            "2026-11-28T13:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
