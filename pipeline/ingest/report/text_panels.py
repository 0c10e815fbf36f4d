"""The panels of the text report: visitors, hosts, referrers, bandwidth, virtual hosts.

Each panel that the JSON document has becomes a titled table (the title marked ``~`` when its
``exact`` flag is false, as the other tables); a panel the document lacks (its format has no
such field) is left out. Day lists longer than :data:`TEXT_DAYS` show their last days, with a
line saying how many are left out (the JSON has them all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from pipeline.reporting.text import Cell, format_bytes, format_ms, format_share, format_table

#: Most rows of a per-day table in the text report (the latest days are shown).
TEXT_DAYS: Final[int] = 31

Title = Callable[[Mapping[str, Any], str, str], str]
Short = Callable[[str, int], str]
Count = Callable[[Mapping[str, Any]], object]


def panels_text(data: Mapping[str, Any], title: Title, short: Short, timed: bool) -> list[str]:
    """The panels' lines, each table preceded by a blank line and its title.

    ``title(data, key, text)`` marks approximate tables; ``short(text, width)`` escapes and cuts
    text from the input; ``timed``: some request has a latency (else no ``p95 ms`` column).
    """
    p95 = ["p95 ms"] if timed else []
    total = data["requests"]["total"]
    parts: list[str] = []
    if "visitors" in data:
        visitors = data["visitors"]
        parts += ["", title(data, "visitors", f"Unique visitors: {visitors['total']:,}")]
        parts += _days(visitors["by_day"], "visitors", lambda n: n)
    if "hosts" in data:
        rows = [
            [
                short(row["client"], 40),
                _count(row),
                Cell(format_share(row["requests"], total)),
                _bytes(row["bytes"]),
                *([Cell(format_ms(row["p95"]))] if timed else []),
            ]
            for row in data["hosts"]
        ]
        parts += ["", title(data, "hosts", "Hosts (client addresses)")]
        parts.append(format_table(["client", "requests", "share", "bytes", *p95], rows))
    if "referrers" in data:
        referrers = data["referrers"]
        for key, label in (("sites", "site"), ("urls", "url")):
            rows = [
                [short(row[label], 56), _count(row), Cell(format_share(row["requests"], total))]
                for row in referrers[key]
            ]
            name = "Referring sites" if key == "sites" else "Referer URLs"
            parts += ["", title(data, f"referrers.{key}", name)]
            parts.append(format_table([label, "requests", "share"], rows))
        direct = referrers["direct"]
        parts.append(f"direct (no referer): {direct:,} ({format_share(direct, total)})")
    if "bandwidth" in data:
        bandwidth = data["bandwidth"]
        bps = bandwidth["p95_bps"]
        shown = "-" if bps is None else f"{bps:,.0f} bit/s"
        parts += [
            "",
            title(data, "bandwidth", "Bandwidth"),
            f"{format_bytes(bandwidth['total_bytes'])} sent; 95th percentile of "
            f"{bandwidth['interval_s'] // 60}-minute intervals: {shown}",
        ]
        parts += _days(bandwidth["by_day"], "bytes", format_bytes)
    if "virtual_hosts" in data:
        rows = [
            [
                short(row["host"], 40),
                _count(row),
                _bytes(row["bytes"]),
                *([Cell(format_ms(row["p95"]))] if timed else []),
            ]
            for row in data["virtual_hosts"]
        ]
        parts += ["", title(data, "virtual_hosts", "Virtual hosts")]
        parts.append(format_table(["host", "requests", "bytes", *p95], rows))
    return parts


def _count(row: Mapping[str, Any]) -> Cell | int:
    """``requests``; a lower bound (``count_error`` > 0) shows as ``N+``."""
    count: int = row["requests"]
    return Cell(f"{count:,}+") if row.get("count_error") else count


def _bytes(count: int | None) -> Cell:
    return Cell("-" if count is None else format_bytes(count))


def _days(rows: list[Mapping[str, Any]], key: str, shown: Callable[[int], object]) -> list[str]:
    """A per-day table of the last :data:`TEXT_DAYS` days."""
    if not rows:
        return []
    kept = rows[-TEXT_DAYS:]
    table = format_table(
        ["day (UTC)", key],
        [[row["day"], _cell(shown(row[key]))] for row in kept],
    )
    left = len(rows) - len(kept)
    return [table] + ([f"({left:,} earlier days in the JSON report)"] if left else [])


def _cell(value: object) -> object:
    return Cell(value) if isinstance(value, str) else value
