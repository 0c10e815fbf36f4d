"""The text report of ingest: aligned tables built with
:func:`pipeline.reporting.text.format_table`."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any, Final

from pipeline.ingest.aggregate.agents import PARSED_LISTS
from pipeline.ingest.report.result import IngestResult
from pipeline.ingest.report.text_panels import panels_text
from pipeline.reporting.text import (
    Cell,
    footer,
    format_bytes,
    format_ms,
    format_share,
    format_table,
    printable,
    printable_cut,
    report_header,
)

#: Longest path or user agent shown in a text table (longer ones end with an ellipsis), so the
#: tables fit 100 columns. The JSON report has them whole.
TEXT_WIDTH: Final[int] = 56

#: Columns the text report fits (tables, notes, malformed samples).
REPORT_WIDTH: Final[int] = 100

#: Keys ``--exact`` makes exact (their percentiles, and the counts of the listed top paths).
EXACT_FIXES: Final[frozenset[str]] = frozenset(
    {"latency_ms", "latency_by_method", "latency_by_status_class", "top_paths", "timeline"}
)

#: The note of a text report whose percentiles were sketched, on how to get them exact.
EXACT_NOTE: Final[str] = (
    "--exact gives exact percentiles (and exact counts for the listed paths) in the same "
    "memory: it reads the input again, about the time of one more run per extra pass "
    "(usually one, rarely two)"
)

#: Marks approximate figures (the JSON's ``exact`` flags) in the text report.
APPROXIMATE: Final[str] = "~"

#: Latency statistics in the text tables (``min`` and ``std`` are in the JSON report).
TEXT_LATENCY_KEYS: Final[tuple[str, ...]] = ("count", "mean", "median", "p90", "p95", "p99", "max")


def render_ingest(result: IngestResult) -> str:
    """Render an :class:`IngestResult` as readable plain text (``--format text``).

    Text from the input (paths, agents, file names, malformed lines) has its control characters
    escaped (:func:`pipeline.reporting.text.printable`), so no escape sequence reaches the terminal.
    """
    data = result.to_dict()
    lines, inputs, requests = data["lines"], data["inputs"], data["requests"]
    timed = has_latency(data)
    total = requests["total"]
    formats = ", ".join(
        f"{_short(name, 60)} ({count:,})" for name, count in inputs["formats"].items()
    )
    sent = f" ({format_bytes(requests['bytes_sent'])} sent)" if "bytes_sent" in requests else ""
    parts = report_header(
        "Ingest report",
        [
            ("files", f"{inputs['files']:,} ({len(inputs['failed']):,} failed)"),
            ("formats", printable(formats or "none")),
            (
                "lines",
                f"{lines['total']:,} (parsed {lines['parsed']:,}, malformed "
                f"{lines['malformed']:,}, filtered {lines['filtered']:,}"
                + (f", directives {lines['directives']:,})" if lines["directives"] else ")"),
            ),
            ("requests", f"{total:,}{sent}"),
            ("time range", _time_range(data.get("time_range"))),
        ],
    )
    if data["notes"]:
        parts += ["", "Notes"] + [wrap_note(note) for note in data["notes"]]
    if inputs["failed"]:
        parts += ["", "Failed inputs", format_table(["path", "error"], _rows(inputs["failed"]))]
    if lines["malformed_samples"]:
        parts += ["", f"Malformed lines (first {len(lines['malformed_samples'])})"]
        parts += [line for sample in lines["malformed_samples"] for line in _sample(sample)]
    parts += [
        "",
        "Requests by method",
        _count_table("method", requests["by_method"], total),
        "",
        "Requests by status class",
        _count_table("class", requests["by_status_class"], total),
        "",
        "Requests by status",
        _count_table("status", requests["by_status"], total),
        *_latency_tables(data),
        "",
        _title(data, "top_paths", "Top paths" + (" (latency in ms)" if timed else "")),
        format_table(
            ["path", "requests", "share", *(["p50 ms", "p95 ms", "p99 ms"] if timed else [])],
            [
                [
                    _short(row["path"], 40),
                    _count(row),
                    Cell("-" if row["share"] is None else f"{100 * row['share']:.1f} %"),
                    *(
                        [Cell(format_ms(row[key])) for key in ("p50", "p95", "p99")]
                        if timed
                        else []
                    ),
                ]
                for row in data["top_paths"]
            ],
        ),
        "",
        _title(data, "top_errors", "Top error paths (4xx and 5xx)"),
        format_table(
            ["path", "errors", "4xx", "5xx"],
            [
                [_short(row["path"]), _count(row), row["status_4xx"], row["status_5xx"]]
                for row in data["top_errors"]
            ],
        ),
        "",
        _title(data, "user_agents.top", f"User agents: {data['user_agents']['unique']:,} unique"),
        format_table(
            ["user agent", "requests", "share"],
            [
                [
                    _short(entry["user_agent"]),
                    _count(entry),
                    Cell(format_share(entry["count"], total)),
                ]
                for entry in data["user_agents"]["top"]
            ],
        ),
        "",
        _title(data, "user_agents.by_family", "Requests by user-agent family"),
        _count_table("family", data["user_agents"]["by_family"], total),
        *_parsed_agents(data, total),
        *panels_text(data, _title, _short, timed),
    ]
    if "timeline" in data and data["timeline"]["rows"]:
        parts += ["", *timeline_text(data["timeline"])]
        if not data["exact"].get("timeline", True):
            parts[-1] += f"  {APPROXIMATE}"
    if data["error_bounds"]:
        parts += ["", f"{APPROXIMATE} approximate figures (everything else is exact)"]
        parts += [wrap_note(f"{key}: {bound}") for key, bound in data["error_bounds"].items()]
        if data["execution"].get("passes", 1) == 1 and EXACT_FIXES & set(data["error_bounds"]):
            parts.append(wrap_note(EXACT_NOTE))
    execution = data["execution"]
    parts += ["", footer(execution["elapsed_s"], execution["mode"], execution["workers"])]
    return "\n".join(parts) + "\n"


def has_latency(data: Mapping[str, Any]) -> bool:
    """Whether any request counted has a latency (else the latency tables are left out)."""
    return bool(data["latency_ms"]["count"])


#: What the text and HTML reports say in place of the latency tables of a log without latency.
NO_LATENCY: Final[str] = (
    "Latency: no request counted has a latency (the notes say which formats have no latency "
    "field), so the latency tables are left out; the JSON report keeps its latency keys, empty"
)


def _latency_tables(data: Mapping[str, Any]) -> list[str]:
    """The three latency tables, or one line saying why there are none."""
    if not has_latency(data):
        return ["", textwrap.fill(NO_LATENCY, REPORT_WIDTH)]
    return [
        "",
        _title(data, "latency_ms", "Latency (ms)"),
        _latency_table({"all": data["latency_ms"]}, "scope"),
        "",
        _title(data, "latency_by_method", "Latency by method (ms)"),
        _latency_table(data["latency_by_method"], "method"),
        "",
        _title(data, "latency_by_status_class", "Latency by status class (ms)"),
        _latency_table(data["latency_by_status_class"], "class"),
    ]


def _title(data: Mapping[str, Any], key: str, title: str) -> str:
    """A table title, marked when the report flags its figures approximate."""
    return title if data["exact"].get(key, True) else f"{title}  {APPROXIMATE} approximate"


def _count(row: Mapping[str, Any]) -> Cell | int:
    """A top-list count; a lower bound (``count_error`` > 0) shows as ``N+``."""
    count: int = row["count"]
    return Cell(f"{count:,}+") if row.get("count_error") else count


def _parsed_agents(data: Mapping[str, Any], total: int) -> list[str]:
    """Browsers, operating systems and devices (ua-parser families), one table each."""
    parts: list[str] = []
    for key, title in PARSED_LISTS:
        rows = data["user_agents"].get(key) or []
        if not rows:
            continue
        table = format_table(
            [title.lower(), "requests", "share"],
            [
                [_short(row["name"]), _count(row), Cell(format_share(row["count"], total))]
                for row in rows
            ],
        )
        parts += ["", _title(data, f"user_agents.{key}", title), table]
    return parts


def _count_table(label: str, counts: Mapping[str, int], total: int) -> str:
    rows = [[key, count, Cell(format_share(count, total))] for key, count in counts.items()]
    return format_table([label, "requests", "share"], rows)


def wrap_note(note: str) -> str:
    """A note as ``  - text`` lines of at most 100 columns, control characters escaped; a word
    longer than a line is kept whole, so an escape is never split across lines."""
    return textwrap.fill(
        printable(note),
        REPORT_WIDTH,
        initial_indent="  - ",
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _short(text: str, width: int = TEXT_WIDTH) -> str:
    """Control characters escaped, then cut to ``width`` characters with an ellipsis, never in
    the middle of an escape (the JSON report has the whole text)."""
    return printable_cut(text, width)


def _sample(sample: Mapping[str, Any]) -> list[str]:
    """``  file:line: text``, control characters escaped; when that passes the report's 100
    columns, the text goes on a line of its own, and each line is cut with an ellipsis."""
    where = f"{sample['file']}:{sample['line']}:"
    one = printable(f"  {where} {sample['text']}")
    if len(one) <= REPORT_WIDTH:
        return [one]
    return [
        printable_cut(f"  {where}", REPORT_WIDTH),
        printable_cut(f"    {sample['text']}", REPORT_WIDTH),
    ]


def _time_range(time_range: Mapping[str, Any] | None) -> str:
    if time_range is None:
        return "none (the log format has no time field)"
    if time_range["first"] is None:
        return "none (no request with a time was kept)"
    untimed = time_range["requests_without_time"]
    extra = f" ({untimed:,} requests without a time)" if untimed else ""
    return f"{time_range['first']} .. {time_range['last']}{extra}"


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
        lines.append(f"{'p95 latency ms':<15} {_spark(p95)}  max {format_ms(max(known))}")
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
    rows = [
        [name, *(_ms(block, key) for key in TEXT_LATENCY_KEYS)] for name, block in blocks.items()
    ]
    headers = ["p50" if key == "median" else key for key in TEXT_LATENCY_KEYS]
    return format_table([label, *headers], rows)


def _ms(block: Mapping[str, Any], key: str) -> object:
    return block[key] if key == "count" else Cell(format_ms(block[key]))
