"""The HTML report of ingest (``--format html``): figures, plots and tables of one run.

Sections: header (command, inputs, formats, failed inputs, mode, workers, date, elapsed), summary
cards, the latency histogram on a log axis with p50/p95/p99 marked, latency percentiles by method
and by status class (a note instead when no request has a latency), status classes and codes,
top paths, user agents and their families, the panels (visitors, hosts, referrers, bandwidth,
virtual hosts: :mod:`pipeline.ingest.report.html_panels`), the
timeline (requests and 5xx per bucket, p50/p95 per bucket, with hover tooltips) when the log has
times, malformed samples and notes. Everything is built from the JSON document of the result, so
the page shows exactly what ``--format json`` says.

Size bounds: tables list at most :data:`~pipeline.reporting.page.TABLE_ROWS` rows, the histogram has
at most 49 bins, and a timeline of more than :data:`MAX_TIMELINE_BUCKETS` buckets (possible with an
explicit ``--bucket``) is shown merged: ``k`` neighbouring buckets per point, requests and 5xx
summed, p50/p95 the largest of the merged buckets (an upper bound, not a percentile). The
embedded JSON then carries the merged rows and ``timeline.merged = k``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from pipeline.ingest.aggregate.agents import PARSED_LISTS
from pipeline.ingest.aggregate.partial import MINUTE_MS
from pipeline.ingest.aggregate.timeline import BUCKETS
from pipeline.ingest.report.html_panels import panels_sections
from pipeline.ingest.report.result import IngestResult
from pipeline.ingest.report.text import NO_LATENCY, has_latency
from pipeline.reporting.page import (
    CLASS_COLOURS,
    SERIES,
    PageContext,
    Plot,
    cards,
    escape,
    render_page,
    section,
    table,
)
from pipeline.reporting.text import footer, format_ms, format_share, json_document, printable

#: Timeline points in the page (the ``auto`` bucket never gives more). Legal range: 10 .. 1000.
MAX_TIMELINE_BUCKETS: Final[int] = 300

_PLOT_WIDTH: Final[int] = 1000
_TOOLS: Final[str] = "pan,wheel_zoom,box_zoom,reset,save"


def render_ingest_html(result: IngestResult, context: PageContext) -> str:
    """Render an :class:`IngestResult` as one self-contained HTML page."""
    data = json_document(result)
    timeline = data.get("timeline")
    if timeline is not None and len(timeline["rows"]) > MAX_TIMELINE_BUCKETS:
        data["timeline"] = merge_timeline(timeline, MAX_TIMELINE_BUCKETS)
    plots: list[Plot] = []
    timed = has_latency(data)
    body = [_summary(data), _failed(data)]
    if timed:
        body.append(_latency_section(data, plots))
    else:
        body.append(section("Latency", f'<p class="note">{escape(NO_LATENCY)}.</p>'))
    body.append(_status_section(data, plots))
    body.append(_paths_section(data))
    body.append(_agents_section(data, plots))
    body += panels_sections(data, _approx, timed)
    if data.get("timeline") is not None:
        body.append(_timeline_section(data["timeline"], plots))
    body.append(_lines_section(data))
    execution = data["execution"]
    return render_page(
        title=f"Ingest report: {context.path}",
        header=_header(data, context),
        body=body,
        plots=plots,
        footer=footer(execution["elapsed_s"], execution["mode"], execution["workers"]),
        result=result,
        embedded=data,
    )


def merge_timeline(timeline: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """At most ``limit`` rows: neighbours merged (counts summed, latencies the largest).

    >>> rows = [{"start": str(i), "requests": 1, "status_5xx": 0, "latency_p50": float(i),
    ...          "latency_p95": None} for i in range(5)]
    >>> merged = merge_timeline({"bucket": "1m", "rows": rows}, 2)
    >>> merged["merged"], [r["requests"] for r in merged["rows"]], merged["rows"][1]["latency_p50"]
    (3, [3, 2], 4.0)
    """
    rows = timeline["rows"]
    size = -(-len(rows) // limit)
    merged = []
    for i in range(0, len(rows), size):
        group = rows[i : i + size]
        merged.append(
            {
                "start": group[0]["start"],
                "requests": sum(row["requests"] for row in group),
                "status_5xx": sum(row["status_5xx"] for row in group),
                "latency_p50": _largest(row["latency_p50"] for row in group),
                "latency_p95": _largest(row["latency_p95"] for row in group),
            }
        )
    return {"bucket": timeline["bucket"], "merged": size, "rows": merged}


def _largest(values: Any) -> float | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def _approx(data: Mapping[str, Any], key: str) -> str:
    """`` (approx.)`` when the report flags a key's figures as not exact (``exact``)."""
    return " (approx.)" if data.get("exact", {}).get(key, True) is False else ""


