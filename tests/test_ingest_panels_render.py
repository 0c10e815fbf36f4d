"""The panels in the text and HTML reports, and the latency tables left out of a log without
latency: each table shows the JSON figures, and a panel whose field no format has is nowhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pipeline import ExecutionSettings, run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.report.html import render_ingest_html
from pipeline.ingest.report.result import IngestResult
from pipeline.ingest.report.text import NO_LATENCY, render_ingest
from pipeline.loggen.generate import generate_logs
from pipeline.reporting.page import PageContext
from pipeline.reporting.text import format_bytes

SYNC = ExecutionSettings(mode="sync")
PANELS = ("visitors", "hosts", "referrers", "bandwidth", "virtual_hosts")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, IngestResult]:
    root = tmp_path_factory.mktemp("render")
    out = {}
    for name in ("vcombined", "default", "json"):
        period = None if name == "default" else "3d"
        generate_logs(root / f"{name}.log", lines=1_500, log_format=name, seed=5, period=period)
        out[name] = run_ingest(str(root / f"{name}.log"), SYNC, IngestOptions(top=5))
    return out


def _block(text: str, title: str) -> list[str]:
    """The lines of the table under the line starting with ``title`` (to the next blank)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = lines.index("", start)
    return lines[start + 1 : end]


def _html(result: IngestResult) -> str:
    return render_ingest_html(result, PageContext.now("ingest", "x.log"))


def test_a_log_without_latency_has_no_latency_tables(runs: dict[str, IngestResult]) -> None:
    result = runs["vcombined"]
    data: dict[str, Any] = result.to_dict()
    assert data["latency_ms"]["count"] == 0 and "median" in data["latency_ms"]  # shape kept
    text = render_ingest(result)
    assert "Latency (ms)" not in text and "Latency by method" not in text
    assert " ".join(NO_LATENCY.split()) in " ".join(text.split())
    assert _block(text, "Top paths")[0].split() == ["path", "requests", "share"]
    page = _html(result)
    assert 'id="latency-all"' not in page and "latency-histogram" not in page
    assert NO_LATENCY in page
    assert "p95 ms" not in page.split('id="top-paths"')[1].split("</table>")[0]


def test_a_log_with_latency_keeps_them(runs: dict[str, IngestResult]) -> None:
    result = runs["json"]
    assert result.to_dict()["latency_ms"]["count"] > 0
    text = render_ingest(result)
    assert "Latency (ms)" in text and NO_LATENCY.split(":")[0] + ": no" not in text
    assert 'id="latency-all"' in _html(result)


def test_the_text_panels_show_the_json_figures(runs: dict[str, IngestResult]) -> None:
    result = runs["vcombined"]
    data = result.to_dict()
    text = render_ingest(result)
    rows = [line.split() for line in _block(text, "Virtual hosts")[2:]]
    want = [
        [row["host"], f"{row['requests']:,}", *format_bytes(row["bytes"]).split()]
        for row in data["virtual_hosts"]
    ]
    assert rows == want and len(want) > 1
    bandwidth = data["bandwidth"]
    lines = text.splitlines()
    figures = lines[lines.index("Bandwidth") + 1]
    assert figures == (
        f"{format_bytes(bandwidth['total_bytes'])} sent; 95th percentile of "
        f"5-minute intervals: {bandwidth['p95_bps']:,.0f} bit/s"
    )
    days = [line.split()[0] for line in _block(text, "Bandwidth")[3:]]
    assert days == [row["day"] for row in bandwidth["by_day"]] and len(days) >= 3


def test_the_html_panels_show_the_json_figures(runs: dict[str, IngestResult]) -> None:
    result = runs["vcombined"]
    data = result.to_dict()
    page = _html(result)
    hosts = page.split('id="virtual-hosts"')[1].split("</table>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", hosts)
    assert cells[: 3 * len(data["virtual_hosts"]) : 3] == [r["host"] for r in data["virtual_hosts"]]
    days = page.split('id="bandwidth-by-day"')[1].split("</table>")[0]
    assert re.findall(r"<td[^>]*>(\d{4}-\d\d-\d\d)</td>", days) == [
        row["day"] for row in data["bandwidth"]["by_day"]
    ]
    assert "<script src=" not in page  # still self-contained


def test_a_panel_without_its_field_is_nowhere(runs: dict[str, IngestResult]) -> None:
    """The default format has no client, referer, host or size: no panel in any report."""
    result = runs["default"]
    data = result.to_dict()
    assert not set(PANELS) & set(data) and not set(PANELS) & set(data["exact"])
    text, page = render_ingest(result), _html(result)
    for title in ("Unique visitors", "Hosts (client", "Referring sites", "Bandwidth", "Virtual"):
        assert title not in text
    for table_id in ("visitors-by-day", "hosts", "referrer-sites", "bandwidth-by-day"):
        assert f'id="{table_id}"' not in page


def test_the_panels_fit_100_columns(tmp_path: Path) -> None:
    """Long clients, referers and hosts are cut, the figures on lines of their own."""
    long = "x" * 300
    log = tmp_path / "long.log"
    log.write_text(
        "".join(
            f"{long}{n}.example:80 {long}{n} - - [07/Dec/2026:10:00:{n:02d} +0000] "
            f'"GET /a HTTP/1.1" 200 {10**12} "https://{long}{n}.example/{long}" "agent"\n'
            for n in range(3)
        )
    )
    result = run_ingest(str(log), SYNC, IngestOptions(log_format="vcombined"))
    data = result.to_dict()
    assert all(key in data for key in PANELS)
    widest = max(render_ingest(result).splitlines(), key=len)
    assert len(widest) <= 100, widest
