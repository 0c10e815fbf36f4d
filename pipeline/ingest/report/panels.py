"""The report's panels (visitors, hosts, referrers, bandwidth, virtual_hosts) from a partial.

Each panel is in the report only when some input's format has its field (``client`` for
visitors and hosts, ``referer`` for referrers, ``bytes`` for bandwidth, ``host`` for
virtual_hosts): otherwise its key is left out of the JSON, like ``time_range``. Each present
panel has an ``exact`` flag and, when it is not exact, an ``error_bounds`` sentence, as the other
panels have (:mod:`pipeline.ingest.report.result`). Top lists are ordered like ``top_paths``:
requests descending, then the name ascending in code-point order; ``by_day`` lists are in day
order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.bandwidth import INTERVAL_S, by_day, p95_bps
from pipeline.ingest.aggregate.clients import KeyedPanel
from pipeline.ingest.aggregate.distribution import Spec, summaries
from pipeline.ingest.aggregate.partial import Partial
from pipeline.ingest.aggregate.topk import CappedCounts, report_entries, top_rows
from pipeline.ingest.aggregate.visitors import day_counts, relative_standard_error

#: The keys of ``exact`` the panels add, in report order.
PANEL_KEYS: Final[tuple[str, ...]] = (
    "visitors",
    "hosts",
    "referrers.sites",
    "referrers.urls",
    "bandwidth",
    "virtual_hosts",
)

Flag = Callable[[str, bool, str], None]

#: Per-name, per-day and per-interval byte sums are kept in int64 (and per name summed through a
#: float64 ``bincount`` in each partition): exact while no sum reaches 2**53, which holds for every
#: one of them whenever the run's exact total (``requests.bytes_sent``) is below it. At or above
#: it (9 PB; only hostile sizes get there) those figures are left out, flagged, never wrapped.
BYTES_EXACT_BELOW: Final[int] = 2**53
_BYTES_TOO_BIG = (
    "the run's bytes reach 2**53 (9 PB), past what per-row sums keep exactly: only total_bytes "
    "is given"
)
#: ``--exact``'s figures applied to a panel's summaries by report key (identity without it).
Stats = dict[Any, tuple[dict[str, Any], bool]]
Fix = Callable[[str, Stats], Stats]


def _unchanged(panel: str, stats: Stats) -> Stats:
    return stats


def _dropped(total: str) -> str:
    """The bound of a per-day panel that dropped its oldest days (``total``: what its total
    covers)."""
    return (
        f"by_day has the {limits.PANEL_DAYS:,} most recent days only (the requests span more); "
        f"{total}"
    )


@dataclass(frozen=True)
class Fields:
    """Which fields some input's format has (the panels that are reported)."""

    client: bool = False
    referer: bool = False
    host: bool = False
    bytes: bool = False
    time: bool = False


def day_name(day: int) -> str:
    """``YYYY-MM-DD`` of a UTC day counted from the epoch.

    >>> day_name(0), day_name(19_700)
    ('1970-01-01', '2023-12-09')
    """
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def panels_report(
    partial: Partial,
    fields: Fields,
    top: int,
    top_paths: pd.DataFrame,
    flag: Flag,
    fix: Fix = _unchanged,
) -> dict[str, Any]:
    """The panels' report keys (only those whose field some format has); ``top_paths``: the rows
    of the listed top paths (their ``bytes`` column), ``flag``: records an exact flag, ``fix``:
    puts ``--exact``'s percentiles into a panel's summaries."""
    panels = partial.panels
    out: dict[str, Any] = {}
    sizes = fields.bytes and partial.bytes_sent < BYTES_EXACT_BELOW
    if fields.client:
        out["visitors"] = _visitors(partial, flag)
        out["hosts"] = _keyed(
            panels.hosts,
            "client",
            top,
            partial.parsed,
            sizes,
            limits.CLIENT_LATENCY,
            flag,
            fix,
            dropped=fields.bytes and not sizes,
        )
    if fields.referer:
        out["referrers"] = _referrers(partial, top, flag)
    if fields.bytes:
        out["bandwidth"] = _bandwidth(partial, top_paths, flag)
    if fields.host:
        out["virtual_hosts"] = _keyed(
            panels.virtual_hosts,
            "host",
            top,
            None,
            sizes,
            limits.VHOST_LATENCY,
            flag,
            fix,
            dropped=fields.bytes and not sizes,
        )
    return out


def _visitors(partial: Partial, flag: Flag) -> dict[str, Any]:
    visitors = partial.panels.visitors
    days = day_counts(visitors)
    bounds = []
    if not visitors.exact:
        bounds.append(
            f"each day's count is an estimate with relative standard error "
            f"{relative_standard_error():.2%} (HLL lg_k={limits.VISITOR_LG_K}; more than "
            f"{limits.VISITORS_EXACT:,} visitors to count exactly); total is their sum"
        )
    if visitors.dropped_days:
        bounds.append(_dropped("total is the sum of those days"))
    flag("visitors", not bounds, "; ".join(bounds))
    return {
        "total": sum(count for _, count in days),
        "by_day": [{"day": day_name(day), "visitors": count} for day, count in days],
    }


