"""``--format html``: the embedded JSON equals ``--format json``, untrusted text is escaped, the
page stays small (tables, timeline, ranges capped), and the latency histogram matches a plain loop.

The page is read back with :class:`html.parser.HTMLParser` (tests/html_pages.py), not with the
code that built it. The browser test (tests/test_html_browser.py) checks that it renders.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.ingest.report.result import latency_histogram
from pipeline.prime.report.html import MAX_PLOTTED_RANGES
from pipeline.reporting.page import TABLE_ROWS
from tests.html_pages import (
    XSS_AGENT,
    XSS_PATH,
    read_page,
    without_timings,
    write_hostile_log,
    write_ranges,
    write_timed_log,
)
from tests.test_ingest_reference import ref_histogram

#: A page must stay below this whatever the input (Bokeh's inlined JavaScript is about 1.2 MB).
MAX_PAGE_BYTES = 2_000_000


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _ingest(path: Path, fmt: str, *extra: str) -> str:
    return _run("ingest", "--path", str(path), "--mode", "sync", "--format", fmt, *extra)


@pytest.mark.parametrize("extra", [(), ("--status", "5xx")])
def test_ingest_embedded_json_equals_json_report(tmp_path: Path, extra: tuple[str, ...]) -> None:
    log = write_timed_log(tmp_path / "access.log")
    page = _ingest(log, "html", *extra)
    document = json.loads(_ingest(log, "json", *extra))
    assert without_timings(read_page(page).report_data()) == without_timings(document)
    assert document["timeline"]["rows"], "the input has times: the page must have a timeline"
    assert len(page.encode()) < MAX_PAGE_BYTES


def test_ingest_and_prime_pages_embed_their_json(tmp_path: Path) -> None:
    ranges = write_ranges(tmp_path / "ranges.json")
    for args in (("ingest",), ("prime", "--path", str(ranges))):
        page = _run(*args, "--mode", "sync", "--format", "html")
        document = json.loads(_run(*args, "--mode", "sync", "--format", "json"))
        assert without_timings(read_page(page).report_data()) == without_timings(document)
        assert len(page.encode()) < MAX_PAGE_BYTES


def test_html_to_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    ranges = write_ranges(tmp_path / "ranges.json")
    args = ["prime", "--path", str(ranges), "--format", "html", "--output", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    reader = read_page(text)
    assert reader.report_data()["feature"] == "prime"
    # no network: no script or stylesheet is loaded from anywhere
    assert not [attrs for tag, attrs in reader.tags if tag == "script" and attrs.get("src")]
    assert not [attrs for tag, attrs in reader.tags if tag == "link"]
    assert "cdn.bokeh.org" not in text


def test_untrusted_text_is_escaped_everywhere(tmp_path: Path) -> None:
    log = write_hostile_log(tmp_path / "evil.log")
    page = _ingest(log, "html")
    reader = read_page(page)
    assert not [tag for tag, _ in reader.tags if tag in ("img", "iframe", "svg")]
    code = [body for attrs, body in reader.scripts if attrs.get("type") != "application/json"]
    assert not [body for body in code if "alert(" in body], "the payload must never be code"
    # the embedded JSON escapes '<' so '</script>' cannot end it; it still decodes to the text
    raw = next(body for attrs, body in reader.scripts if attrs.get("id") == "report-data")
    assert "<" not in raw
    data = reader.report_data()
    assert data["user_agents"]["top"][0]["user_agent"] == XSS_AGENT
    # the text is shown, as text, in the tables, the malformed sample and nowhere as markup
    visible = "".join(reader.text)
    assert XSS_AGENT in visible and XSS_PATH in visible
    assert visible.count(XSS_AGENT) >= 2  # agents table and the malformed line
    # the title carries the input name escaped too
    hostile_name = tmp_path / "<b>x<i>.log"
    hostile_name.write_text(log.read_text(encoding="utf-8"), encoding="utf-8")
    titled = read_page(_ingest(hostile_name, "html"))
    assert not [tag for tag, _ in titled.tags if tag in ("b", "i")]
    assert f"Ingest report: {hostile_name}" in titled.text


def test_tables_are_capped(tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    agents = TABLE_ROWS + 30
    log.write_text(
        "".join(f"[GET] /p{i}, status=200, time=1ms user-agent=agent-{i}\n" for i in range(agents))
        * 2
    )
    reader = read_page(_ingest(log, "html"))
    rows_by_table: dict[str, int] = {}
    current = None
    for tag, attrs in reader.tags:
        if tag == "table":
            current = attrs.get("id")
        elif tag == "tr" and current:
            rows_by_table[current] = rows_by_table.get(current, 0) + 1
    assert all(count <= TABLE_ROWS + 1 for count in rows_by_table.values()), rows_by_table


def test_long_timeline_is_merged_to_300_points(tmp_path: Path) -> None:
    log = write_timed_log(tmp_path / "week.log", lines=4000, hours=24 * 2)
    document = json.loads(_ingest(log, "json", "--bucket", "1m"))
    rows = document["timeline"]["rows"]
    assert len(rows) > 300
    embedded = read_page(_ingest(log, "html", "--bucket", "1m")).report_data()
    merged = embedded["timeline"]
    size = math.ceil(len(rows) / 300)
    assert merged["merged"] == size and len(merged["rows"]) <= 300
    # plain reference: sums of consecutive groups of `size` rows
    expected = [sum(r["requests"] for r in rows[i : i + size]) for i in range(0, len(rows), size)]
    assert [r["requests"] for r in merged["rows"]] == expected
    assert merged["rows"][0]["start"] == rows[0]["start"]


def test_prime_over_1000_ranges_is_summarised(tmp_path: Path) -> None:
    count = MAX_PLOTTED_RANGES + 5
    ranges = tmp_path / "many.json"
    ranges.write_text(json.dumps([[i * 50, i * 50 + 49] for i in range(count)]))
    page = _run("prime", "--path", str(ranges), "--mode", "sync", "--format", "html")
    reader = read_page(page)
    data = reader.report_data()
    assert len(data["ranges"]) == MAX_PLOTTED_RANGES
    assert data["ranges_omitted"] == 5
    assert "1,005 ranges, plotted as" in "".join(reader.text)
    assert len(page.encode()) < MAX_PAGE_BYTES


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0.0, 0.0005, 1.0, 1.0, 10.0, 999.9, 1e9],
        [float(v) for v in np.random.default_rng(0).lognormal(2, 2, 500).round(3)],
    ],
)
def test_latency_histogram_matches_a_plain_loop(values: list[float]) -> None:
    counts = pd.Series(values).value_counts()
    histogram = latency_histogram(counts)
    assert [dict(b) for b in histogram] == ref_histogram(values)
    assert sum(b["count"] for b in histogram) == len(values)


def test_ingest_histogram_counts_every_latency(tmp_path: Path) -> None:
    log = write_timed_log(tmp_path / "access.log", lines=500)
    document: dict[str, Any] = json.loads(_ingest(log, "json"))
    assert sum(b["count"] for b in document["latency_histogram"]) == document["latency_ms"]["count"]


def test_a_page_of_range_options_is_titled_with_them() -> None:
    page = _run("prime", "--range", "0:1e5", "--range", "7:9", "--mode", "sync", "--format", "html")
    assert "<title>Prime report: --range 0:1e5 --range 7:9</title>" in page
    assert "ranges.json" not in page


@pytest.mark.parametrize("terminal", [True, False])
def test_a_page_to_a_terminal_is_a_warning(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    import pipeline.cli

    monkeypatch.setattr(pipeline.cli, "_stdout_is_terminal", lambda: terminal)
    result = CliRunner().invoke(cli, ["prime", "--range", "0:100", "--format", "html"])
    assert result.exit_code == 0 and result.stdout.startswith("<!DOCTYPE html>")
    warning = "WARNING an HTML page is about to fill the terminal; write it with --output FILE"
    assert (warning in result.stderr.splitlines()) == terminal
