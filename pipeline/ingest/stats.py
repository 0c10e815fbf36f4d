"""Mergeable partial aggregates of parsed log lines, and the exact statistics computed from them.

Why value counts: the report needs exact medians and percentiles, which a running sum cannot
give. Each partition therefore reduces its lines to counts keyed by the distinct values that
matter (``(method, status class, latency)``, ``(path without query, latency)``, user agent...).
Partials merge by adding counts, so memory grows with the number of distinct values, not with
the number of lines, and ``--mode process`` ships these small tables between processes instead
of parsed partitions. Mean and sample standard deviation are computed exactly from the merged
counts (a two-pass formula over the distinct values, numerically stable), and percentiles
replicate numpy's default ``linear`` method on the expanded data without expanding it.

>>> import numpy as np
>>> stats = latency_summary(np.array([1.0, 2.0, 10.0]), np.array([2, 1, 1]))
>>> stats["median"], stats["max"], stats["count"]
(1.5, 10.0, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.filters import Filters
from pipeline.ingest.parse import ParsedPartition
from pipeline.ingest.templates import template_paths
from pipeline.report import FailedInput

#: How many malformed lines the report quotes.
MALFORMED_SAMPLES: Final[int] = 5

#: Longest text of a quoted malformed line, in characters (a longer one is cut and ends with
#: an ellipsis), so that a 200 MB line cannot make a 200 MB report. Legal range: >= 2.
SAMPLE_CHARS: Final[int] = 300


@dataclass(frozen=True)
class MalformedSample:
    """One quoted malformed line: where it is and its (capped) text.

    ``line`` counts from 1, blank lines included: within the partial that found it until the
    partials of its file are merged (:func:`merge_partials` shifts it by the lines of the
    partials before it), then within its file, once :func:`merge_file` has set ``file``.

    >>> sample(7, "x" * 400).text[-3:], len(sample(7, "x" * 400).text)
    ('xx…', 300)
    """

    line: int
    text: str
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report's ``{"file", "line", "text"}``."""
        return {"file": self.file, "line": self.line, "text": self.text}


def sample(line: int, text: str) -> MalformedSample:
    """A sample at ``line`` with its text capped at :data:`SAMPLE_CHARS` characters."""
    if len(text) > SAMPLE_CHARS:
        text = text[: SAMPLE_CHARS - 1] + "…"
    return MalformedSample(line, text)

#: Percentiles reported besides the median, as (key, percent).
PERCENTILES: Final[tuple[tuple[str, int], ...]] = (("p90", 90), ("p95", 95), ("p99", 99))

#: The keys of every latency block, in report order.
LATENCY_KEYS: Final[tuple[str, ...]] = (
    "count",
    "mean",
    "median",
    "min",
    "max",
    "std",
    "p90",
    "p95",
    "p99",
)


def _counts(names: Sequence[str]) -> pd.Series:
    index: pd.Index = (
        pd.Index([], name=names[0])
        if len(names) == 1
        else pd.MultiIndex.from_arrays([[] for _ in names], names=list(names))
    )
    return pd.Series(np.zeros(0, dtype=np.int64), index=index, name="count")


#: Milliseconds per minute: the timeline is counted per UTC minute and regrouped into the
#: report's bucket at the end, so partials never depend on the (global) time range.
MINUTE_MS: Final[int] = 60_000


@dataclass(frozen=True)
class FileReport:
    """How one file was read: its format and line counts (for ``inputs.formats`` and warnings);
    ``extra_fields``: its format was detected in its task, and its lines carry fields after that
    format's last one (:class:`pipeline.ingest.detect.Detection`)."""

    path: str
    format: str
    parsed: int
    malformed: int
    filtered: int
    first_malformed: str | None
    extra_fields: bool = False


