"""The HTML report of prime (``--format html``): per-range figures and the union summary.

Sections: header (command, input, ranges, union size, mode, workers, segments, date, elapsed),
union summary cards (the Nth prime with ``--nth``, the tuplets with ``--tuplets``), density
against range position (log axis, with the prime number theorem's
1/ln(x) for reference), primes per range, twin pairs and the largest gap per range, the table of
ranges (with tuplet columns with ``--tuplets``), the first primes of the union.

Size bounds: with more than :data:`MAX_PLOTTED_RANGES` ranges, the plots show groups instead of
ranges: the ranges sorted by start are cut into :data:`MAX_PLOTTED_RANGES` groups of consecutive
ranges, each group plotted once (primes and twin pairs summed, density = summed primes / summed
range lengths, largest gap the largest of the group). The table lists the first
:data:`~pipeline.reporting.page.TABLE_ROWS` ranges in input order, and the embedded JSON keeps the
first :data:`MAX_PLOTTED_RANGES` entries of ``ranges`` and adds ``ranges_omitted`` (how many were
cut).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pipeline.prime.report.result import PrimeResult
from pipeline.reporting.page import (
    SERIES,
    PageContext,
    Plot,
    cards,
    escape,
    render_page,
    section,
    table,
)
from pipeline.reporting.text import footer, json_document, plural

#: Plotted points (ranges, or groups of ranges beyond this). Legal range: 10 .. 10,000.
MAX_PLOTTED_RANGES: Final[int] = 1000

_TOOLS: Final[str] = "pan,wheel_zoom,box_zoom,reset,save"


def render_prime_html(result: PrimeResult, context: PageContext) -> str:
    """Render a :class:`PrimeResult` as one self-contained HTML page."""
    data = json_document(result)
    ranges: list[dict[str, Any]] = data["ranges"]
    embedded = dict(data)
    if len(ranges) > MAX_PLOTTED_RANGES:
        embedded["ranges"] = ranges[:MAX_PLOTTED_RANGES]
        embedded["ranges_omitted"] = len(ranges) - MAX_PLOTTED_RANGES
    points, grouped = plot_points(ranges, MAX_PLOTTED_RANGES)
    plots = [
        Plot("density", _density_figure(points, grouped)),
        Plot("counts", _counts_figure(points, grouped)),
        Plot("twins-gaps", _twins_gaps_figure(points, grouped)),
    ]
    execution = data["execution"]
    note = (
        f'<p class="note">{len(ranges):,} ranges, plotted as {len(points):,} groups of '
        f"consecutive ranges (sorted by start): primes and twin pairs summed, density over the "
        f"group, largest gap the largest.</p>"
        if grouped
        else ""
    )
    body = [
        _summary(data, result.covered),
        section(
            "Density against range position",
            note,
            "{{plot:density}}",
            '<p class="note">x: the middle of each range (log axis); the line is 1/ln(x), the '
            "density the prime number theorem predicts.</p>",
        ),
        section("Primes per range", "{{plot:counts}}"),
        section("Twin pairs and largest gap per range", "{{plot:twins-gaps}}"),
        section("Ranges", _ranges_table(ranges)),
        section(
            "First primes of the union",
            f"<pre>{escape(', '.join(str(p) for p in data['first_primes']) or '-')}</pre>",
        ),
    ]
    if "primes_out" in data:
        body.append(section("Output", f"<p>primes written to {escape(data['primes_out'])}</p>"))
    return render_page(
        title=f"Prime report: {context.path}",
        header=[
            ("command", context.command),
            ("input", context.path),
            ("ranges", plural(len(ranges), "range")),
            ("union", plural(result.covered, "integer")),
            ("mode", str(execution["mode"])),
            ("workers", str(execution["workers"])),
            ("segments", f"{execution['segments']:,}"),
            ("generated", context.generated.strftime("%Y-%m-%d %H:%M:%S UTC")),
            ("elapsed", f"{execution['elapsed_s']:.3f} s"),
        ],
        body=body,
        plots=plots,
        footer=footer(execution["elapsed_s"], execution["mode"], execution["workers"]),
        result=result,
        embedded=embedded,
    )


def plot_points(
    ranges: Sequence[Mapping[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """One point per range, or per group of ranges when there are more than ``limit``.

    Returns the points (``index``, ``label``, ``start``, ``end``, ``count``, ``density``,
    ``twin_pairs``, ``max_gap``) and whether they are groups.

    >>> points, grouped = plot_points([{"start": 0, "end": 9, "count": 4, "twin_pairs": 2,
    ...     "max_gap": {"gap": 2, "after": 3}, "name": None}] * 3, 2)
    >>> grouped, [p["count"] for p in points], points[0]["density"]
    (True, [8, 4], 0.4)
    """
    if len(ranges) <= limit:
        return [
            {
                "index": i,
                "label": f"#{i}",
                "start": r["start"],
                "end": r["end"],
                "count": r["count"],
                "density": r["density"],
                "twin_pairs": r["twin_pairs"],
                "max_gap": r["max_gap"]["gap"] if r["max_gap"] else None,
            }
            for i, r in enumerate(ranges)
        ], False
    ordered = sorted(ranges, key=lambda r: (r["start"], r["end"]))
    size = -(-len(ordered) // limit)
    points = []
    for g, i in enumerate(range(0, len(ordered), size)):
        group = ordered[i : i + size]
        count = sum(r["count"] for r in group)
        width = sum(r["end"] - r["start"] + 1 for r in group)
        gaps = [r["max_gap"]["gap"] for r in group if r["max_gap"]]
        points.append(
            {
                "index": g,
                "label": f"group {g} ({len(group)} ranges)",
                "start": group[0]["start"],
                "end": max(r["end"] for r in group),
                "count": count,
                "density": count / width,
                "twin_pairs": sum(r["twin_pairs"] for r in group),
                "max_gap": max(gaps) if gaps else None,
            }
        )
    return points, True


def _summary(data: Mapping[str, Any], covered: int) -> str:
    density = data["density"]
    nth = (
        [("nth prime", f"#{data['nth']['n']:,}: {data['nth']['prime']:,}")] if "nth" in data else []
    )
    tuplets = [(name, f"{n:,}") for name, n in data.get("tuplets", {}).items() if name != "twins"]
    return section(
        "Union of the ranges",
        cards(
            [
                *nth,
                ("primes", f"{data['total_primes']:,}"),
                ("integers", f"{covered:,}"),
                ("density", f"{density['overall']:.4g}"),
                ("twin pairs", f"{data['twin_pairs']:,}"),
                ("smallest", _num(data["smallest"])),
                ("largest", _num(data["largest"])),
                ("density min / max", f"{density['min']:.4g} / {density['max']:.4g}"),
                *tuplets,
            ]
        ),
    )


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _source(points: Sequence[Mapping[str, Any]]) -> Any:
    from bokeh.models import ColumnDataSource

    return ColumnDataSource(
        {
            "index": [p["index"] for p in points],
            "label": [p["label"] for p in points],
            "mid": [max((p["start"] + p["end"]) / 2, 1.0) for p in points],
            "span": [f"{p['start']:,} .. {p['end']:,}" for p in points],
            "count": [p["count"] for p in points],
            "density": [p["density"] for p in points],
            "density_shown": [f"{p['density']:.4g}" for p in points],
            "twins": [p["twin_pairs"] for p in points],
            "gap": [math.nan if p["max_gap"] is None else p["max_gap"] for p in points],
        }
    )


#: Hover of every prime plot: index-derived labels and numbers only (range names are untrusted
#: and stay in the escaped table).
_TOOLTIPS: Final[list[tuple[str, str]]] = [
    ("range", "@label"),
    ("span", "@span"),
    ("primes", "@count{0,0}"),
    ("density", "@density_shown"),
    ("twin pairs", "@twins{0,0}"),
    ("largest gap", "@gap"),
]


def _density_figure(points: Sequence[Mapping[str, Any]], grouped: bool) -> Any:
    from bokeh.models import HoverTool
    from bokeh.plotting import figure

    source = _source(points)
    fig = figure(
        title="Density against range position" + (" (groups of ranges)" if grouped else ""),
        x_axis_type="log",
        x_axis_label="middle of the range (log axis)",
        y_axis_label="primes per integer",
        height=340,
        sizing_mode="stretch_width",
        tools=_TOOLS,
    )
    renderer = fig.scatter(
        "mid", "density", source=source, size=8, color=SERIES[0], legend_label="density"
    )
    mids = sorted(m for m in source.data["mid"] if m > 2)
    if mids:
        lo, hi = math.log(mids[0]), math.log(mids[-1])
        xs = [math.exp(lo + (hi - lo) * k / 100) for k in range(101)]
        fig.line(
            xs,
            [1 / math.log(x) for x in xs],
            color=SERIES[1],
            line_dash="dashed",
            legend_label="1/ln(x)",
        )
    fig.add_tools(HoverTool(renderers=[renderer], tooltips=_TOOLTIPS))
    fig.legend.location = "top_right"
    return fig


def _counts_figure(points: Sequence[Mapping[str, Any]], grouped: bool) -> Any:
    from bokeh.models import HoverTool
    from bokeh.plotting import figure

    fig = figure(
        title="Primes per " + ("group of ranges" if grouped else "range (input order)"),
        x_axis_label="group" if grouped else "range index",
        y_axis_label="primes (log axis)",
        y_axis_type="log",
        height=280,
        sizing_mode="stretch_width",
        tools=_TOOLS,
    )
    fig.vbar(x="index", top="count", width=0.8, source=_source(points), color=SERIES[0], bottom=0.5)
    fig.add_tools(HoverTool(tooltips=_TOOLTIPS))
    return fig


def _twins_gaps_figure(points: Sequence[Mapping[str, Any]], grouped: bool) -> Any:
    from bokeh.models import HoverTool, LinearAxis, Range1d
    from bokeh.plotting import figure

    source = _source(points)
    fig = figure(
        title="Twin pairs (bars, left axis) and largest gap (dots, right axis)",
        x_axis_label="group" if grouped else "range index",
        y_axis_label="twin pairs",
        height=280,
        sizing_mode="stretch_width",
        tools=_TOOLS,
    )
    fig.vbar(
        x="index", top="twins", width=0.8, source=source, color=SERIES[3], legend_label="twin pairs"
    )
    gaps = [g for g in source.data["gap"] if not math.isnan(g)]
    fig.extra_y_ranges = {"gap": Range1d(0, (max(gaps) if gaps else 1) * 1.1)}
    fig.add_layout(LinearAxis(y_range_name="gap", axis_label="largest gap"), "right")
    fig.scatter(
        "index",
        "gap",
        source=source,
        y_range_name="gap",
        size=8,
        color=SERIES[2],
        legend_label="largest gap",
    )
    fig.add_tools(HoverTool(tooltips=_TOOLTIPS))
    fig.y_range.start = 0
    fig.legend.location = "top_left"
    return fig


def _ranges_table(ranges: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        [
            r["name"] if r["name"] is not None else f"#{i}",
            r["start"],
            r["end"],
            r["count"],
            (f"{r['density']:.4g}", r["density"]),
            r["twin_pairs"],
            r["max_gap"]["gap"] if r["max_gap"] else None,
            r["max_gap"]["after"] if r["max_gap"] else None,
            *(list(r["tuplets"].values())[1:] if "tuplets" in r else []),
        ]
        for i, r in enumerate(ranges)
    ]
    headers = ["range", "start", "end", "primes", "density", "twins", "max gap", "after"]
    if ranges and "tuplets" in ranges[0]:
        headers += ["triplets", "quadruplets", "quintuplets", "sextuplets"]
    return table(headers, rows, table_id="ranges", what="ranges (input order)")
