"""pipeline.ingest.report.text: every cell of the text latency tables sits under its own header."""

from __future__ import annotations

from pathlib import Path

from pipeline import ExecutionSettings, run_ingest
from pipeline.ingest.report.text import render_ingest
from tests.test_ingest_reference import ref_stats

#: (method, status, latency): distinct count, mean, median, min, max, std and percentiles,
#: so a cell under the wrong header cannot hold the right value by chance.
REQUESTS = [
    ("GET", 200, 1.0),
    ("GET", 200, 2.0),
    ("GET", 404, 4.0),
    ("GET", 500, 40.0),
    ("POST", 201, 7.5),
    ("POST", 201, 100.0),
    ("POST", 503, 900.0),
]


#: Statistic -> its column in the text tables (min and std are in the JSON report only).
SHOWN = {
    "count": "count",
    "mean": "mean",
    "median": "p50",
    "p90": "p90",
    "p95": "p95",
    "p99": "p99",
    "max": "max",
}


def _cell(value: object) -> str:
    """How the report prints a number: thousands separators; latencies with 3 decimals below
    10 ms and 1 at or above."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}"


def _table(report: str, title: str) -> dict[str, dict[str, str]]:
    """The table under ``title``: {row label: {header: cell}}."""
    lines = report.splitlines()
    start = lines.index(title) + 1
    headers = lines[start].split()
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = line.split()
        assert len(cells) == len(headers), line
        rows[cells[0]] = dict(zip(headers, cells, strict=True))
    return rows


def test_latency_tables_put_each_statistic_under_its_header(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            f"[{method}] /p, status={status}, time={latency}ms user-agent=curl/8\n"
            for method, status, latency in REQUESTS
        )
    )
    report = render_ingest(run_ingest(str(log), ExecutionSettings(mode="sync")))

    overall = _table(report, "Latency (ms)")
    by_method = _table(report, "Latency by method (ms)")
    by_class = _table(report, "Latency by status class (ms)")
    expected = {
        ("overall", "all"): ref_stats([lat for _, _, lat in REQUESTS]),
        **{
            ("method", method): ref_stats([lat for m, _, lat in REQUESTS if m == method])
            for method in ("GET", "POST")
        },
        **{
            ("class", f"{c}xx"): ref_stats([lat for _, s, lat in REQUESTS if s // 100 == c])
            for c in (2, 4, 5)
        },
    }
    tables = {"overall": overall, "method": by_method, "class": by_class}
    for (table, row), stats in expected.items():
        got = tables[table][row]
        assert set(got) - {"scope", "method", "class"} == set(SHOWN.values())
        for key, header in SHOWN.items():
            assert got[header] == _cell(stats[key]), (table, row, key)
