"""The ingest report: :class:`IngestResult`, built from the merged counts of a run.

``to_dict()`` is the JSON document of issue 3, key for key. Ordering rules: dictionaries keyed by
method or status are in ascending key order, status classes from ``1xx`` to ``5xx``; ``top_paths``
by count descending then path ascending; ``user_agents.top`` by count descending then agent
ascending ("ascending" is code-point order).

>>> user_agent_family("Mozilla/5.0 (compatible; Googlebot/2.1)"), user_agent_family("curl/8.5")
('bot', 'tool')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline.execution import ExecutionSettings
from pipeline.ingest.stats import MalformedSample, Partial, latency_summary
from pipeline.ingest.timeline import choose_bucket, iso_utc, timeline_rows
from pipeline.report import FailedInput

#: Entries of ``top_paths`` and ``user_agents.top``.
TOP_N: Final[int] = 10

#: ``latency_histogram``: bins per decade of latency (ms). 4 gives 48 bins from 1 us to the
#: largest accepted latency (10^9 ms) plus one bin below 1 us: fine enough for a log-axis plot,
#: and the report stays small (at most 49 bins). Legal range: 1 .. 20.
HISTOGRAM_BINS_PER_DECADE: Final[int] = 4
#: Decades covered by the log-spaced bins: 10^-3 ms (1 us) to 10^9 ms.
HISTOGRAM_DECADES: Final[tuple[int, int]] = (-3, 9)

STATUS_CLASSES: Final[tuple[str, ...]] = ("1xx", "2xx", "3xx", "4xx", "5xx")
FAMILIES: Final[tuple[str, ...]] = ("browser", "bot", "tool", "other", "unknown")
_BOT_WORDS: Final[tuple[str, ...]] = ("bot", "crawler", "spider", "slurp")
_TOOL_PREFIXES: Final[tuple[str, ...]] = (
    "curl/",
    "wget/",
    "python-requests/",
    "python-urllib",
    "go-http-client/",
    "postmanruntime/",
    "httpie/",
    "okhttp/",
    "axios/",
    "node-fetch",
    "java/",
)


def user_agent_family(agent: str) -> str:
    """The family of a user agent; case-insensitive rules, first match wins."""
    if agent == "":
        return "unknown"
    lowered = agent.lower()
    if any(word in lowered for word in _BOT_WORDS):
        return "bot"
    if lowered.startswith(_TOOL_PREFIXES):
        return "tool"
    if lowered.startswith("mozilla/"):
        return "browser"
    return "other"


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
    filtered: int = 0
    formats: Mapping[str, int] | None = None
    notes: tuple[str, ...] = ()
    bytes_sent: int | None = None
    time_range: Mapping[str, Any] | None = None
    timeline: Mapping[str, Any] | None = None
    latency_histogram: tuple[Mapping[str, Any], ...] = ()

    @property
    def failed_inputs(self) -> Sequence[FailedInput]:
        """Files that could not be read (the CLI exits with 3 when there are any)."""
        return self.failed

    @property
    def requests_total(self) -> int:
        """Parsed lines, i.e. requests."""
        return self.parsed

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (README, "JSON report"); optional keys only when they apply."""
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
                "total": self.parsed + self.malformed + self.filtered,
                "parsed": self.parsed,
                "malformed": self.malformed,
                "filtered": self.filtered,
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
                    "by_family": dict(self.user_agents_by_family),
                },
            }
        )
        if self.timeline is not None:
            document["timeline"] = {
                "bucket": self.timeline["bucket"],
                "rows": [dict(row) for row in self.timeline["rows"]],
            }
        document["notes"] = list(self.notes)
        document["execution"] = dict(self.execution)
        return document


def build_result(
    partial: Partial,
    settings: ExecutionSettings,
    elapsed_s: float,
    *,
    formats: Mapping[str, int] | None = None,
    notes: Sequence[str] = (),
    has_bytes: bool = False,
    has_time: bool = False,
    bucket: str = "auto",
    top: int = TOP_N,
) -> IngestResult:
    """Turn the merged counts of a run into the report.

    ``has_time``: some input's format has a time field (then ``time_range`` and ``timeline`` are
    reported, even when no request was kept); ``has_bytes``: some format has a response size.
    """
    requests = partial.requests
    methods = requests.groupby(level="method").sum()
    statuses = requests.groupby(level="status").sum()
    by_class = dict.fromkeys(STATUS_CLASSES, 0)
    for status, count in statuses.items():
        by_class[f"{int(str(status)) // 100}xx"] += int(count)
    latency = partial.latency
    latency_values = latency.groupby(level="latency_ms").sum()
    return IngestResult(
        files=partial.files,
        failed=tuple(partial.failed),
        parsed=partial.parsed,
        malformed=partial.malformed,
        malformed_samples=tuple(partial.malformed_samples),
        by_method={str(k): int(v) for k, v in sorted(methods.items())},
        by_status_class=by_class,
        by_status={str(k): int(v) for k, v in sorted(statuses.items())},
        latency_ms=_summary(latency_values),
        latency_histogram=latency_histogram(latency_values),
        latency_by_method=_grouped(latency, "method", str),
        latency_by_status_class=_grouped(latency, "status_class", lambda c: f"{int(c)}xx"),
        top_paths=_top_paths(partial.path_latency, partial.parsed, top),
        top_errors=_top_errors(partial.path_errors, top),
        user_agents_unique=len(partial.user_agents),
        user_agents_top=_top_agents(partial.user_agents, top),
        user_agents_by_family=_families(partial.user_agents),
        execution={**settings.describe(), "elapsed_s": round(elapsed_s, 3)},
        filtered=partial.filtered,
        formats=dict(formats or {}),
        notes=tuple(notes),
        bytes_sent=partial.bytes_sent if has_bytes else None,
        **_time_keys(partial, has_time, bucket),
    )


