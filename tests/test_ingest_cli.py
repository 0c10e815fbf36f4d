"""``python cli.py ingest`` and ``generate-logs``: exact output shapes and exit codes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli

GOOD = "[GET] /x, status=200, time=5ms user-agent=curl/8\n"
TOP_KEYS = [
    "schema_version",
    "feature",
    "inputs",
    "lines",
    "requests",
    "latency_ms",
    "latency_histogram",
    "latency_by_method",
    "latency_by_status_class",
    "top_paths",
    "top_errors",
    "user_agents",
    "exact",
    "error_bounds",
    "notes",
    "execution",
]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_bundled_text_report() -> None:
    code, out, _ = _run("ingest", "--mode", "sync")
    assert code == 0
    assert out.startswith("Ingest report\n")
    for heading in ("Requests by method", "Latency by status class (ms)", "Top paths"):
        assert heading in out


def test_json_schema() -> None:
    code, out, _ = _run("ingest", "--format", "json", "--worker", "2")
    assert code == 0
    doc = json.loads(out)
    assert list(doc) == TOP_KEYS
    assert list(doc["inputs"]) == ["files", "formats", "failed"]
    assert doc["inputs"]["formats"] == {"default": 2}
    assert list(doc["lines"]) == [
        "total",
        "parsed",
        "malformed",
        "filtered",
        "directives",
        "malformed_samples",
    ]
    assert doc["lines"]["filtered"] == 0
    assert doc["notes"] == []
    assert list(doc["requests"]) == ["total", "by_method", "by_status_class", "by_status"]
    assert list(doc["requests"]["by_status_class"]) == ["1xx", "2xx", "3xx", "4xx", "5xx", "none"]
    keys = ["count", "mean", "median", "min", "max", "std", "p90", "p95", "p99"]
    assert list(doc["latency_ms"]) == keys
    assert all(list(block) == keys for block in doc["latency_by_method"].values())
    keys = ["path", "count", "share", "mean", "p50", "p95", "p99"]
    assert all(list(p) == keys for p in doc["top_paths"])
    assert all(list(p) == ["path", "count", "status_4xx", "status_5xx"] for p in doc["top_errors"])
    assert list(doc["user_agents"]) == [
        "unique",
        "top",
        "browsers",
        "os",
        "devices",
        "by_family",
        "estimated",
    ]
    assert sum(doc["user_agents"]["by_family"].values()) == doc["requests"]["total"]
    assert doc["execution"]["mode"] == "threading" and doc["execution"]["workers"] == 2


def test_missing_path_exits_2_with_one_line(tmp_path: Path) -> None:
    code, out, err = _run("ingest", "--path", str(tmp_path / "nope"))
    assert code == 2 and out == ""
    assert err == f"Error: no such file or directory: {tmp_path / 'nope'}\n"


def test_failed_input_exits_3_and_warns(tmp_path: Path) -> None:
    (tmp_path / "good.log").write_text(GOOD)
    (tmp_path / "bad.log.gz").write_bytes(gzip.compress(GOOD.encode())[:-12])
    code, out, err = _run("ingest", "--path", str(tmp_path), "--format", "json", "--mode", "sync")
    assert code == 3
    doc = json.loads(out)
    assert [Path(f["path"]).name for f in doc["inputs"]["failed"]] == ["bad.log.gz"]
    assert doc["lines"]["parsed"] == 1
    warnings = [line for line in err.splitlines() if "bad.log.gz" in line]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING input failed: ")


def test_malformed_out_option(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(GOOD + "oops\n")
    out_file = tmp_path / "bad.txt"
    code, _, _ = _run("ingest", "--path", str(tmp_path / "a.log"), "--malformed-out", str(out_file))
    assert code == 0
    assert out_file.read_text() == f"{tmp_path / 'a.log'}\toops\n"


def test_generate_logs(tmp_path: Path) -> None:
    code, _, err = _run(
        "generate-logs", "--lines", "100", "--out", str(tmp_path / "g"), "--files", "2", "--gzip"
    )
    assert code == 0
    assert err.startswith("wrote 100 lines (0 malformed, ")
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == [
        "part-00000.log.gz",
        "part-00001.log.gz",
    ]
    code, out, _ = _run("ingest", "--path", str(tmp_path / "g"), "--format", "json")
    assert code == 0 and json.loads(out)["lines"]["parsed"] == 100


def test_generate_logs_rejects_bad_rate(tmp_path: Path) -> None:
    code, _, err = _run(
        "generate-logs", "--lines", "1", "--out", str(tmp_path / "x"), "--malformed-rate", "2"
    )
    assert code == 2 and err.startswith("Error: ")