def _header(data: Mapping[str, Any], context: PageContext) -> list[tuple[str, str]]:
    inputs, execution = data["inputs"], data["execution"]
    formats = ", ".join(f"{name} ({count:,} files)" for name, count in inputs["formats"].items())
    rows = [
        ("command", context.command),
        ("input", context.path),
        ("files", f"{inputs['files']:,} ({len(inputs['failed']):,} failed)"),
        ("formats", formats or "none"),
        ("mode", str(execution["mode"])),
        ("workers", str(execution["workers"])),
        ("generated", context.generated.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("elapsed", f"{execution['elapsed_s']:.3f} s"),
    ]
    time_range = data.get("time_range")
    if time_range is not None and time_range["first"] is not None:
        rows.append(("time range", f"{time_range['first']} .. {time_range['last']}"))
    return rows


def _summary(data: Mapping[str, Any]) -> str:
    lines, requests, latency = data["lines"], data["requests"], data["latency_ms"]
    total = requests["total"]
    classes = requests["by_status_class"]
    mark = _approx(data, "latency_ms")
    items: list[tuple[str, str]] = [
        ("requests", f"{total:,}"),
        ("lines parsed", f"{lines['parsed']:,}"),
        ("malformed", f"{lines['malformed']:,}"),
        ("filtered", f"{lines['filtered']:,}"),
        ("directives", f"{lines['directives']:,}"),
        ("error rate (5xx)", format_share(classes["5xx"], total)),
        ("4xx rate", format_share(classes["4xx"], total)),
    ]
    if has_latency(data):
        items += [
            (f"p50 ms{mark}", format_ms(latency["median"])),
            (f"p95 ms{mark}", format_ms(latency["p95"])),
            (f"p99 ms{mark}", format_ms(latency["p99"])),
        ]
    return section("Summary", cards(items))


def _failed(data: Mapping[str, Any]) -> str:
    failed = data["inputs"]["failed"]
    if not failed:
        return ""
    rows = [[entry["path"], entry["error"]] for entry in failed]
    return section("Failed inputs", table(["path", "error"], rows, table_id="failed-inputs"))


def _latency_section(data: Mapping[str, Any], plots: list[Plot]) -> str:
    latency = data["latency_ms"]
    histogram = data["latency_histogram"]
    parts = []
    if histogram:
        plots.append(Plot("latency-histogram", _histogram_figure(histogram, latency)))
        parts.append("{{plot:latency-histogram}}")
        parts.append(
            '<p class="note">Requests per latency bin, 4 bins per decade; the first bin holds '
            "latencies below 1 us. Dashed lines: p50, p95, p99.</p>"
        )
    else:
        parts.append('<p class="note">No latency in the input.</p>')
    keys = ("count", "mean", "median", "p90", "p95", "p99", "max")
    headers = ["scope", "count", "mean ms", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms"]
    for title, blocks, key in (
        ("by method", data["latency_by_method"], "method"),
        ("by status class", data["latency_by_status_class"], "class"),
    ):
        if not blocks:
            continue
        plot_key = f"latency-{key}"
        plots.append(Plot(plot_key, _percentile_figure(blocks, f"Latency percentiles {title}")))
        rows = [[name, *(_ms_cell(block, k) for k in keys)] for name, block in blocks.items()]
        parts.append(
            '<div class="cols"><div>{{plot:'
            + plot_key
            + "}}</div><div>"
            + table([key, *headers[1:]], rows, table_id=plot_key)
            + "</div></div>"
        )
    overall = [["all", *(_ms_cell(latency, k) for k in keys)]]
    parts.append(table(headers, overall, table_id="latency-all"))
    return section(f"Latency (ms){_approx(data, 'latency_ms')}", *parts)


def _ms_cell(block: Mapping[str, Any], key: str) -> object:
    value = block.get(key)
    if key == "count" or value is None:
        return value
    return (format_ms(value), value)


def _histogram_figure(histogram: Sequence[Mapping[str, Any]], latency: Mapping[str, Any]) -> Any:
    from bokeh.models import ColumnDataSource, HoverTool, Label, Span
    from bokeh.plotting import figure

    lows = [b["lo"] if b["lo"] > 0 else b["hi"] / 10**0.25 for b in histogram]
    source = ColumnDataSource(
        {
            "left": lows,
            "right": [b["hi"] for b in histogram],
            "count": [b["count"] for b in histogram],
            "range": [
                f"{format_ms(b['lo'])} .. {format_ms(b['hi'])} ms"
                if b["lo"] > 0
                else f"below {format_ms(b['hi'])} ms"
                for b in histogram
            ],
        }
    )
    fig = figure(
        title="Latency distribution (log axis)",
        x_axis_type="log",
        x_axis_label="latency (ms)",
        y_axis_label="requests",
        height=320,
        width=_PLOT_WIDTH,
        sizing_mode="stretch_width",
        tools=_TOOLS,
    )
    fig.quad(
        left="left",
        right="right",
        top="count",
        bottom=0,
        source=source,
        fill_color=SERIES[0],
        line_color="white",
        fill_alpha=0.8,
    )
    fig.add_tools(HoverTool(tooltips=[("latency", "@range"), ("requests", "@count{0,0}")]))
    for (name, key), colour in zip(
        (("p50", "median"), ("p95", "p95"), ("p99", "p99")), SERIES[1:], strict=False
    ):
        value = latency.get(key)
        if value is None or value <= 0:
            continue
        fig.add_layout(
            Span(
                location=value,
                dimension="height",
                line_color=colour,
                line_dash="dashed",
                line_width=2,
            )
        )
        fig.add_layout(
            Label(
                x=value,
                y=5,
                y_units="screen",
                text=f" {name} {format_ms(value)}",
                text_color=colour,
                text_font_size="11px",
            )
        )
    fig.y_range.start = 0
    return fig


def _percentile_figure(blocks: Mapping[str, Mapping[str, Any]], title: str) -> Any:
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    names = list(blocks)
    fig = figure(
        title=title,
        x_range=names,
        y_axis_type="log",
        y_axis_label="latency (ms, log axis)",
        height=300,
        width=480,
        sizing_mode="stretch_width",
        tools=_TOOLS,
    )
    for (label, key), colour in zip(
        (("p50", "median"), ("p95", "p95"), ("p99", "p99")), SERIES, strict=False
    ):
        xs = [n for n in names if (blocks[n].get(key) or 0) > 0]
        ys = [blocks[n][key] for n in xs]
        source = ColumnDataSource({"x": xs, "y": ys, "shown": [format_ms(y) for y in ys]})
        renderer = fig.scatter(
            "x", "y", source=source, size=10, color=colour, legend_label=label, marker="circle"
        )
        fig.add_tools(HoverTool(renderers=[renderer], tooltips=[(label, "@shown ms")]))
    fig.legend.location = "top_left"
    fig.legend.orientation = "horizontal"
    return fig


def _status_section(data: Mapping[str, Any], plots: list[Plot]) -> str:
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    requests = data["requests"]
    total = requests["total"]
    classes = requests["by_status_class"]
    source = ColumnDataSource(
        {
            "cls": list(classes),
            "count": list(classes.values()),
            "colour": [CLASS_COLOURS[c] for c in classes],
            "share": [format_share(n, total) for n in classes.values()],
        }
    )
    fig = figure(
        title="Requests by status class",
        x_range=list(classes),
        height=300,
        width=480,
        sizing_mode="stretch_width",
        tools=_TOOLS,
        y_axis_label="requests",
    )
    fig.vbar(x="cls", top="count", width=0.7, color="colour", source=source)
    fig.add_tools(
        HoverTool(tooltips=[("class", "@cls"), ("requests", "@count{0,0}"), ("share", "@share")])
    )
    fig.y_range.start = 0
    plots.append(Plot("status-classes", fig))
    rows = [
        [code, count, (format_share(count, total), count)]
        for code, count in sorted(requests["by_status"].items(), key=lambda kv: -kv[1])
    ]
    return section(
        "Status",
        '<div class="cols"><div>{{plot:status-classes}}</div><div>',
        table(["status", "requests", "share"], rows, table_id="status-codes"),
        "</div></div>",
    )


def _paths_section(data: Mapping[str, Any]) -> str:
    total = data["requests"]["total"]
    timed = has_latency(data)
    rows = [
        [
            entry["path"],
            entry["count"],
            (format_share(entry["count"], total), entry["count"]),
            *([_ms_cell(entry, "mean"), _ms_cell(entry, "p95")] if timed else []),
        ]
        for entry in data["top_paths"]
    ]
    headers = ["path", "requests", "share", *(["mean ms", "p95 ms"] if timed else [])]
    parts = [
        table(headers, rows, table_id="top-paths"),
        '<p class="note">Paths without their query string; click a header to sort.</p>',
    ]
    errors = data.get("top_errors")
    if errors:
        error_rows = [
            [entry["path"], entry["count"], entry["status_4xx"], entry["status_5xx"]]
            for entry in errors
        ]
        parts += [
            f"<h3>Top error paths (4xx and 5xx){escape(_approx(data, 'top_errors'))}</h3>",
            table(["path", "errors", "4xx", "5xx"], error_rows, table_id="top-errors"),
        ]
    return section(f"Top paths{_approx(data, 'top_paths')}", *parts)


def _agents_section(data: Mapping[str, Any], plots: list[Plot]) -> str:
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    agents = data["user_agents"]
    total = data["requests"]["total"]
    families = agents["by_family"]
    names = list(families)
    source = ColumnDataSource(
        {
            "family": names,
            "count": [families[n] for n in names],
            "share": [format_share(families[n], total) for n in names],
        }
    )
    fig = figure(
        title=f"Requests by user-agent family{_approx(data, 'user_agents.by_family')}",
        y_range=list(reversed(names)),
        height=260,
        width=480,
        sizing_mode="stretch_width",
        tools=_TOOLS,
        x_axis_label="requests",
    )
    fig.hbar(y="family", right="count", height=0.7, source=source, color=SERIES[4])
    fig.add_tools(
        HoverTool(
            tooltips=[("family", "@family"), ("requests", "@count{0,0}"), ("share", "@share")]
        )
    )
    fig.x_range.start = 0
    plots.append(Plot("agent-families", fig))
    rows = [
        [entry["user_agent"], entry["count"], (format_share(entry["count"], total), entry["count"])]
        for entry in agents["top"]
    ]
    return section(
        f"User agents ({agents['unique']:,} unique){_approx(data, 'user_agents.top')}",
        '<div class="cols"><div>{{plot:agent-families}}</div><div>',
        table(["user agent", "requests", "share"], rows, table_id="top-agents"),
        "</div></div>",
        *_parsed_agents(data, total),
    )


def _parsed_agents(data: Mapping[str, Any], total: int) -> list[str]:
    """Browsers, operating systems and devices (ua-parser families), side by side."""
    columns = []
    for key, title in PARSED_LISTS:
        rows = [
            [entry["name"], entry["count"], (format_share(entry["count"], total), entry["count"])]
            for entry in data["user_agents"].get(key) or []
        ]
        if rows:
            heading = f"<h3>{escape(title + _approx(data, 'user_agents.' + key))}</h3>"
            columns.append(
                f"<div>{heading}"
                + table([title.lower(), "requests", "share"], rows, table_id=f"agents-{key}")
                + "</div>"
            )
    return ['<div class="cols">' + "".join(columns) + "</div>"] if columns else []


def _timeline_section(timeline: Mapping[str, Any], plots: list[Plot]) -> str:
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    rows = timeline["rows"]
    if not rows:
        return section("Timeline", '<p class="note">No request with a time was kept.</p>')
    starts = [datetime.strptime(row["start"][:19], "%Y-%m-%dT%H:%M:%S") for row in rows]
    step = BUCKETS[timeline["bucket"]] * MINUTE_MS * timeline.get("merged", 1)
    source = ColumnDataSource(
        {
            "start": starts,
            "label": [row["start"] for row in rows],
            "requests": [row["requests"] for row in rows],
            "errors": [row["status_5xx"] for row in rows],
            "p50": [_nan(row["latency_p50"]) for row in rows],
            "p95": [_nan(row["latency_p95"]) for row in rows],
            "p50_shown": [format_ms(row["latency_p50"]) for row in rows],
            "p95_shown": [format_ms(row["latency_p95"]) for row in rows],
        }
    )
    tooltips = [
        ("bucket", "@label"),
        ("requests", "@requests{0,0}"),
        ("5xx", "@errors{0,0}"),
        ("p50 ms", "@p50_shown"),
        ("p95 ms", "@p95_shown"),
    ]
    counts = figure(
        title="Requests and 5xx per bucket",
        x_axis_type="datetime",
        height=280,
        width=_PLOT_WIDTH,
        sizing_mode="stretch_width",
        tools=_TOOLS,
        y_axis_label="requests",
    )
    counts.vbar(
        x="start",
        top="requests",
        width=step * 0.9,
        source=source,
        color=SERIES[0],
        legend_label="requests",
    )
    counts.vbar(
        x="start",
        top="errors",
        width=step * 0.9,
        source=source,
        color=CLASS_COLOURS["5xx"],
        legend_label="5xx",
    )
    counts.add_tools(HoverTool(tooltips=tooltips, mode="vline"))
    counts.y_range.start = 0
    counts.legend.location = "top_left"
    latency = figure(
        title="Latency per bucket (ms)",
        x_axis_type="datetime",
        x_range=counts.x_range,
        height=280,
        width=_PLOT_WIDTH,
        sizing_mode="stretch_width",
        tools=_TOOLS,
        y_axis_label="ms",
    )
    latency.line("start", "p50", source=source, color=SERIES[1], legend_label="p50", line_width=2)
    latency.line("start", "p95", source=source, color=SERIES[2], legend_label="p95", line_width=2)
    latency.add_tools(HoverTool(tooltips=tooltips, mode="vline"))
    latency.legend.location = "top_left"
    plots.append(Plot("timeline-requests", counts))
    has_latency = any(row["latency_p50"] is not None for row in rows)
    if has_latency:
        plots.append(Plot("timeline-latency", latency))
    merged = timeline.get("merged")
    per = (
        f"{len(rows):,} buckets of {timeline['bucket']}"
        if merged is None
        else f"{len(rows):,} points of {merged} x {timeline['bucket']} (merged to stay within "
        f"{MAX_TIMELINE_BUCKETS} points: requests summed, p50/p95 the largest)"
    )
    return section(
        "Timeline (UTC)",
        f'<p class="note">{escape(per)}.</p>',
        "{{plot:timeline-requests}}",
        "{{plot:timeline-latency}}" if has_latency else "",
    )


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _lines_section(data: Mapping[str, Any]) -> str:
    lines = data["lines"]
    parts = []
    if data["notes"]:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in data["notes"]) + "</ul>")
    bounds = data.get("error_bounds") or {}
    if bounds:
        parts.append(
            "<p>Approximate figures (marked approx.; everything else is exact):</p><ul>"
            + "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in bounds.items())
            + "</ul>"
        )
    samples = lines["malformed_samples"]
    if samples:
        parts.append(
            f"<p>{lines['malformed']:,} malformed lines; the first {len(samples)}:</p>"
            + "".join(f"<pre>{escape(_sample(s))}</pre>" for s in samples)
        )
    if not parts:
        return ""
    return section("Notes and malformed lines", *parts)


def _sample(sample: Mapping[str, Any]) -> str:
    """``file:line: text``, control characters written as visible escapes (as in the text
    report); the caller HTML-escapes it."""
    return printable(f"{sample['file']}:{sample['line']}: {sample['text']}")