def _time_keys(partial: Partial, has_time: bool, bucket: str) -> dict[str, Any]:
    """``time_range`` and ``timeline`` (None for both without a time field or a timed request)."""
    if not has_time:
        return {"time_range": None, "timeline": None}
    first, last = partial.time_min, partial.time_max
    if first is None or last is None:
        empty = {"first": None, "last": None, "requests_without_time": partial.untimed}
        shown = "1m" if bucket == "auto" else bucket
        return {"time_range": empty, "timeline": {"bucket": shown, "rows": []}}
    chosen = choose_bucket(first, last, bucket)
    rows = timeline_rows(first, last, chosen, partial.timeline, partial.timeline_latency)
    return {
        "time_range": {
            "first": iso_utc(first),
            "last": iso_utc(last),
            "requests_without_time": partial.untimed,
        },
        "timeline": {"bucket": chosen, "rows": rows},
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


def _summary(counts: pd.Series) -> dict[str, Any]:
    """Latency statistics of a Series indexed by latency value."""
    values = np.asarray(counts.index.get_level_values(-1), dtype=np.float64)
    return latency_summary(values, counts.to_numpy(dtype=np.int64))


def _grouped(latency: pd.Series, level: str, label: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if not len(latency):
        return out
    by_key = latency.groupby(level=[level, "latency_ms"]).sum()
    for key in sorted(by_key.index.get_level_values(0).unique()):
        out[label(key)] = _summary(by_key.xs(key, level=0))
    return out


def _ranked(counts: pd.Series, top: int) -> list[tuple[str, int]]:
    """The ``top`` largest counts of a Series indexed by name: count descending, then name
    ascending in code-point order (vectorised: no Python loop over every distinct name)."""
    frame = pd.DataFrame({"name": counts.index.astype(str), "count": counts.to_numpy()})
    # candidates: every name whose count reaches the top-th largest count (ties included)
    if len(frame) > top:
        threshold = frame["count"].nlargest(top).iloc[-1]
        frame = frame[frame["count"] >= threshold]
    ordered = sorted(zip(frame["name"], frame["count"], strict=True), key=lambda i: (-i[1], i[0]))
    return [(name, int(count)) for name, count in ordered[:top]]


def _top_paths(path_latency: pd.Series, requests: int, top: int) -> tuple[dict[str, Any], ...]:
    if not len(path_latency):
        return ()
    totals = path_latency.groupby(level="path").sum()
    entries = []
    for path, count in _ranked(totals, top):
        stats = _summary(path_latency.xs(path, level="path"))
        entries.append(
            {
                "path": path,
                "count": count,
                "share": count / requests if requests else None,
                "mean": stats["mean"],
                "p50": stats["median"],
                "p95": stats["p95"],
                "p99": stats["p99"],
            }
        )
    return tuple(entries)


def _top_errors(path_errors: pd.Series, top: int) -> tuple[dict[str, Any], ...]:
    """The paths with the most 4xx and 5xx responses."""
    if not len(path_errors):
        return ()
    by_class = path_errors.groupby(level=["path", "status_class"]).sum().unstack(fill_value=0)
    totals = by_class.sum(axis=1)
    entries = []
    for path, count in _ranked(totals, top):
        row = by_class.loc[path]
        entries.append(
            {
                "path": path,
                "count": count,
                "status_4xx": int(row.get(4, 0)),
                "status_5xx": int(row.get(5, 0)),
            }
        )
    return tuple(entries)


def _top_agents(agents: pd.Series, top: int) -> tuple[dict[str, Any], ...]:
    named = agents.groupby(level=0).sum() if isinstance(agents.index, pd.MultiIndex) else agents
    named = named[named.index.astype(str) != ""]
    return tuple({"user_agent": ua, "count": n} for ua, n in _ranked(named, top))


def _families(agents: pd.Series) -> dict[str, int]:
    families = dict.fromkeys(FAMILIES, 0)
    for key, count in agents.items():
        agent = str(key[0] if isinstance(key, tuple) else key)
        families[user_agent_family(agent)] += int(count)
    return families