@dataclass
class Partial:
    """Counts of one partition, one file or a whole run; combine with :func:`merge_partials`.

    Attributes
    ----------
    parsed, malformed
        Line counts (blank lines are not counted).
    malformed_samples
        The first malformed lines, up to :data:`MALFORMED_SAMPLES`, with their line numbers.
    lines_seen
        Lines the partial covers, blank ones included (what :func:`merge_partials` shifts the
        line numbers of later partials by); 0 once the samples are anchored to their file.
    files
        Input files covered (failed ones included).
    failed
        Files that could not be read; they contribute nothing else.
    malformed_lines
        ``FILE<TAB>LINE`` records of every malformed line, only when ``--malformed-out`` asked.
    requests
        Count by ``(method, status)``.
    latency
        Count by ``(method, status_class, latency_ms)``; the status class is ``status // 100``.
    path_latency
        Count by ``(path, latency_ms)``, path with its query string removed and templated
        (:mod:`pipeline.ingest.templates`) unless raw paths were asked for; NaN latency for
        requests without one.
    path_errors
        Count by ``(path, status_class)`` of the 4xx and 5xx responses.
    user_agents
        Count by ``(user_agent,)``, the empty agent included.
    filtered
        Parsed lines removed by a filter (they are in no other count).
    bytes_sent
        Sum of the response sizes of the requests counted.
    time_min, time_max
        Earliest and latest request time (UTC ms), None when no request had a time.
    untimed
        Requests counted without a time.
    timeline
        Count by ``(minute, status_class)``; minute is UTC ms // 60000.
    timeline_latency
        Count by ``(minute, latency_ms)`` of the requests that have both.
    file_reports
        One entry per file read (set by :func:`merge_file`).
    """

    files: int = 0
    failed: list[FailedInput] = field(default_factory=list)
    parsed: int = 0
    malformed: int = 0
    malformed_samples: list[MalformedSample] = field(default_factory=list)
    lines_seen: int = 0
    malformed_lines: list[str] = field(default_factory=list)
    requests: pd.Series = field(default_factory=lambda: _counts(["method", "status"]))
    latency: pd.Series = field(
        default_factory=lambda: _counts(["method", "status_class", "latency_ms"])
    )
    path_latency: pd.Series = field(default_factory=lambda: _counts(["path", "latency_ms"]))
    path_errors: pd.Series = field(default_factory=lambda: _counts(["path", "status_class"]))
    user_agents: pd.Series = field(default_factory=lambda: _counts(["user_agent"]))
    filtered: int = 0
    bytes_sent: int = 0
    time_min: int | None = None
    time_max: int | None = None
    untimed: int = 0
    timeline: pd.Series = field(default_factory=lambda: _counts(["minute", "status_class"]))
    timeline_latency: pd.Series = field(default_factory=lambda: _counts(["minute", "latency_ms"]))
    file_reports: list[FileReport] = field(default_factory=list)


