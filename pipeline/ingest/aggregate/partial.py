"""Mergeable partial aggregates of parsed log lines, bounded by the report, not by the input.

Each partition reduces its lines to small tables that merge by adding, so ``--mode process`` and
``distributed`` ship summaries between processes, never parsed partitions. What is kept, and why
its size does not grow with the input (the caps are in :mod:`pipeline.ingest.aggregate.limits`):

* counts by ``(method, status)``: exact, as many rows as distinct methods and statuses;
* latency by ``(method, status class)``: :mod:`pipeline.ingest.aggregate.distribution`, exact value
counts
  up to a cap per group, then a log-bucket sketch with exact moments;
* paths, error paths and user agents: :mod:`pipeline.ingest.aggregate.topk`, at most a fixed number
of
  names each, with a proven error bound per name; latency per kept path as a distribution;
* the timeline: counts per time slot and status class, latency per slot as a distribution; the
  slot starts at one minute and grows (:data:`SLOT_MINUTES`) so a partial never holds more than
  :data:`~pipeline.ingest.aggregate.limits.TIMELINE_SLOTS` slots, whatever its time span.

The report (:mod:`pipeline.ingest.report.result`) says which figures are exact and bounds the
others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.engine.memory import releasing_memory
from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.agents import AgentPartial, merge_agents, summarize_agents
from pipeline.ingest.aggregate.clients import coded_panel
from pipeline.ingest.aggregate.distribution import (
    Distributions,
    empty,
    from_codes,
    keep_groups,
    merge,
    rekey,
)
from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.panels import Panels, merge_panels, panels_of
from pipeline.ingest.aggregate.templates import template_paths
from pipeline.ingest.aggregate.topk import (
    CappedCounts,
    capped_counts,
    empty_capped,
    merge_capped,
)
from pipeline.ingest.aggregate.windows import Refined, Request, Rows, merge_refined, refine_rows
from pipeline.ingest.parsing.addresses import anonymized
from pipeline.ingest.parsing.parse import ParsedPartition
from pipeline.reporting.text import FailedInput

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


def exact_sum(sizes: np.ndarray[Any, np.dtype[np.int64]]) -> int:
    """The exact sum of sizes from 0 to 2**50 (above :data:`~pipeline.ingest.parsing.convert.
    MAX_BYTES`), as a Python int: a plain int64 sum could wrap past 2**63 after 8,192 such sizes.

    Each size is split into its high and low 25 bits; either half sums exactly in int64 for up
    to 2**38 lines, far more than a partition holds.

    >>> import numpy as np
    >>> exact_sum(np.full(10_000, 10**15, dtype=np.int64)) == 10**19
    True
    """
    high, low = sizes >> 25, sizes & (2**25 - 1)
    return int(high.sum(dtype=np.int64)) * 2**25 + int(low.sum(dtype=np.int64))


def sample(line: int, text: str) -> MalformedSample:
    """A sample at ``line`` with its text capped at :data:`SAMPLE_CHARS` characters."""
    if len(text) > SAMPLE_CHARS:
        text = text[: SAMPLE_CHARS - 1] + "…"
    return MalformedSample(line, text)


def _counts(names: Sequence[str]) -> pd.Series:
    index: pd.Index = (
        pd.Index([], name=names[0])
        if len(names) == 1
        else pd.MultiIndex.from_arrays([[] for _ in names], names=list(names))
    )
    return pd.Series(np.zeros(0, dtype=np.int64), index=index, name="count")


#: Milliseconds per minute: the timeline is counted per UTC minute, in slots of one of
#: :data:`SLOT_MINUTES`, and regrouped into the report's bucket at the end.
MINUTE_MS: Final[int] = 60_000

#: Timeline slot lengths in minutes, each a multiple of the one before (so slots coarsen by
#: adding): 1m, 5m, 15m, 1h, 1d, then 5d, 365d and 3650d. Up to 1d they are the timeline
#: buckets; past it a slot must divide the buckets a span of its size asks for (5d divides
#: 30d and 365d; 365d and 3650d divide the larger ones), which no 7d slot would. 5,000 slots of
#: 3650d are 50,000 years, more than the years 0001 to 9999 that times can have.
SLOT_MINUTES: Final[tuple[int, ...]] = (1, 5, 15, 60, 1440, 5 * 1440, 365 * 1440, 3650 * 1440)


@dataclass(frozen=True)
class FileReport:
    """How one file was read: its format and line counts (for ``inputs.formats`` and warnings);
    ``extra``: its format was detected in its task, and its lines carry fields after that
    format's last one, ``"number"`` when that is one bare number, else ``"fields"``
    (:class:`pipeline.ingest.detect.Detection`)."""

    path: str
    format: str
    parsed: int
    malformed: int
    filtered: int
    first_malformed: str | None
    extra: str = ""


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
        Latency by ``(method, status_class)`` (:data:`~pipeline.ingest.aggregate.limits.LATENCY`);
        the status class is ``status // 100``.
    paths
        Requests per path (query string removed, templated unless raw paths were asked for),
        capped to :data:`~pipeline.ingest.aggregate.limits.PATHS` names.
    path_latency
        Latency per path, for the paths in ``paths`` only.
    error_paths
        4xx and 5xx responses per path (columns ``status_4xx``, ``status_5xx``), capped.
    agents
        Requests per full user-agent string (the empty agent included), capped.
    agent_summary
        Browsers, OS, devices, families and distinct agents
        (:mod:`pipeline.ingest.aggregate.agents`).
    filtered
        Parsed lines removed by a filter (they are in no other count).
    filtered_time
        ``(first, last, count)`` of the filtered lines that have a time (UTC ms), None when
        none has: what the note on a time filter that kept nothing says.
    directives
        Directive lines (W3C ``#Fields:``, ``#Version:`` ...): neither parsed nor malformed.
    bytes_sent
        Sum of the response sizes of the requests counted.
    time_min, time_max
        Earliest and latest request time (UTC ms), None when no request had a time.
    untimed
        Requests counted without a time.
    timeline
        Count by ``(minute, status_class)``, minute being the first minute of a slot of
        ``timeline_minutes`` minutes (UTC minutes since the epoch).
    timeline_latency
        Latency per slot of the requests that have both.
    timeline_minutes
        Slot length, one of :data:`SLOT_MINUTES`.
    file_reports
        One entry per file read (set by :func:`merge_file`).
    panels
        Visitors, hosts, referrers, bandwidth and virtual hosts
        (:mod:`pipeline.ingest.aggregate.panels`).
    keys
        JSON and logfmt: keys the lines have (a sample, and every ``--field`` key found), for
        the warning on a ``--field`` key no line has; at most :data:`KEYS_KEPT`.
    refined
        A pass of ``--exact`` after the first: the latencies of its windows
        (:mod:`pipeline.ingest.aggregate.windows`); such a partial holds only this and the
        line counts.
    """

    files: int = 0
    failed: list[FailedInput] = field(default_factory=list)
    parsed: int = 0
    malformed: int = 0
    malformed_samples: list[MalformedSample] = field(default_factory=list)
    lines_seen: int = 0
    malformed_lines: list[str] = field(default_factory=list)
    requests: pd.Series = field(default_factory=lambda: _counts(["method", "status"]))
    latency: Distributions = field(default_factory=lambda: empty(limits.LATENCY))
    paths: CappedCounts = field(default_factory=empty_capped)
    path_latency: Distributions = field(default_factory=lambda: empty(limits.PATH_LATENCY))
    error_paths: CappedCounts = field(
        default_factory=lambda: empty_capped(("status_4xx", "status_5xx"))
    )
    agents: CappedCounts = field(default_factory=empty_capped)
    agent_summary: AgentPartial = field(default_factory=lambda: merge_agents([]))
    filtered: int = 0
    filtered_time: tuple[int, int, int] | None = None
    directives: int = 0
    bytes_sent: int = 0
    time_min: int | None = None
    time_max: int | None = None
    untimed: int = 0
    timeline: pd.Series = field(default_factory=lambda: _counts(["minute", "status_class"]))
    timeline_latency: Distributions = field(default_factory=lambda: empty(limits.TIMELINE_LATENCY))
    timeline_minutes: int = 1
    file_reports: list[FileReport] = field(default_factory=list)
    keys: frozenset[str] = frozenset()
    refined: Refined | None = None
    panels: Panels = field(default_factory=Panels)