def _lower_bound(counts: CappedCounts, what: str) -> str:
    return (
        "counts are lower bounds: each row's true count is at most count + count_error, and "
        f"any {what} not listed has at most {counts.dropped_max:,} (too many distinct {what}s "
        "to keep them all)"
    )


def _keyed(
    panel: KeyedPanel,
    key: str,
    top: int,
    requests: int | None,
    has_bytes: bool,
    spec: Spec,
    flag: Flag,
    fix: Fix,
    *,
    dropped: bool = False,
) -> list[dict[str, Any]]:
    """``hosts`` (with ``share``: ``requests`` given) or ``virtual_hosts``; ``dropped``: the
    format has sizes but the run's are too big to sum per row (``bytes`` null, flagged)."""
    rows, exact = top_rows(panel.counts, top)
    stats = {} if panel.latency is None else summaries(panel.latency, spec, list(rows.index))
    stats = fix("hosts" if key == "client" else "virtual_hosts", stats)
    sketched = [name for name, (_, is_exact) in stats.items() if not is_exact]
    what = "client address" if key == "client" else "virtual host"
    bound = "" if exact else _lower_bound(panel.counts, what)
    if not exact and has_bytes:
        bound += "; so are the bytes of a row with a count_error"
    if sketched:
        bound = (bound + "; " if bound else "") + (
            f"p95 of {len(sketched)} of the listed rows within {spec.alpha:.0%} (relative) of "
            "the exact value (more distinct latencies than kept exactly: a log-bucket sketch)"
        )
    if dropped:
        bound = (bound + "; " if bound else "") + _BYTES_TOO_BIG + " (bytes is null)"
    flag(
        "hosts" if key == "client" else "virtual_hosts",
        exact and not sketched and not dropped,
        bound,
    )

    def entry(name: str, row: pd.Series) -> dict[str, Any]:
        count = int(row["count"])
        item: dict[str, Any] = {key: name, "requests": count}
        if requests is not None:
            item["share"] = count / requests if requests else None
        item["bytes"] = int(row["bytes"]) if has_bytes else None
        item["p95"] = stats[name][0]["p95"] if name in stats else None
        return item

    return list(report_entries(rows, exact, entry))


def _named(counts: CappedCounts, key: str, top: int, flag: Flag) -> list[dict[str, Any]]:
    rows, exact = top_rows(counts, top)
    what = "site" if key == "site" else "referer URL"
    flag(f"referrers.{key}s", exact, _lower_bound(counts, what))
    return list(
        report_entries(rows, exact, lambda name, row: {key: name, "requests": int(row["count"])})
    )


def _referrers(partial: Partial, top: int, flag: Flag) -> dict[str, Any]:
    referrers = partial.panels.referrers
    return {
        "sites": _named(referrers.sites, "site", top, flag),
        "urls": _named(referrers.urls, "url", top, flag),
        "direct": referrers.direct,
    }


def _bandwidth(partial: Partial, top_paths: pd.DataFrame, flag: Flag) -> dict[str, Any]:
    bandwidth = partial.panels.bandwidth
    bounds = []
    if not bandwidth.exact:
        bounds.append(
            f"p95_bps is null: the requests span more than {limits.BANDWIDTH_INTERVALS:,} "
            "5-minute intervals, more than a partial keeps (by_day is exact)"
        )
    lower = bool(top_paths["error"].any()) if "error" in top_paths.columns else False
    if lower:
        bounds.append("top_paths bytes are lower bounds where top_paths has a count_error")
    days = by_day(bandwidth)
    if bandwidth.dropped_days or len(days) > limits.PANEL_DAYS:
        days = days[-limits.PANEL_DAYS :]
        bounds.append(_dropped("total_bytes counts every request"))
    if partial.bytes_sent >= BYTES_EXACT_BELOW:
        flag("bandwidth", False, _BYTES_TOO_BIG + " (by_day and top_paths are empty)")
        return {
            "total_bytes": partial.bytes_sent,
            "by_day": [],
            "interval_s": INTERVAL_S,
            "p95_bps": None,
            "top_paths": [],
        }
    flag("bandwidth", not bounds, "; ".join(bounds))
    return {
        "total_bytes": partial.bytes_sent,
        "by_day": [{"day": day_name(day), "bytes": total} for day, total in days],
        "interval_s": INTERVAL_S,
        "p95_bps": p95_bps(bandwidth),
        "top_paths": [
            {"path": str(path), "bytes": int(row.get("bytes", 0))}
            for path, row in top_paths.iterrows()
        ],
    }
