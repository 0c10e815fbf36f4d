"""The panels of the HTML report: one section per panel the JSON document has.

Visitors (per day), hosts, referrers (sites, URLs, direct), bandwidth (per day, the 95th
percentile) and virtual hosts, as sortable tables built by :func:`pipeline.reporting.page.table`
(every cell escaped; no script or style of their own, so the page stays self-contained). A
panel the document lacks (its format has no such field) has no section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pipeline.reporting.page import cards, escape, section, table
from pipeline.reporting.text import format_bytes, format_ms, format_share

Approx = Callable[[Mapping[str, Any], str], str]


def panels_sections(data: Mapping[str, Any], approx: Approx, timed: bool) -> list[str]:
    """The sections, in report order; ``approx(data, key)`` marks a flagged panel, ``timed``:
    some request has a latency (else no p95 column)."""
    total = data["requests"]["total"]
    out: list[str] = []
    if "visitors" in data:
        visitors = data["visitors"]
        rows = [[row["day"], row["visitors"]] for row in visitors["by_day"]]
        out.append(
            section(
                f"Unique visitors{approx(data, 'visitors')}",
                cards([("visitors (sum over days)", f"{visitors['total']:,}")]),
                table(["day (UTC)", "visitors"], rows, table_id="visitors-by-day"),
                '<p class="note">Distinct (client address, user agent) pairs per UTC day, as '
                "GoAccess counts them; requests without a client or a time are no visitor.</p>",
            )
        )
    if "hosts" in data:
        rows = [
            [
                row["client"],
                row["requests"],
                (format_share(row["requests"], total), row["requests"]),
                _bytes(row["bytes"]),
                *([_ms(row["p95"])] if timed else []),
            ]
            for row in data["hosts"]
        ]
        headers = ["client", "requests", "share", "bytes", *(["p95 ms"] if timed else [])]
        out.append(section(f"Hosts{approx(data, 'hosts')}", table(headers, rows, table_id="hosts")))
    if "referrers" in data:
        referrers = data["referrers"]
        sites = [[row["site"], row["requests"]] for row in referrers["sites"]]
        urls = [[row["url"], row["requests"]] for row in referrers["urls"]]
        direct = referrers["direct"]
        out.append(
            section(
                "Referrers",
                cards([("direct (no referer)", f"{direct:,} ({format_share(direct, total)})")]),
                f"<h3>Referring sites{escape(approx(data, 'referrers.sites'))}</h3>",
                table(["site", "requests"], sites, table_id="referrer-sites"),
                f"<h3>Referer URLs{escape(approx(data, 'referrers.urls'))}</h3>",
                table(["url", "requests"], urls, table_id="referrer-urls"),
            )
        )
    if "bandwidth" in data:
        bandwidth = data["bandwidth"]
        bps = bandwidth["p95_bps"]
        days = [[row["day"], _bytes(row["bytes"])] for row in bandwidth["by_day"]]
        paths = [[row["path"], _bytes(row["bytes"])] for row in bandwidth["top_paths"]]
        out.append(
            section(
                f"Bandwidth{approx(data, 'bandwidth')}",
                cards(
                    [
                        ("bytes sent", format_bytes(bandwidth["total_bytes"])),
                        ("95th percentile", "-" if bps is None else f"{bps:,.0f} bit/s"),
                    ]
                ),
                '<p class="note">95th percentile: the byte totals of every 5-minute interval '
                "from the first to the last request (empty ones count as 0), the 95th "
                "percentile of them in bits per second.</p>",
                table(["day (UTC)", "bytes"], days, table_id="bandwidth-by-day"),
                "<h3>Bytes per top path</h3>",
                table(["path", "bytes"], paths, table_id="bandwidth-paths"),
            )
        )
    if "virtual_hosts" in data:
        rows = [
            [
                row["host"],
                row["requests"],
                _bytes(row["bytes"]),
                *([_ms(row["p95"])] if timed else []),
            ]
            for row in data["virtual_hosts"]
        ]
        headers = ["host", "requests", "bytes", *(["p95 ms"] if timed else [])]
        out.append(
            section(
                f"Virtual hosts{approx(data, 'virtual_hosts')}",
                table(headers, rows, table_id="virtual-hosts"),
            )
        )
    return out


def _bytes(count: int | None) -> object:
    """Shown in KiB/MiB..., sorted by the byte count."""
    return None if count is None else (format_bytes(count), count)


def _ms(value: float | None) -> object:
    return None if value is None else (format_ms(value), value)
