"""The ingest report: :class:`IngestResult`, built from the merged counts of a run.

``to_dict()`` is the JSON document of issue 3, key for key. Ordering rules: dictionaries keyed by
method or status are in ascending key order, status classes from ``1xx`` to ``5xx``; ``top_paths``
by count descending then path ascending; ``user_agents.top`` by count descending then agent
ascending ("ascending" is code-point order).

``exact`` says, for every key that holds statistics, whether its figures are exact; each key
that is not has a sentence in ``error_bounds`` stating the bound (see
:mod:`pipeline.ingest.aggregate.distribution` and :mod:`pipeline.ingest.aggregate.topk` for the
guarantees).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.agents import agents_report
from pipeline.ingest.aggregate.distribution import KEYED, Distributions, combine, summaries
from pipeline.ingest.aggregate.exact import ExactFigures
from pipeline.ingest.aggregate.latency import latency_summary
from pipeline.ingest.aggregate.partial import MalformedSample, Partial
from pipeline.ingest.aggregate.timeline import (
    BUCKETS,
    MAX_AUTO_ROWS,
    choose_bucket,
    duration_name,
    fit_bucket,
    iso_utc,
    timeline_rows,
)
from pipeline.ingest.aggregate.topk import CappedCounts, report_entries, top_rows
from pipeline.ingest.report.panels import PANEL_KEYS, Fields, panels_report
from pipeline.reporting.text import FailedInput

#: Entries of ``top_paths`` and ``user_agents.top``.
TOP_N: Final[int] = 10

#: ``latency_histogram``: bins per decade of latency (ms). 4 gives 48 bins from 1 us to the
#: largest accepted latency (10^9 ms) plus one bin below 1 us: fine enough for a log-axis plot,
#: and the report stays small (at most 49 bins). Legal range: 1 .. 20.
HISTOGRAM_BINS_PER_DECADE: Final[int] = 4
#: Decades covered by the log-spaced bins: 10^-3 ms (1 us) to 10^9 ms.
HISTOGRAM_DECADES: Final[tuple[int, int]] = (-3, 9)

STATUS_CLASSES: Final[tuple[str, ...]] = ("1xx", "2xx", "3xx", "4xx", "5xx", "none")


def status_class_name(status_class: int) -> str:
    """The report's name of a status class (``status // 100``): ``2xx``, or ``none`` for a
    request that got no response status (status 0: CloudFront ``000``, Squid ``NONE/000``).

    >>> status_class_name(2), status_class_name(0)
    ('2xx', 'none')
    """
    return f"{status_class}xx" if status_class else "none"


@dataclass(frozen=True)
class IngestResult:
    """Everything ``python cli.py ingest`` reports; see the module docstring for orderings."""

    files: int
    failed: tuple[FailedInput, ...]
    parsed: int
    malformed: int
    malformed_samples: tuple[MalformedSample, ...]
    by_method: Mapping[str, int]
    by_status_class: Mapping[str, int]
    by_status: Mapping[str, int]
    latency_ms: Mapping[str, Any]
    latency_by_method: Mapping[str, Mapping[str, Any]]
    latency_by_status_class: Mapping[str, Mapping[str, Any]]
    top_paths: tuple[Mapping[str, Any], ...]
    top_errors: tuple[Mapping[str, Any], ...]
    user_agents_unique: int
    user_agents_top: tuple[Mapping[str, Any], ...]
    user_agents_by_family: Mapping[str, int]
    execution: Mapping[str, Any]
    user_agents_browsers: tuple[Mapping[str, Any], ...] = ()
    user_agents_os: tuple[Mapping[str, Any], ...] = ()
    user_agents_devices: tuple[Mapping[str, Any], ...] = ()
    filtered: int = 0
    directives: int = 0
    formats: Mapping[str, int] | None = None
    notes: tuple[str, ...] = ()
    bytes_sent: int | None = None
    time_range: Mapping[str, Any] | None = None
    timeline: Mapping[str, Any] | None = None
    latency_histogram: tuple[Mapping[str, Any], ...] = ()
    exact: Mapping[str, bool] | None = None
    error_bounds: Mapping[str, str] | None = None
    user_agents_estimated: int = 0
    #: ``visitors``, ``hosts``, ``referrers``, ``bandwidth``, ``virtual_hosts``: those whose
    #: field some input's format has (:mod:`pipeline.ingest.report.panels`), as in the JSON.
    panels: Mapping[str, Any] = field(default_factory=dict)
    #: One message per extra output (``--malformed-out``) that could not be written: the report
    #: is still printed, then the CLI prints these and exits 2 (not part of the JSON report).
    output_errors: tuple[str, ...] = ()
    #: ``--state``: the state to save once the report is out (:meth:`save_state`).
    pending_state: Any = field(default=None, compare=False, repr=False)

    def save_state(self) -> None:
        """``--state``: write the state file (after the report) and release its lock."""
        if self.pending_state is not None:
            self.pending_state.save()

    def release_state(self) -> None:
        """``--state``: release its lock without saving (nothing happens once saved)."""
        if self.pending_state is not None:
            self.pending_state.release()

    @property
    def failed_inputs(self) -> Sequence[FailedInput]:
        """Files that could not be read (the CLI exits with 3 when there are any)."""
        return self.failed

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (docs/report.md); optional keys only when they apply."""
        requests: dict[str, Any] = {
            "total": self.parsed,
            "by_method": dict(self.by_method),
            "by_status_class": dict(self.by_status_class),
            "by_status": dict(self.by_status),
        }
        if self.bytes_sent is not None:
            requests["bytes_sent"] = self.bytes_sent
        document: dict[str, Any] = {
            "feature": "ingest",
            "inputs": {
                "files": self.files,
                "formats": dict(self.formats or {}),
                "failed": [f.to_dict() for f in self.failed],
            },
            "lines": {
                "total": self.parsed + self.malformed + self.filtered + self.directives,
                "parsed": self.parsed,
                "malformed": self.malformed,
                "filtered": self.filtered,
                "directives": self.directives,
                "malformed_samples": [entry.to_dict() for entry in self.malformed_samples],
            },
            "requests": requests,
        }
        if self.time_range is not None:
            document["time_range"] = dict(self.time_range)
        document.update(
            {
                "latency_ms": dict(self.latency_ms),
                "latency_histogram": [dict(b) for b in self.latency_histogram],
                "latency_by_method": {k: dict(v) for k, v in self.latency_by_method.items()},
                "latency_by_status_class": {
                    k: dict(v) for k, v in self.latency_by_status_class.items()
                },
                "top_paths": [dict(entry) for entry in self.top_paths],
                "top_errors": [dict(entry) for entry in self.top_errors],
                "user_agents": {
                    "unique": self.user_agents_unique,
                    "top": [dict(entry) for entry in self.user_agents_top],
                    "browsers": [dict(entry) for entry in self.user_agents_browsers],
                    "os": [dict(entry) for entry in self.user_agents_os],
                    "devices": [dict(entry) for entry in self.user_agents_devices],
                    "by_family": dict(self.user_agents_by_family),
                    "estimated": self.user_agents_estimated,
                },
            }
        )
        document.update(self.panels)
        if self.timeline is not None:
            document["timeline"] = {
                "bucket": self.timeline["bucket"],
                "rows": [dict(row) for row in self.timeline["rows"]],
            }
        document["exact"] = dict(self.exact or {})
        document["error_bounds"] = dict(self.error_bounds or {})
        document["notes"] = list(self.notes)
        document["execution"] = dict(self.execution)
        return document


