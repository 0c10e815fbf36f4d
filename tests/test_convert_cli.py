"""``python cli.py convert``: exit codes, the one stderr line, the report, every mode alike,
and Ctrl-C or SIGTERM leaving nothing behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import ExecutionSettings
from pipeline.cli import cli
from pipeline.ingest.convert.job import run_convert
from pipeline.ingest.options import IngestOptions
from pipeline.loggen.generate import generate_logs
from tests.cluster_fixtures import wait_until
from tests.conftest import REPO_ROOT, SMALL_BLOCKSIZE
from tests.test_convert import ref_combined, reference, rows_of

CLI = (sys.executable, str(REPO_ROOT / "cli.py"))


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "access.log"
    generate_logs(path, lines=1500, malformed_rate=0.01, log_format="combined", period="2d")
    return path


def test_json_report_counts_the_reference(log: Path, tmp_path: Path) -> None:
    rows, bad = reference(log.read_text(), ref_combined)
    dataset = tmp_path / "ds"
    code, out, err = _run(
        "convert", "--path", str(log), "--dataset", str(dataset), "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["schema_version", "feature", "inputs", "lines", "dataset", "notes",
                         "execution"]  # fmt: skip
    assert doc["feature"] == "convert"
    assert doc["inputs"] == {"files": 1, "formats": {"combined": 1}, "failed": []}
    lines = doc["lines"]
    assert (lines["total"], lines["written"], lines["malformed"], lines["filtered"]) == (
        len(rows) + len(bad),
        len(rows),
        len(bad),
        0,
    )
    assert doc["notes"] == [
        "format 'combined' has no latency field: latency_ms is null in its rows"
    ]
    days = sorted({row["time"].strftime("%Y-%m-%d") for row in rows})
    files = sorted(dataset.rglob("*.parquet"))
    assert doc["dataset"] == {
        "path": str(dataset),
        "partitioned_by": "day",
        "partitions": days,
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
    }


def test_text_report(log: Path, tmp_path: Path) -> None:
    rows, bad = reference(log.read_text(), ref_combined)
    dataset = tmp_path / "ds"
    code, out, _ = _run("convert", "--path", str(log), "--dataset", str(dataset))
    assert code == 0
    days = sorted({row["time"].strftime("%Y-%m-%d") for row in rows})
    assert out.splitlines()[:6] == [
        "Convert report",
        "==============",
        "files:   1 (0 failed)",
        "formats: combined (1)",
        f"lines:   {len(rows) + len(bad):,} (written {len(rows):,}, malformed {len(bad)}, "
        "filtered 0)",
        f"dataset: {dataset}",
    ]
    assert out.splitlines()[6] == f"layout:  by day: 2 partitions ({days[0]} .. {days[1]})"


def test_an_existing_dataset_is_exit_2_and_untouched(log: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "ds"
    dataset.mkdir()
    code, out, err = _run("convert", "--path", str(log), "--dataset", str(dataset))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"Error: --dataset {dataset} already exists; give a new directory"]
    assert list(dataset.iterdir()) == []


@pytest.mark.parametrize(
    ("dataset", "line"),
    [
        (None, "Error: convert needs --dataset DIR (the directory to create)"),
        ("missing/ds", "Error: cannot create --dataset {tmp}/missing/ds: {tmp}/missing is not "
                       "a directory"),
    ],
)  # fmt: skip
def test_a_dataset_that_cannot_be_created_is_exit_2(
    log: Path, tmp_path: Path, dataset: str | None, line: str
) -> None:
    args = ["convert", "--path", str(log)]
    if dataset is not None:
        args += ["--dataset", str(tmp_path / dataset)]
    code, out, err = _run(*args)
    assert (code, out) == (2, "")
    assert err.splitlines() == [line.format(tmp=tmp_path)]
    assert list(tmp_path.iterdir()) == []


def test_a_failed_input_is_exit_3(log: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(log.read_bytes())
    (logs / "b.log.gz").write_bytes(b"not gzip at all")
    code, out, err = _run(
        "convert", "--path", str(logs), "--dataset", str(tmp_path / "ds"), "--format", "json"
    )
    assert code == 3
    assert [f["path"] for f in json.loads(out)["inputs"]["failed"]] == [str(logs / "b.log.gz")]
    assert f"WARNING input failed: {logs / 'b.log.gz'}: " in err


@pytest.mark.subprocess
@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", ["process", "distributed"])
def test_every_mode_writes_the_same_dataset(log: Path, tmp_path: Path, mode: str) -> None:
    from tests.test_convert import read_rows

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipeline.ingest.options.MIN_BLOCKSIZE", SMALL_BLOCKSIZE)
        options = IngestOptions(blocksize=SMALL_BLOCKSIZE, status="2xx,3xx")
    want = run_convert(str(log), ExecutionSettings(mode="sync"), str(tmp_path / "a"), options)
    got = run_convert(
        str(log), ExecutionSettings(mode=mode, workers=2), str(tmp_path / "b"), options
    )
    assert rows_of(tmp_path / "b") == rows_of(tmp_path / "a")
    assert read_rows(tmp_path / "b")[0] == read_rows(tmp_path / "a")[0]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(
        p.name for p in (tmp_path / "a").iterdir()
    )
    assert (got.written, got.filtered, got.malformed, got.partitions) == (
        want.written,
        want.filtered,
        want.malformed,
        want.partitions,
    )


@pytest.mark.subprocess
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("mode", "sig", "code", "line"),
    [("sync", signal.SIGINT, 130, "Aborted."), ("threading", signal.SIGTERM, 143, "Terminated.")],
)
def test_a_signal_while_writing_leaves_no_dataset_and_no_temporary(
    tmp_path: Path, mode: str, sig: int, code: int, line: str
) -> None:
    log = tmp_path / "big.log"
    generate_logs(log, lines=300_000, log_format="combined", period="3d")
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [*CLI, "convert", "--path", str(log), "--dataset", str(out / "ds"), "--mode", mode,
         "--blocksize", "4MiB"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip

    def writing() -> bool:
        return any(out.rglob("*.parquet"))

    try:
        assert wait_until(writing, timeout=90, interval=0.02), list(out.iterdir())
        process.send_signal(sig)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code, err
    assert [text for text in err.splitlines() if not text.startswith("INFO ")] == [line]
    assert list(out.iterdir()) == []


def test_csv_report_equals_its_json_report(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_csv_cli import _check_directory, _run_csv

    out = tmp_path / "tables"
    code, err, document = _run_csv(
        monkeypatch, "convert", "--path", str(log), "--dataset", str(tmp_path / "ds"),
        "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert document["lines"]["malformed_samples"] and len(document["dataset"]["partitions"]) == 2
    tables = {
        "inputs_failed.csv": ("inputs", "failed"),
        "lines_malformed_samples.csv": ("lines", "malformed_samples"),
        "dataset_partitions.csv": ("dataset", "partitions"),
        "notes.csv": ("notes",),
    }
    _check_directory(out, document, tables)
