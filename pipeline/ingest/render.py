"""The text report of ingest: aligned tables built with :func:`pipeline.report.format_table`."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any, Final

from pipeline.ingest.result import IngestResult
from pipeline.ingest.stats import LATENCY_KEYS
from pipeline.report import format_table


def render_ingest(result: IngestResult) -> str:
    """Render an :class:`IngestResult` as readable plain text (``--format text``)."""
    data = result.to_dict()
    lines, inputs, requests = data["lines"], data["inputs"], data["requests"]
    formats = ", ".join(f"{_short(name)} ({count:,})" for name, count in inputs["formats"].items())
    parts = [
        "Ingest report",
        "",
        f"Files: {inputs['files']:,} ({len(inputs['failed'])} failed)",
        f"Formats: {formats or 'none'}",
        f"Lines: {lines['total']:,} (parsed {lines['parsed']:,}, malformed "
        f"{lines['malformed']:,}, filtered {lines['filtered']:,})",
        f"Requests: {requests['total']:,}"
        + (f" ({requests['bytes_sent']:,} bytes sent)" if "bytes_sent" in requests else ""),
        _time_range(data.get("time_range")),
    ]
    if data["notes"]:
        parts += ["", "Notes"] + [
            textwrap.fill(note, 100, initial_indent="  - ", subsequent_indent="    ")
            for note in data["notes"]
        ]
    if inputs["failed"]:
        parts += ["", "Failed inputs", format_table(["path", "error"], _rows(inputs["failed"]))]
    if lines["malformed_samples"]:
        parts += ["", "Malformed samples"] + [f"  {line!r}" for line in lines["malformed_samples"]]
    parts += [
        "",
        "Requests by method",
        format_table(["method", "requests"], list(requests["by_method"].items())),
        "",
        "Requests by status class",
        format_table(["class", "requests"], list(requests["by_status_class"].items())),
        "",
        "Requests by status",
        format_table(["status", "requests"], list(requests["by_status"].items())),
        "",
        "Latency (ms)",
        _latency_table({"all": data["latency_ms"]}, "scope"),
        "",
        "Latency by method (ms)",
        _latency_table(data["latency_by_method"], "method"),
        "",
        "Latency by status class (ms)",
        _latency_table(data["latency_by_status_class"], "class"),
        "",
        "Top paths (latency in ms)",
        format_table(
            ["path", "count", "share %", "mean", "p50", "p95", "p99"],
            [
                [
                    row["path"],
                    row["count"],
                    None if row["share"] is None else 100 * row["share"],
                    row["mean"],
                    row["p50"],
                    row["p95"],
                    row["p99"],
                ]
                for row in data["top_paths"]
            ],
        ),
        "",
        "Top error paths (4xx and 5xx)",
        format_table(["path", "errors", "4xx", "5xx"], _rows(data["top_errors"])),
        "",
        f"User agents: {data['user_agents']['unique']:,} unique",
        format_table(["user agent", "count"], _rows(data["user_agents"]["top"])),
        "",
        "Requests by user-agent family",
        format_table(["family", "requests"], list(data["user_agents"]["by_family"].items())),
    ]
    if "timeline" in data and data["timeline"]["rows"]:
        parts += ["", *timeline_text(data["timeline"])]
    parts += ["", _execution(data["execution"])]
    return "\n".join(parts) + "\n"


def _short(name: str, width: int = 60) -> str:
    """A pasted format's name cut to ``width`` characters for the text report (JSON has it all)."""
    return name if len(name) <= width else name[: width - 3] + "..."


def _time_range(time_range: Mapping[str, Any] | None) -> str:
    if time_range is None:
        return "Time range: none (the log format has no time field)"
    if time_range["first"] is None:
        return "Time range: none (no request with a time was kept)"
    untimed = time_range["requests_without_time"]
    extra = f" ({untimed:,} requests without a time)" if untimed else ""
    return f"Time range: {time_range['first']} .. {time_range['last']}{extra}"


#: Sparkline width; with the 16-character label this keeps the timeline within 100 columns.
SPARK_WIDTH: Final[int] = 80
_SPARKS: Final[str] = " ▁▂▃▄▅▆▇█"


def timeline_text(timeline: Mapping[str, Any]) -> list[str]:
    """A compact timeline: one sparkline of requests and one of p95 latency per bucket.

    When there are more buckets than :data:`SPARK_WIDTH`, consecutive buckets are merged for
    display only: requests are summed and the p95 shown is the largest p95 of the merged ones.
    """
    rows = timeline["rows"]
    groups = -(-len(rows) // SPARK_WIDTH)
    merged = [rows[i : i + groups] for i in range(0, len(rows), groups)]
    requests: list[float | None] = [
        float(sum(row["requests"] for row in group)) for group in merged
    ]
    p95 = [
        max((row["latency_p95"] for row in group if row["latency_p95"] is not None), default=None)
        for group in merged
    ]
    per = timeline["bucket"] if groups == 1 else f"{groups} x {timeline['bucket']}"
    peak = max((value or 0.0) for value in requests)
    lines = [
        f"Timeline ({len(rows):,} bucket{'s' if len(rows) != 1 else ''} of {timeline['bucket']}; "
        f"one column = {per}; "
        f"from {rows[0]['start']})",
        f"{'requests':<15} {_spark(requests)}  max {peak:,.0f}",
    ]
    known = [value for value in p95 if value is not None]
    if known:
        lines.append(f"{'p95 latency ms':<15} {_spark(p95)}  max {max(known):,.3f}")
    return lines


def _spark(values: list[float | None]) -> str:
    known = [value for value in values if value is not None]
    top = max(known) if known else 0.0
    out = []
    for value in values:
        if value is None or value == 0:
            out.append(" ")
        elif top <= 0:
            out.append(_SPARKS[1])
        else:
            out.append(_SPARKS[max(1, round(value / top * (len(_SPARKS) - 1)))])
    return "".join(out)


def _rows(entries: list[dict[str, Any]]) -> list[list[Any]]:
    return [list(entry.values()) for entry in entries]


def _latency_table(blocks: Mapping[str, Mapping[str, Any]], label: str) -> str:
    rows = [[name, *(block[key] for key in LATENCY_KEYS)] for name, block in blocks.items()]
    return format_table([label, *LATENCY_KEYS], rows)


def _execution(execution: Mapping[str, Any]) -> str:
    return (
        f"Computed in {execution['elapsed_s']:.3f} s "
        f"(mode {execution['mode']}, {execution['workers']} workers)"
    )
