"""The page shell every HTML report shares: header, cards, tables, Bokeh plots, embedded JSON.

One self-contained file: Bokeh's JavaScript is inlined (``bokeh.resources.INLINE``, only the
bundles the plots need), there is no CDN or other network request, and the JSON report is
embedded as ``<script type="application/json" id="report-data">`` so scripts can read the
figures back (``JSON.parse(document.getElementById("report-data").textContent)``).

**Untrusted text.** Paths, user agents, range names and file names come from the input. Every
value placed in the page goes through :func:`escape` (``html.escape`` with quotes), tables are
plain HTML built here (not Bokeh's ``DataTable``, whose ``HTMLTemplateFormatter`` does not
escape), and the plots carry only numbers, dates and fixed labels in their tooltips. In the
embedded JSON every ``<``, ``>`` and ``&`` is written as a ``\\u00XX`` escape, so no ``</script>``
or ``<!--`` can end the block early; ``JSON.parse`` and ``json.loads`` read it unchanged.

>>> embed_json({"agent": "</script><b>"})
'{"agent": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
>>> escape("<img src=x onerror=alert(1)>")
'&lt;img src=x onerror=alert(1)&gt;'
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from pipeline.reporting.text import json_document

#: Rows of every HTML table (top paths, agents, status codes, ranges): keeps the page small
#: whatever the input. Legal range: 1 .. 1000 (each row is about 200 bytes).
TABLE_ROWS: Final[int] = 100

#: Page-wide colours: one per status class, and a palette for series.
CLASS_COLOURS: Final[dict[str, str]] = {
    "1xx": "#8da0cb",
    "2xx": "#66a61e",
    "3xx": "#1f78b4",
    "4xx": "#e6ab02",
    "5xx": "#d95f02",
    "none": "#999999",
}
SERIES: Final[tuple[str, ...]] = ("#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd")


@dataclass(frozen=True)
class PageContext:
    """What the page header says besides the result: how the run was started, and when."""

    command: str
    path: str
    generated: datetime

    @classmethod
    def now(cls, command: str, path: str) -> PageContext:
        """A context stamped with the current UTC time."""
        return cls(command=command, path=path, generated=datetime.now(timezone.utc))


def escape(value: object) -> str:
    """HTML-escape any value shown in the page (quotes too: values also land in attributes)."""
    return html.escape(str(value), quote=True)


def embed_json(document: Any) -> str:
    """JSON text safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(document, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass(frozen=True)
class Plot:
    """A Bokeh model placed in the page, with the id the browser test looks for."""

    key: str
    model: Any


def section(title: str, *body: str) -> str:
    """A titled block of already-safe HTML."""
    return f"<section><h2>{escape(title)}</h2>{''.join(body)}</section>"


def cards(items: Sequence[tuple[str, str]]) -> str:
    """Summary figures as ``label: value`` cards (both escaped)."""
    inner = "".join(
        f'<div class="card"><div class="value">{escape(value)}</div>'
        f'<div class="label">{escape(label)}</div></div>'
        for label, value in items
    )
    return f'<div class="cards">{inner}</div>'


def facts(items: Sequence[tuple[str, str]]) -> str:
    """A two-column key/value table (both escaped), used for the page header."""
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
    return f'<table class="facts">{rows}</table>'


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    table_id: str,
    total: int | None = None,
    what: str = "rows",
) -> str:
    """A sortable HTML table; every cell escaped, numbers right-aligned and sorted as numbers.

    ``rows`` beyond :data:`TABLE_ROWS` are cut, with a note saying how many of ``total`` are
    shown (``total`` defaults to ``len(rows)``).
    """
    shown = rows[:TABLE_ROWS]
    head = "".join(f'<th title="sort">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in shown)
    count = len(rows) if total is None else total
    note = (
        f'<p class="note">{len(shown):,} of {count:,} {escape(what)} shown.</p>'
        if count > len(shown)
        else ""
    )
    return (
        f'<table class="data sortable" id="{escape(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{note}"
    )


def _cell(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2:  # (shown text, sort key)
        text, key = value
        return f'<td class="num" data-sort="{escape(key)}">{escape(text)}</td>'
    if value is None:
        return "<td>-</td>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="num" data-sort="{value!r}">{escape(_number(value))}</td>'
    return f"<td>{escape(value)}</td>"


def _number(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.6g}" if abs(value) < 1e-3 or abs(value) >= 1e15 else f"{value:,.3f}"


def render_page(
    *,
    title: str,
    header: Sequence[tuple[str, str]],
    body: Sequence[str],
    plots: Sequence[Plot],
    footer: str,
    result: Any,
    embedded: Any | None = None,
) -> str:
    """Assemble the page: the plots' ``<div>``s replace ``{{plot:KEY}}`` markers in ``body``.

    ``embedded`` is the document put in ``#report-data`` (default: the result's JSON document).
    """
    from bokeh.embed import components
    from bokeh.embed.bundle import bundle_for_objs_and_resources
    from bokeh.resources import INLINE

    models = [plot.model for plot in plots]
    for model in models:
        model.toolbar.logo = None  # a page of plots does not need a logo in each
    script, divs = components(models) if models else ("", ())
    content = "".join(body)
    for plot, div in zip(plots, divs, strict=True):
        marker = f'<div class="plot" data-plot="{escape(plot.key)}">{div}</div>'
        content = content.replace(f"{{{{plot:{plot.key}}}}}", marker)
    bundle = "".join(bundle_for_objs_and_resources(models, INLINE)) if models else ""
    document = json_document(result) if embedded is None else embedded
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style>{bundle}</head><body>"
        f"<header><h1>{escape(title)}</h1>{facts(header)}</header>"
        f"<main>{content}</main>"
        f"<footer><p>{escape(footer)}</p></footer>"
        f'<script type="application/json" id="report-data">{embed_json(document)}</script>'
        f"{script}<script>{_SORT_JS}</script></body></html>\n"
    )


_CSS: Final[str] = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
h1{font-size:1.5em;margin:16px 0 8px}h2{font-size:1.15em;margin:24px 0 8px;
border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}
table.facts th{text-align:left;padding:2px 12px 2px 0;color:#555;font-weight:500}
table.facts td{padding:2px 0;word-break:break-all}
table.data{width:100%;background:#fff}
table.data th,table.data td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
table.data th{cursor:pointer;background:#f0f0f0;user-select:none}
table.data td{word-break:break-all}
table.data td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card .value{font-size:1.3em;font-weight:600}.card .label{color:#666;font-size:.85em}
.note{color:#666;font-size:.85em}.plot{margin:8px 0}
.cols{display:flex;flex-wrap:wrap;gap:16px}.cols>div{flex:1 1 480px;min-width:0}
pre{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid #eee;padding:6px}
footer{color:#666;font-size:.85em;padding-bottom:24px}
"""

#: Click a header to sort its table (numbers by their data-sort value); text only, no innerHTML.
_SORT_JS: Final[str] = """
document.querySelectorAll("table.sortable").forEach(function (t) {
  t.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.dataset.dir !== "asc"; th.dataset.dir = asc ? "asc" : "desc";
      function key(r) { var c = r.cells[col], s = c.dataset.sort;
        return s !== undefined ? parseFloat(s) : c.textContent; }
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        var d = (typeof x === "number" && typeof y === "number") ? x - y
          : String(x).localeCompare(String(y));
        return asc ? d : -d; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""