def aggregate_partition(
    parsed: ParsedPartition,
    source: str,
    *,
    keep_malformed: bool = False,
    filters: Filters | None = None,
    raw_paths: bool = False,
) -> Partial:
    """Reduce one parsed partition to its counts (the per-partition half of the job).

    Parameters
    ----------
    parsed
        Output of :func:`pipeline.ingest.parse.parse_text`.
    source
        The file the partition came from, used in ``malformed_lines`` records.
    keep_malformed
        Keep every malformed line (for ``--malformed-out``), not only the first samples.
    filters
        Which parsed lines count; the others are only counted as filtered.
    raw_paths
        Group paths as written instead of by template.
    """
    frame = parsed.frame
    malformed = parsed.malformed_array
    base = _strip_query(pa.array(frame["path"], type=pa.large_string()))
    filtered = 0
    if filters is not None and filters.active:
        keep = filters.keep(frame, base)
        filtered = int(len(frame) - keep.sum())
        if filtered:
            frame = frame[keep]
            base = base.filter(pa.array(keep))
    method = frame["method"]
    status_class = (frame["status"] // 100).astype(np.int16).rename("status_class")
    grouped = base if raw_paths else template_paths(base)
    # .array: positional, not aligned by label (a filter leaves gaps in frame.index)
    path = pd.Series(grouped.to_pandas().array, index=frame.index, name="path")
    errors = (status_class >= 4).to_numpy()
    first = malformed.slice(0, MALFORMED_SAMPLES).to_pylist()
    samples = [
        sample(int(index) + 1, str(line))
        for index, line in zip(parsed.malformed_index[: len(first)], first, strict=True)
    ]
    records = [f"{source}\t{line}" for line in malformed.to_pylist()] if keep_malformed else []
    times = frame["time"]
    timed = times.notna()
    millis = times[timed].to_numpy(dtype="datetime64[ms]").view(np.int64)
    minute = pd.Series(millis // MINUTE_MS, index=times.index[timed], name="minute")
    timeline, timeline_latency = _timeline(frame, timed, minute, status_class)
    return Partial(
        parsed=len(frame),
        malformed=len(malformed),
        malformed_samples=samples,
        lines_seen=parsed.line_count,
        malformed_lines=records,
        requests=_plain(frame.groupby([method, frame["status"]], sort=False, observed=True).size()),
        latency=_plain(
            frame.groupby(
                [method, status_class, frame["latency_ms"]], sort=False, observed=True
            ).size()
        ),
        path_latency=frame.groupby([path, frame["latency_ms"]], sort=False, dropna=False)
        .size()
        .rename("count"),
        path_errors=frame[errors]
        .groupby([path[errors], status_class[errors]], sort=False)
        .size()
        .rename("count"),
        user_agents=frame.groupby(frame["user_agent"], sort=False).size().rename("count"),
        filtered=filtered,
        bytes_sent=int(frame["bytes"].sum()),
        time_min=int(millis.min()) if len(millis) else None,
        time_max=int(millis.max()) if len(millis) else None,
        untimed=int((~timed).sum()),
        timeline=timeline,
        timeline_latency=timeline_latency,
    )


def _timeline(
    frame: pd.DataFrame, timed: pd.Series, minute: pd.Series, status_class: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Counts by ``(minute, status_class)`` and ``(minute, latency_ms)`` of the timed rows."""
    if not timed.any():
        return _counts(["minute", "status_class"]), _counts(["minute", "latency_ms"])
    if not timed.all():
        frame, status_class = frame[timed], status_class[timed]
    by_class = frame.groupby([minute, status_class], sort=False).size().rename("count")
    by_latency = frame.groupby([minute, frame["latency_ms"]], sort=False).size().rename("count")
    return by_class, by_latency


def merge_partials(partials: Sequence[Partial]) -> Partial:
    """Add up partials; samples and malformed records keep input order.

    >>> merge_partials([Partial(parsed=2), Partial(parsed=3, files=1)]).parsed
    5
    """
    if not partials:
        return Partial()
    if len(partials) == 1:
        return partials[0]
    samples: list[MalformedSample] = []
    records: list[str] = []
    failed: list[FailedInput] = []
    before = 0  # lines of the partials before this one (samples not yet anchored to a file)
    for part in partials:
        for found in part.malformed_samples[: MALFORMED_SAMPLES - len(samples)]:
            shifted = found.file is None and before
            samples.append(replace(found, line=found.line + before) if shifted else found)
        before += part.lines_seen
        records.extend(part.malformed_lines)
        failed.extend(part.failed)
    return Partial(
        files=sum(part.files for part in partials),
        failed=failed,
        parsed=sum(part.parsed for part in partials),
        malformed=sum(part.malformed for part in partials),
        malformed_samples=samples,
        lines_seen=before,
        malformed_lines=records,
        requests=_add([part.requests for part in partials]),
        latency=_add([part.latency for part in partials]),
        path_latency=_add([part.path_latency for part in partials]),
        path_errors=_add([part.path_errors for part in partials]),
        user_agents=_add([part.user_agents for part in partials]),
        filtered=sum(part.filtered for part in partials),
        bytes_sent=sum(part.bytes_sent for part in partials),
        time_min=min((p.time_min for p in partials if p.time_min is not None), default=None),
        time_max=max((p.time_max for p in partials if p.time_max is not None), default=None),
        untimed=sum(part.untimed for part in partials),
        timeline=_add([part.timeline for part in partials]),
        timeline_latency=_add([part.timeline_latency for part in partials]),
        file_reports=[report for part in partials for report in part.file_reports],
    )


def merge_file(partials: Sequence[Partial], path: str, format_name: str = "default") -> Partial:
    """Combine the partitions of one file; a file with any failed partition contributes nothing.

    A non-empty file in which no line matches its format is listed as failed too, but its lines
    still count (as malformed), so none disappears.

    >>> bad = Partial(failed=[FailedInput("a.gz", "corrupt")])
    >>> merged = merge_file([Partial(parsed=4), bad], "a.gz")
    >>> (merged.files, merged.parsed, [f.path for f in merged.failed])
    (1, 0, ['a.gz'])
    >>> merged = merge_file([Partial(malformed=2, malformed_samples=[sample(1, "x")])], "b.log")
    >>> merged.failed[0].error, merged.malformed_samples[0].file
    ("no line matches log format 'default'; first line: 'x'", 'b.log')
    """
    failures = [failure for part in partials for failure in part.failed]
    if failures:
        return Partial(files=1, failed=[failures[0]])
    merged = merge_partials(partials)
    first = merged.malformed_samples[0].text if merged.malformed_samples else None
    report = FileReport(path, format_name, merged.parsed, merged.malformed, merged.filtered, first)
    failed: list[FailedInput] = []
    if merged.parsed + merged.filtered == 0 and merged.malformed:
        shown = first if first is None or len(first) <= 120 else first[:120] + "..."
        failed = [
            FailedInput(path, f"no line matches log format {format_name!r}; first line: {shown!r}")
        ]
    anchored = [replace(found, file=path) for found in merged.malformed_samples]
    # a copy: the inputs are other tasks' results
    return replace(
        merged,
        files=1,
        failed=failed,
        file_reports=[report],
        malformed_samples=anchored,
        lines_seen=0,
    )


def _plain(counts: pd.Series) -> pd.Series:
    """Counts whose categorical ``method`` level is turned into plain strings (cheap: the levels
    hold distinct values only), so partials with different categories concatenate cleanly."""
    index = counts.index
    assert isinstance(index, pd.MultiIndex)
    methods: Any = index.levels[0].astype(str)
    plain: pd.MultiIndex = index.set_levels(methods, level=0, verify_integrity=False)
    out: pd.Series = pd.Series(counts.to_numpy(), index=plain, name="count")
    return out


def _add(tables: Sequence[pd.Series]) -> pd.Series:
    nonempty = [table for table in tables if len(table)]
    if not nonempty:
        return tables[0]
    if len(nonempty) == 1:
        return nonempty[0]
    combined = pd.concat(nonempty)
    levels = list(range(combined.index.nlevels))
    summed: pd.Series = combined.groupby(level=levels, sort=False, dropna=False).sum()
    return summed


def _strip_query(paths: pa.Array) -> pa.Array:
    """Paths without their query string (from the first ``?``); ``?x`` becomes ``""``."""
    return pc.list_element(pc.split_pattern(paths, "?", max_splits=1), 0)


def latency_summary(values: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Exact statistics of the multiset where ``values[i]`` occurs ``counts[i]`` times.

    ``median`` and the percentiles equal ``numpy.median`` / ``numpy.percentile`` (``linear``) of
    the expanded data; ``std`` has ``ddof=1`` and is None below 2 values; everything but
    ``count`` is None when there are no values.

    >>> latency_summary(np.array([5.0]), np.array([1]))["std"] is None
    True
    """
    values = np.asarray(values, dtype=np.float64)
    keep = (np.asarray(counts) > 0) & ~np.isnan(values)  # NaN: a request without a latency
    values = values[keep]
    counts = np.asarray(counts, dtype=np.int64)[keep]
    total = int(counts.sum())
    stats: dict[str, Any] = dict.fromkeys(LATENCY_KEYS)
    stats["count"] = total
    if total == 0:
        return stats
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    cumulative = np.cumsum(counts)
    mean = float(np.dot(values, counts) / total)
    stats["mean"] = mean
    stats["min"] = float(values[0])
    stats["max"] = float(values[-1])
    if total > 1:
        deviation = values - mean
        stats["std"] = float(np.sqrt(np.dot(deviation * deviation, counts) / (total - 1)))

    def at(rank: int) -> np.float64:
        found: np.float64 = values[int(np.searchsorted(cumulative, rank, side="right"))]
        return found

    middle = total // 2
    median = at(middle) if total % 2 else (at(middle - 1) + at(middle)) / np.float64(2)
    stats["median"] = float(median)
    for key, percent in PERCENTILES:
        stats[key] = _percentile(at, total, percent)
    return stats


def _percentile(at: Any, total: int, percent: int) -> float:
    """numpy's ``linear`` percentile, operation for operation, from a rank lookup."""
    virtual = np.float64(total - 1) * (np.float64(percent) / np.float64(100))
    below = np.floor(virtual)
    gamma = virtual - below
    lower = int(below)
    if virtual >= total - 1:
        return float(at(total - 1))
    a, b = at(lower), at(lower + 1)
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)
