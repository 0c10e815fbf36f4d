"""``ingest --anonymize-ip``: no malformed line quoted in the report (the count stays), the raw
lines still in ``--malformed-out``, in every mode, on standard input and with ``--state``.

The masks themselves are tested in tests/test_ingest_addresses.py; here the option must reach
the first step after the parse (where the masks and the samples are decided) whatever runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from tests.conftest import REPO_ROOT

GOOD = '{client} - - [10/Oct/2026:13:55:{second:02d} +0000] "GET /a HTTP/1.1" 200 5 "-" "curl"\n'
BAD = ["oops 192.168.1.77 was here", "203.0.113.9 - - [broken"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two combined files (one task reads both, the other case one each) with malformed lines."""
    folder = tmp_path_factory.mktemp("anonymize")
    for index in range(2):
        lines = [GOOD.format(client=f"192.168.{index}.{n}", second=n) for n in range(30)] + [
            f"{bad}\n" for bad in BAD
        ]
        (folder / f"access{index}.log").write_text("".join(lines))
    return folder


def _document(path: Path, settings: ExecutionSettings, **options: Any) -> dict[str, Any]:
    return run_ingest(str(path), settings, IngestOptions(**options)).to_dict()


def _without_execution(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "execution"}


def test_samples_are_gone_and_the_count_stays(logs: Path) -> None:
    sync = ExecutionSettings(mode="sync")
    plain = _document(logs, sync)
    masked = _document(logs, sync, anonymize_ip=True)
    assert [sample["text"] for sample in plain["lines"]["malformed_samples"]] == BAD * 2
    assert masked["lines"]["malformed_samples"] == []
    assert masked["lines"]["malformed"] == plain["lines"]["malformed"] == 4
    plain["lines"]["malformed_samples"] = []
    # the panels that count addresses count their networks: 192.168.0.0/24 and 192.168.1.0/24
    assert [row["client"] for row in masked.pop("hosts")] == ["192.168.0.0", "192.168.1.0"]
    assert masked.pop("visitors")["total"] == 2 and plain.pop("visitors")["total"] == 60
    plain.pop("hosts")
    assert _without_execution(masked) == _without_execution(plain)


def test_cli_json_and_malformed_out_keeps_the_raw_lines(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad.txt"
    result = CliRunner().invoke(
        cli,
        [
            *("ingest", "--mode", "sync", "--format", "json", "--path", str(logs / "access0.log")),
            *("--anonymize-ip", "--malformed-out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.stderr
    lines = json.loads(result.stdout)["lines"]
    assert (lines["malformed"], lines["malformed_samples"]) == (2, [])
    assert out.read_text().splitlines() == [f"{logs / 'access0.log'}\t{bad}" for bad in BAD]


def test_a_file_no_line_of_which_matches_quotes_none(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("\n".join(BAD) + "\n")
    document = _document(
        path, ExecutionSettings(mode="sync"), anonymize_ip=True, log_format="combined"
    )
    assert document["inputs"]["failed"] == [
        {"path": str(path), "error": "no line matches log format 'combined'"}
    ]


@pytest.mark.subprocess
def test_every_mode_gives_the_sync_report(logs: Path) -> None:
    want = _without_execution(_document(logs, ExecutionSettings(mode="sync"), anonymize_ip=True))
    for mode, workers in (("threading", 3), ("process", 2)):
        settings = ExecutionSettings(mode=mode, workers=workers)
        assert _without_execution(_document(logs, settings, anonymize_ip=True)) == want, mode


@pytest.mark.subprocess
def test_distributed_gives_the_sync_report(logs: Path) -> None:
    from distributed import Client, LocalCluster

    want = _without_execution(_document(logs, ExecutionSettings(mode="sync"), anonymize_ip=True))
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        got = _document(logs, ExecutionSettings(mode="distributed"), anonymize_ip=True)
    assert _without_execution(got) == want


@pytest.mark.subprocess
def test_stdin(logs: Path) -> None:
    args = ["ingest", "--path", "-", "--format", "json", "--anonymize-ip"]
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "cli.py"), *args],
        input=(logs / "access0.log").read_bytes(),
        capture_output=True,
        timeout=150,
    )
    assert run.returncode == 0, run.stderr
    lines = json.loads(run.stdout)["lines"]
    assert (lines["malformed"], lines["malformed_samples"]) == (2, [])


def test_state_runs_keep_no_sample(logs: Path, tmp_path: Path) -> None:
    state = tmp_path / "s.state"
    for _ in range(2):
        result = CliRunner().invoke(
            cli,
            [
                *("ingest", "--mode", "sync", "--format", "json", "--path", str(logs)),
                *("--state", str(state), "--anonymize-ip"),
            ],
        )
        assert result.exit_code == 0, result.stderr
        lines = json.loads(result.stdout)["lines"]
        assert (lines["malformed"], lines["malformed_samples"]) == (4, [])
    assert b"oops" not in state.read_bytes()


def test_follow_reports_quote_no_sample(logs: Path, tmp_path: Path) -> None:
    from pipeline.ingest.follow import follow_ingest

    path = tmp_path / "access.log"
    path.write_bytes((logs / "access0.log").read_bytes())
    seen: list[tuple[int, int]] = []

    def on_update(tick: Any) -> None:
        seen.append((tick.report.malformed, len(tick.report.malformed_samples)))
        if len(seen) == 2:
            raise KeyboardInterrupt
        with path.open("a") as handle:  # more malformed lines for the second interval
            handle.write("".join(f"{bad}\n" for bad in BAD))

    options = IngestOptions(follow=True, interval=0.01, anonymize_ip=True)
    final = follow_ingest(str(path), ExecutionSettings(mode="sync"), options, on_update)
    assert seen == [(2, 0), (4, 0)]
    assert final.malformed_samples == ()


def test_an_overlong_line_is_counted_not_quoted(tmp_path: Path) -> None:
    from pipeline.ingest.inputs.stream import MAX_LINE_BYTES

    path = tmp_path / "long.log"
    good = GOOD.format(client="10.0.0.1", second=1)
    path.write_bytes(good.encode() + b"x" * (MAX_LINE_BYTES + 1) + b"\n" + good.encode())
    plain = _document(path, ExecutionSettings(mode="sync"))
    masked = _document(path, ExecutionSettings(mode="sync"), anonymize_ip=True)
    assert len(plain["lines"]["malformed_samples"]) == 1
    assert (masked["lines"]["malformed"], masked["lines"]["malformed_samples"]) == (1, [])