#: Keys a merged partial keeps (the first in sorted order): a bound on a partial's size whatever
#: the logs' keys. Legal range: >= 1.
KEYS_KEPT: Final[int] = 256


def aggregate_partition(
    parsed: ParsedPartition,
    source: str,
    *,
    keep_malformed: bool = False,
    filters: Filters | None = None,
    raw_paths: bool = False,
    refine: Request | None = None,
) -> Partial:
    """Reduce one parsed partition to its counts (the per-partition half of the job).

    Parameters
    ----------
    parsed
        Output of :func:`pipeline.ingest.parsing.parse.parse_text`.
    source
        The file the partition came from, used in ``malformed_lines`` records.
    keep_malformed
        Keep every malformed line (for ``--malformed-out``), not only the first samples.
    filters
        Which parsed lines count; the others are only counted as filtered. With
        ``filters.anonymize_ip`` the ``client`` column is masked first and no malformed line
        is kept as a sample (``keep_malformed`` still keeps them all, for the local file).
    raw_paths
        Group paths as written instead of by template.
    refine
        A later pass of ``--exact``: keep only the latencies of these windows and the line
        counts (the same parse, filters and path grouping as the first pass).
    """
    frame = parsed.frame
    malformed = parsed.malformed_array
    anonymize = filters is not None and filters.anonymize_ip
    if anonymize:
        masked = anonymized(pa.array(frame["client"], type=pa.large_string()))
        frame = frame.assign(client=masked.to_pandas().set_axis(frame.index))
    # Paths repeat: query stripping works on the distinct raw paths, templating on the distinct
    # paths without query (the low shape has 10,000 distinct raw paths per block but 24 without)
    encoded = pc.dictionary_encode(pa.array(frame["path"], type=pa.large_string()))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    stripped = _strip_query(encoded.dictionary)
    filtered = 0
    filtered_time = None
    if filters is not None and filters.active:
        keep = filters.keep(frame, stripped.take(encoded.indices))
        filtered = int(len(frame) - keep.sum())
        if filtered:
            filtered_time = _time_span(frame["time"][~keep])
            frame = frame[keep]
            indices = indices[keep]
    # every table below is counted over small integer codes (numpy), never a groupby of strings
    method_code = frame["method"].cat.codes.to_numpy().astype(np.int64)
    method_names = np.asarray(frame["method"].cat.categories.astype(str), dtype=object)
    status = frame["status"].to_numpy().astype(np.int64)
    status_class = status // 100
    latency = frame["latency_ms"].to_numpy(dtype=np.float64)
    sizes = frame["bytes"].to_numpy(dtype=np.int64)
    group_of, names = _path_groups(stripped, raw_paths)
    # renumbered over the rows kept, so a path seen only in filtered rows is not a row of 0
    codes, used = pd.factorize(group_of[indices], sort=False)
    names = np.asarray(names, dtype=object)[used]
    if refine is not None:
        return _refined_partial(parsed, frame, filtered, codes, names, refine)
    first = [] if anonymize else malformed.slice(0, MALFORMED_SAMPLES).to_pylist()
    samples = [
        sample(int(index) + 1, str(line))
        for index, line in zip(parsed.malformed_index[: len(first)], first, strict=True)
    ]
    records = [f"{source}\t{line}" for line in malformed.to_pylist()] if keep_malformed else []
    times = frame["time"]
    timed = times.notna().to_numpy()
    millis = times[timed].to_numpy(dtype="datetime64[ms]").view(np.int64)
    agents = _agent_counts(frame["user_agent"])
    method_of, class_of, pair_of = _pairs(method_code, status_class)
    partial = Partial(
        parsed=len(frame),
        malformed=len(malformed),
        malformed_samples=samples,
        lines_seen=parsed.line_count,
        directives=parsed.directives,
        keys=parsed.keys,
        malformed_lines=records,
        requests=_requests(method_code, status, method_names),
        latency=from_codes(
            pd.DataFrame(
                {"method": method_names[method_of], "status_class": class_of.astype(np.int16)}
            ),
            pair_of,
            latency,
            limits.LATENCY,
        ),
        agents=capped_counts(agents, limits.AGENTS),
        agent_summary=summarize_agents(agents),
        filtered=filtered,
        filtered_time=filtered_time,
        bytes_sent=exact_sum(sizes),
        time_min=int(millis.min()) if len(millis) else None,
        time_max=int(millis.max()) if len(millis) else None,
        untimed=int((~timed).sum()),
        panels=panels_of(frame, latency),
        **_path_tables(latency, codes, names, status_class, sizes),
        **_timeline(latency[timed], millis // MINUTE_MS, status_class[timed]),
    )
    return _fit_timeline(partial)


def _refined_partial(
    parsed: ParsedPartition,
    frame: pd.DataFrame,
    filtered: int,
    path_codes: np.ndarray[Any, Any],
    path_names: np.ndarray[Any, Any],
    refine: Request,
) -> Partial:
    """A later pass's partial: line counts and the windows' latencies
    (:func:`~pipeline.ingest.aggregate.windows.refine_rows`). Malformed samples are pass 1's."""
    times = frame["time"]
    timed = times.notna().to_numpy()
    minute = np.full(len(frame), -1, dtype=np.int64)
    minute[timed] = times[timed].to_numpy(dtype="datetime64[ms]").view(np.int64) // MINUTE_MS
    status_class = frame["status"].to_numpy().astype(np.int64) // 100
    methods = frame["method"]
    columns = {
        "method": (
            methods.cat.codes.to_numpy().astype(np.int64),
            np.asarray(methods.cat.categories.astype(str), dtype=object),
        ),
        "status_class": (status_class, np.arange(int(status_class.max(initial=0)) + 1)),
        "path": (np.asarray(path_codes, dtype=np.int64), path_names),
    }
    # any other column of the parsed frame a panel groups by (client, host: one hash pass,
    # only when asked), codes -1 where it is null
    for name in {panel.column for panel in refine.panels} - {"", "minute", *columns}:
        codes, names = pd.factorize(frame[name], use_na_sentinel=True)
        columns[name] = (codes.astype(np.int64), np.asarray(names, dtype=object))
    rows = Rows(
        latency=frame["latency_ms"].to_numpy(dtype=np.float64),
        minute=minute,
        timed=timed,
        columns=columns,
    )
    return Partial(
        parsed=len(frame),
        malformed=len(parsed.malformed_array),
        lines_seen=parsed.line_count,
        directives=parsed.directives,
        filtered=filtered,
        refined=refine_rows(rows, refine),
    )


def _path_groups(
    stripped: pa.Array, raw_paths: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The group (template, or path without query) of each distinct raw path, as numbers into
    the distinct group names (Arrow dictionary encodings: no Python string per raw path)."""
    distinct = pc.dictionary_encode(stripped)
    grouped = distinct.dictionary if raw_paths else template_paths(distinct.dictionary)
    groups = pc.dictionary_encode(grouped)
    group_of = groups.indices.take(distinct.indices).to_numpy(zero_copy_only=False)
    names = np.asarray(groups.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return group_of, names


def _agent_counts(agents: pd.Series) -> pd.Series:
    """Requests per distinct user-agent string (Arrow dictionary encoding, then a bincount). The
    index keeps the Arrow strings: only the names a top list keeps become Python strings."""
    encoded = pc.dictionary_encode(pa.array(agents, type=pa.large_string()))
    counts = np.bincount(
        encoded.indices.to_numpy(zero_copy_only=False), minlength=len(encoded.dictionary)
    )
    index = pd.Index(pd.arrays.ArrowStringArray(encoded.dictionary))
    return pd.Series(counts.astype(np.int64), index=index)


def _requests(
    method_code: np.ndarray[Any, Any], status: np.ndarray[Any, Any], names: np.ndarray[Any, Any]
) -> pd.Series:
    """Requests by ``(method, status)``."""
    method, code, counts = _pair_counts(method_code, status)
    index = pd.MultiIndex.from_arrays(
        [names[method], code.astype(np.int16)], names=["method", "status"]
    )
    out: pd.Series = pd.Series(counts, index=index, name="count")
    return out


def _pairs(
    first: np.ndarray[Any, Any], second: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The distinct ``(first, second)`` pairs of non-negative integers, in order of first
    appearance (as two arrays), and each row's pair number (one hash pass over packed pairs)."""
    base = int(second.max()) + 1 if len(second) else 1
    number, distinct = pd.factorize(first * base + second, sort=False)
    return distinct // base, distinct % base, number.astype(np.int64)


def _pair_counts(
    first: np.ndarray[Any, Any], second: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The distinct ``(first, second)`` pairs (as two arrays) and how many rows have each."""
    left, right, number = _pairs(first, second)
    return left, right, np.bincount(number, minlength=len(left)).astype(np.int64)


def _path_tables(
    latency: np.ndarray[Any, Any],
    codes: np.ndarray[Any, Any],
    names: np.ndarray[Any, Any],
    status_class: np.ndarray[Any, Any],
    sizes: np.ndarray[Any, Any],
) -> dict[str, Any]:
    """``paths`` (with their ``bytes``), ``path_latency`` (kept paths only) and ``error_paths``
    of a partition.

    ``codes[i]`` numbers the path (template) of row ``i`` in ``names``, so every table below
    counts small integers.
    """
    paths = coded_panel(codes, names, sizes, latency, limits.PATHS, limits.PATH_LATENCY)
    status_4xx = np.bincount(codes[status_class == 4], minlength=len(names))
    status_5xx = np.bincount(codes[status_class == 5], minlength=len(names))
    errors = np.flatnonzero(status_4xx + status_5xx)
    extra = pd.DataFrame({"status_4xx": status_4xx[errors], "status_5xx": status_5xx[errors]})
    error_paths = capped_counts(
        pd.Series(status_4xx[errors] + status_5xx[errors], index=names[errors]),
        limits.ERROR_PATHS,
        extra,
    )
    return {"paths": paths.counts, "path_latency": paths.latency, "error_paths": error_paths}


def _timeline(
    latency: np.ndarray[Any, Any],
    minutes: np.ndarray[Any, Any],
    status_class: np.ndarray[Any, Any],
) -> dict[str, Any]:
    """``timeline`` and ``timeline_latency`` of the timed rows (one entry per row), per minute."""
    if not len(minutes):
        return {}
    start = int(minutes.min())
    offset, klass, counts = _pair_counts(minutes - start, status_class)
    index = pd.MultiIndex.from_arrays(
        [offset + start, klass.astype(np.int16)], names=["minute", "status_class"]
    )
    slot, distinct = pd.factorize(minutes, sort=False)
    return {
        "timeline": pd.Series(counts, index=index, name="count"),
        "timeline_latency": from_codes(
            pd.DataFrame({"minute": distinct.astype(np.int64)}),
            slot.astype(np.int64),
            latency,
            limits.TIMELINE_LATENCY,
        ),
    }


def _kept_keys(keys: frozenset[str]) -> frozenset[str]:
    return keys if len(keys) <= KEYS_KEPT else frozenset(sorted(keys)[:KEYS_KEPT])


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
    slot = max(part.timeline_minutes for part in partials)
    timed = [_with_slot(part, slot) for part in partials]
    paths = merge_capped([part.paths for part in partials], limits.PATHS)
    path_latency = merge([part.path_latency for part in partials], limits.PATH_LATENCY)
    merged = Partial(
        files=sum(part.files for part in partials),
        failed=failed,
        parsed=sum(part.parsed for part in partials),
        malformed=sum(part.malformed for part in partials),
        malformed_samples=samples,
        lines_seen=before,
        malformed_lines=records,
        requests=_add([part.requests for part in partials]),
        latency=merge([part.latency for part in partials], limits.LATENCY),
        paths=paths,
        path_latency=keep_groups(path_latency, paths.table.index, limits.PATH_LATENCY),
        error_paths=merge_capped([part.error_paths for part in partials], limits.ERROR_PATHS),
        agents=merge_capped([part.agents for part in partials], limits.AGENTS),
        agent_summary=merge_agents([part.agent_summary for part in partials]),
        filtered=sum(part.filtered for part in partials),
        filtered_time=_merge_spans([part.filtered_time for part in partials]),
        directives=sum(part.directives for part in partials),
        bytes_sent=sum(part.bytes_sent for part in partials),
        time_min=min((p.time_min for p in partials if p.time_min is not None), default=None),
        time_max=max((p.time_max for p in partials if p.time_max is not None), default=None),
        untimed=sum(part.untimed for part in partials),
        timeline=_add([part.timeline for part in timed]),
        timeline_latency=merge([part.timeline_latency for part in timed], limits.TIMELINE_LATENCY),
        timeline_minutes=slot,
        file_reports=[report for part in partials for report in part.file_reports],
        keys=_kept_keys(frozenset().union(*(part.keys for part in partials))),
        refined=_merge_refined([part.refined for part in partials]),
        panels=merge_panels([part.panels for part in partials]),
    )
    return _fit_timeline(merged)


def _merge_refined(parts: Sequence[Refined | None]) -> Refined | None:
    """The passes' windows added up (None when no part is of a later pass)."""
    present = [part for part in parts if part is not None]
    if len(present) <= 1:
        return present[0] if present else None
    return merge_refined(present)


def _time_span(times: pd.Series) -> tuple[int, int, int] | None:
    """``(first, last, count)`` of the times that are set (UTC ms), None when none is."""
    millis = times[times.notna()].to_numpy(dtype="datetime64[ms]").view(np.int64)
    return (int(millis.min()), int(millis.max()), len(millis)) if len(millis) else None


def _merge_spans(spans: Sequence[tuple[int, int, int] | None]) -> tuple[int, int, int] | None:
    """The span covering ``spans`` (None ones skipped)."""
    known = [span for span in spans if span is not None]
    if not known:
        return None
    return min(s[0] for s in known), max(s[1] for s in known), sum(s[2] for s in known)


@releasing_memory
def merge_task(partials: Sequence[Partial]) -> Partial:
    """:func:`merge_partials` as a graph task: the memory its temporaries held is given back to
    the operating system afterwards (:mod:`pipeline.engine.memory`)."""
    return merge_partials(partials)


def _fit_timeline(partial: Partial) -> Partial:
    """Grow the timeline slot until the time seen spans at most ``TIMELINE_SLOTS`` slots."""
    if partial.time_min is None or partial.time_max is None:
        return partial
    first, last = partial.time_min // MINUTE_MS, partial.time_max // MINUTE_MS
    slot = partial.timeline_minutes
    for minutes in SLOT_MINUTES:
        if minutes >= slot and (last // minutes - first // minutes + 1 <= limits.TIMELINE_SLOTS):
            slot = minutes
            break
    else:
        slot = SLOT_MINUTES[-1]
    return _with_slot(partial, slot)


def _with_slot(partial: Partial, slot: int) -> Partial:
    """The partial with its timeline in slots of ``slot`` minutes (a multiple of its own)."""
    if slot == partial.timeline_minutes:
        return partial
    timeline = partial.timeline
    minute = np.asarray(timeline.index.get_level_values("minute"), dtype=np.int64)
    klass = timeline.index.get_level_values("status_class")
    coarse = pd.Series(timeline.to_numpy(), index=[(minute // slot) * slot, klass])
    coarse = coarse.groupby(level=[0, 1], sort=False).sum().rename("count")
    coarse.index.names = ["minute", "status_class"]
    spec = limits.TIMELINE_LATENCY
    latency = rekey(partial.timeline_latency, spec, lambda frame: (frame["minute"] // slot) * slot)
    return replace(partial, timeline=coarse, timeline_latency=latency, timeline_minutes=slot)


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
        message = f"no line matches log format {format_name!r}"
        if first is not None:  # none kept under --anonymize-ip
            shown = first if len(first) <= 120 else first[:120] + "..."
            message += f"; first line: {shown!r}"
        failed = [FailedInput(path, message)]
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