def build_result(
    partial: Partial,
    settings: ExecutionSettings,
    started: float,
    *,
    formats: Mapping[str, int] | None = None,
    notes: Sequence[str] = (),
    has_bytes: bool = False,
    has_time: bool = False,
    has_client: bool = False,
    has_referer: bool = False,
    has_host: bool = False,
    bucket: str = "auto",
    top: int = TOP_N,
    refined: ExactFigures | None = None,
    passes: int = 1,
) -> IngestResult:
    """Turn the merged counts of a run into the report.

    ``started``: :func:`time.perf_counter` when the run began; ``execution.elapsed_s`` runs from
    it to the end of this function, so it covers building the report (the timeline included),
    everything but writing it out.
    ``has_time``: some input's format has a time field (then ``time_range`` and ``timeline`` are
    reported, even when no request was kept); ``has_bytes``: some format has a response size
    (then ``bandwidth`` is reported); ``has_client``, ``has_referer``, ``has_host``: some format
    has that field (then ``visitors`` and ``hosts``, ``referrers``, ``virtual_hosts``).
    ``refined``: the figures of ``--exact``'s later passes, which replace the sketched
    percentiles (:mod:`pipeline.ingest.aggregate.exact`); ``passes``: how many passes read the
    input (``execution.passes``).
    """
    fixes = _Fixes(refined)
    requests = partial.requests
    methods = requests.groupby(level="method").sum()
    statuses = requests.groupby(level="status").sum()
    by_class = dict.fromkeys(STATUS_CLASSES, 0)
    for status, count in statuses.items():
        by_class[status_class_name(int(str(status)) // 100)] += int(count)
    bounds = _Bounds()
    latency = partial.latency
    overall = combine(latency, limits.LATENCY, lambda frame: 0)
    overall_stats = fixes.apply("latency_ms", summaries(overall, KEYED)).get(
        0, (_no_latency(), True)
    )
    bounds.flag("latency_ms", overall_stats[1], _sketch_bound(limits.LATENCY.alpha))
    bounds.flag(
        "latency_histogram",
        overall_stats[1],
        f"latencies within {_percent(limits.LATENCY.alpha)} of a bin edge may be counted in "
        "the neighbouring bin",
    )
    time_keys = _time_keys(partial, has_time, bucket, bounds, fixes)
    time_notes = time_keys.pop("notes", ())
    agents = agents_report(partial.agent_summary, top)
    agent_bounds = agents.error_bounds()
    for key, exact in agents.exact_flags().items():
        bounds.flag(key, exact, agent_bounds.get(key, ""))
    histogram = latency_histogram(_by_value(overall))
    by_method = _grouped(latency, "method", str, bounds, fixes)
    by_class_latency = _grouped(
        latency, "status_class", lambda c: status_class_name(int(c)), bounds, fixes
    )
    top_paths = _top_paths(partial, top, bounds, fixes)
    top_errors = _top_errors(partial.error_paths, top, bounds)
    top_agents = _top_agents(partial.agents, top, bounds)
    fields = Fields(has_client, has_referer, has_host, has_bytes, has_time)
    top_listed = top_rows(partial.paths, top)[0]
    panels = panels_report(partial, fields, top, top_listed, bounds.flag, fixes.apply)
    elapsed_s = time.perf_counter() - started
    return IngestResult(
        files=partial.files,
        failed=tuple(partial.failed),
        parsed=partial.parsed,
        malformed=partial.malformed,
        malformed_samples=tuple(partial.malformed_samples),
        by_method={str(k): int(v) for k, v in sorted(methods.items())},
        by_status_class=by_class,
        by_status={f"{int(str(k)):03d}": int(v) for k, v in sorted(statuses.items())},
        latency_ms=overall_stats[0],
        latency_histogram=histogram,
        latency_by_method=by_method,
        latency_by_status_class=by_class_latency,
        top_paths=top_paths,
        top_errors=top_errors,
        user_agents_unique=agents.unique,
        user_agents_top=top_agents,
        user_agents_by_family=agents.by_family,
        user_agents_browsers=agents.browsers,
        user_agents_os=agents.os,
        user_agents_devices=agents.devices,
        user_agents_estimated=agents.estimated,
        execution={**settings.describe(), "elapsed_s": round(elapsed_s, 3), "passes": passes},
        filtered=partial.filtered,
        directives=partial.directives,
        formats=dict(formats or {}),
        notes=(*notes, *time_notes, *filter(None, [agents.budget_note()])),
        bytes_sent=partial.bytes_sent if has_bytes else None,
        exact=bounds.exact,
        error_bounds=bounds.bounds,
        panels=panels,
        **time_keys,
    )


#: The keys of ``exact`` (report keys that hold statistics), in report order; ``timeline`` only
#: when the report has one.
EXACT_KEYS: Final[tuple[str, ...]] = (
    "requests",
    "latency_ms",
    "latency_histogram",
    "latency_by_method",
    "latency_by_status_class",
    "top_paths",
    "top_errors",
    "user_agents.top",
    "user_agents.unique",
    "user_agents.browsers",
    "user_agents.os",
    "user_agents.devices",
    "user_agents.by_family",
    *PANEL_KEYS,
    "timeline",
)


class _Bounds:
    """Collects the ``exact`` flags and the ``error_bounds`` sentences while the report is built."""

    def __init__(self) -> None:
        self._exact: dict[str, bool] = {"requests": True}
        self._bounds: dict[str, str] = {}

    def flag(self, key: str, exact: bool, bound: str) -> None:
        self._exact[key] = exact
        if not exact:
            self._bounds[key] = bound

    @property
    def exact(self) -> dict[str, bool]:
        return {key: self._exact[key] for key in EXACT_KEYS if key in self._exact}

    @property
    def bounds(self) -> dict[str, str]:
        return {key: self._bounds[key] for key in EXACT_KEYS if key in self._bounds}


class _Fixes:
    """The exact figures of ``--exact`` (:class:`~pipeline.ingest.aggregate.exact.ExactFigures`),
    applied to the statistics a panel computed from pass 1."""

    def __init__(self, exact: ExactFigures | None) -> None:
        self._exact = exact

    def resolved(self, panel: str) -> bool:
        """Whether every group of ``panel`` was made exact."""
        return self._exact is not None and panel in self._exact.exact

    def of(self, panel: str) -> dict[Any, dict[str, Any]]:
        """The exact figures of ``panel``'s groups, by group key (empty without ``--exact``)."""
        if not self.resolved(panel):
            return {}
        assert self._exact is not None
        return self._exact.figures.get(panel, {})

    def apply(
        self, panel: str, stats: dict[Any, tuple[dict[str, Any], bool]]
    ) -> dict[Any, tuple[dict[str, Any], bool]]:
        """``summaries`` with the exact percentiles in, and every group exact when resolved."""
        if not self.resolved(panel):
            return stats
        found = self.of(panel)
        out = {}
        for key, (block, _) in stats.items():
            fixed = dict(block)
            fixed.update({k: v for k, v in found.get(key, {}).items() if k in _PERCENTILE_KEYS})
            out[key] = (fixed, True)
        return out


_PERCENTILE_KEYS: Final = frozenset({"median", "p90", "p95", "p99"})


def _percent(alpha: float) -> str:
    return f"{alpha * 100:g}%"


def _sketch_bound(
    alpha: float,
    groups: str = "",
    figures: str = "median, p90, p95 and p99",
    exact: str = "count, mean, min, max and std are exact",
) -> str:
    """The bound of sketched percentiles (:mod:`pipeline.ingest.aggregate.distribution`)."""
    where = f" of {groups}" if groups else ""
    return (
        f"{figures}{where} within {_percent(alpha)} (relative) of the exact values (more "
        f"distinct latencies than kept exactly: a log-bucket sketch); {exact}"
    )


def _no_latency() -> dict[str, Any]:
    """The statistics block of a group without latencies."""
    return latency_summary(np.array([]), np.array([], dtype=np.int64))


def _time_keys(
    partial: Partial, has_time: bool, bucket: str, bounds: _Bounds, fixes: _Fixes
) -> dict[str, Any]:
    """``time_range`` and ``timeline`` (None for both without a time field or a timed request)."""
    if not has_time:
        return {"time_range": None, "timeline": None}
    first, last = partial.time_min, partial.time_max
    notes: list[str] = []
    if first is None or last is None:
        empty = {"first": None, "last": None, "requests_without_time": partial.untimed}
        shown = "1m" if bucket == "auto" else bucket
        bounds.flag("timeline", True, "")
        return {"time_range": empty, "timeline": {"bucket": shown, "rows": []}, "notes": ()}
    chosen = choose_bucket(first, last, bucket)
    fitted = fit_bucket(first, last, chosen, partial.timeline_minutes)
    span = f"the time span from {iso_utc(first)} to {iso_utc(last)}"
    if fitted != chosen:
        notes.append(
            f"--bucket {chosen} is too fine for {span} (the timeline keeps at most "
            f"{limits.TIMELINE_SLOTS:,} slots, here of "
            f"{duration_name(partial.timeline_minutes)}); the timeline uses {fitted}"
        )
    elif bucket == "auto" and BUCKETS[chosen] > BUCKETS["1d"]:
        notes.append(
            f"the timeline uses {chosen} buckets: {span} is too long for finer ones within "
            f"{MAX_AUTO_ROWS} rows"
        )
    chosen = fitted
    rows, exact = timeline_rows(first, last, chosen, partial.timeline, partial.timeline_latency)
    if fixes.resolved("timeline"):
        start = first // 60_000 // BUCKETS[chosen]
        for key, found in fixes.of("timeline").items():
            rows[int(key) - start].update(latency_p50=found["median"], latency_p95=found["p95"])
        exact = True
    bounds.flag(
        "timeline",
        exact,
        _sketch_bound(
            limits.TIMELINE_LATENCY.alpha,
            "some buckets",
            "latency_p50 and latency_p95",
            "request counts are exact",
        ),
    )
    return {
        "time_range": {
            "first": iso_utc(first),
            "last": iso_utc(last),
            "requests_without_time": partial.untimed,
        },
        "timeline": {"bucket": chosen, "rows": rows},
        "notes": tuple(notes),
    }


def histogram_edges() -> np.ndarray[Any, Any]:
    """The fixed edges of ``latency_histogram``: 0, then 10^(k/B) ms for the decades covered."""
    low, high = HISTOGRAM_DECADES
    per = HISTOGRAM_BINS_PER_DECADE
    # Python's float power (correctly rounded for these exponents), the same on every platform
    return np.array([0.0] + [10 ** (k / per) for k in range(low * per, high * per + 1)])


def latency_histogram(counts: pd.Series) -> tuple[dict[str, Any], ...]:
    """Requests per log-spaced latency bin, from the merged value counts.

    A bin ``{"lo": a, "hi": b, "count": n}`` holds latencies ``a <= x < b`` (the last bin also
    holds ``x == b``); the first bin is ``[0, 10^-3)``. Only the bins from the first to the last
    non-empty one are listed, so the list is empty without latencies and never longer than 49.

    >>> import pandas as pd
    >>> [b["count"] for b in latency_histogram(pd.Series([2, 1], index=[1.0, 2.0]))]
    [2, 1]
    """
    edges = histogram_edges()
    values = np.asarray(counts.index.get_level_values(-1), dtype=np.float64)
    weights = counts.to_numpy(dtype=np.int64)
    keep = ~np.isnan(values) & (weights > 0)
    slots = np.clip(np.searchsorted(edges, values[keep], side="right") - 1, 0, len(edges) - 2)
    per_bin = np.bincount(slots, weights=weights[keep], minlength=len(edges) - 1).astype(np.int64)
    used = np.flatnonzero(per_bin)
    if not len(used):
        return ()
    return tuple(
        {"lo": float(edges[i]), "hi": float(edges[i + 1]), "count": int(per_bin[i])}
        for i in range(used[0], used[-1] + 1)
    )


def _by_value(dist: Distributions) -> pd.Series:
    """Counts indexed by latency (bucket representatives where sketched), all groups added."""
    summed: pd.Series = pd.Series(dist.count).groupby(dist.value, sort=True).sum()
    return summed


def _grouped(
    latency: Distributions, level: str, label: Any, bounds: _Bounds, fixes: _Fixes
) -> dict[str, dict[str, Any]]:
    """Statistics per method or per status class, and its exact flag."""
    combined = combine(latency, limits.LATENCY, lambda frame: frame[level])
    key = f"latency_by_{level}"
    stats = fixes.apply(key, summaries(combined, KEYED))
    sketched = [label(name) for name, (_, exact) in sorted(stats.items()) if not exact]
    bounds.flag(key, not sketched, _sketch_bound(limits.LATENCY.alpha, ", ".join(sketched)))
    return {label(name): block for name, (block, _) in sorted(stats.items())}


def _rows_exact(counts: CappedCounts, top: int, what: str) -> tuple[pd.DataFrame, bool, str]:
    """The top rows, whether they are proven exact, and the bound sentence when not."""
    rows, exact = top_rows(counts, top)
    bound = (
        "counts are lower bounds: each row's true count is at most count + count_error, and "
        f"any {what} not listed has at most {counts.dropped_max:,} (too many distinct {what}s "
        "to keep them all)"
    )
    return rows, exact, bound


def _top_paths(
    partial: Partial, top: int, bounds: _Bounds, fixes: _Fixes
) -> tuple[dict[str, Any], ...]:
    rows, exact, bound = _rows_exact(partial.paths, top, "path")
    stats = summaries(partial.path_latency, limits.PATH_LATENCY, list(rows.index))
    if fixes.resolved("top_paths"):
        found = fixes.of("top_paths")
        if any("requests" in figures for figures in found.values()):
            rows, exact = _recounted(partial.paths, rows, found, top)
        stats = fixes.apply("top_paths", stats)
        for name, figures in found.items():
            if "requests" in figures:
                block = dict(stats.get(name, (_no_latency(), True))[0])
                block.update({k: v for k, v in figures.items() if k in _PERCENTILE_KEYS})
                block["mean"] = figures["mean"]
                stats[name] = (block, True)
    sketched = [name for name, (_, is_exact) in stats.items() if not is_exact]
    if sketched:
        bound = (bound + "; " if not exact else "") + _sketch_bound(
            limits.PATH_LATENCY.alpha,
            f"{len(sketched)} of the listed paths",
            "p50, p95 and p99",
            "their mean is exact" if exact else "their mean covers the requests counted",
        )
    bounds.flag("top_paths", exact and not sketched, bound)
    requests = partial.parsed

    def entry(path: str, row: pd.Series) -> dict[str, Any]:
        block = stats.get(path, (_no_latency(), True))[0]
        return {
            "path": path,
            "count": int(row["count"]),
            "share": int(row["count"]) / requests if requests else None,
            "mean": block["mean"],
            "p50": block["median"],
            "p95": block["p95"],
            "p99": block["p99"],
        }

    return report_entries(rows, exact, entry)


def _recounted(
    paths: CappedCounts, rows: pd.DataFrame, found: dict[Any, dict[str, Any]], top: int
) -> tuple[pd.DataFrame, bool]:
    """The listed rows with the counts ``--exact`` recounted (error 0), in report order, and
    whether the list is now provably the top: its smallest count above the largest count any
    name left out can have (``count + error`` of a name held, ``dropped_max`` of the others),
    and no name missing from a short list."""
    rows = rows.copy()
    for name, figures in found.items():
        if "requests" in figures:
            rows.loc[name, "count"] = figures["requests"]
            rows.loc[name, "error"] = 0
    names = [str(name) for name in rows.index]
    counts = rows["count"].astype(np.int64).tolist()
    order = sorted(range(len(rows)), key=lambda i: (-counts[i], names[i]))
    rows = rows.iloc[order]
    rest = paths.table.drop(index=rows.index)
    upper = max([paths.dropped_max, *(rest["count"] + rest["error"]).tolist()])
    last = int(rows["count"].iloc[-1]) if len(rows) else 0
    short = len(rows) < top and paths.dropped_max > 0
    return rows, not bool(rows["error"].any()) and upper < last and not short


def _top_errors(errors: CappedCounts, top: int, bounds: _Bounds) -> tuple[dict[str, Any], ...]:
    """The paths with the most 4xx and 5xx responses."""
    rows, exact, bound = _rows_exact(errors, top, "path")
    bounds.flag("top_errors", exact, bound)
    return report_entries(
        rows,
        exact,
        lambda path, row: {
            "path": path,
            "count": int(row["count"]),
            "status_4xx": int(row["status_4xx"]),
            "status_5xx": int(row["status_5xx"]),
        },
    )


def _top_agents(agents: CappedCounts, top: int, bounds: _Bounds) -> tuple[dict[str, Any], ...]:
    named = CappedCounts(agents.table[agents.table.index != ""], agents.dropped_max)
    rows, exact, bound = _rows_exact(named, top, "user agent")
    bounds.flag("user_agents.top", exact, bound)
    return report_entries(
        rows, exact, lambda agent, row: {"user_agent": agent, "count": int(row["count"])}
    )
