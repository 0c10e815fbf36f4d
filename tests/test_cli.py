"""CLI contract tests through click's CliRunner, on the toy feature registered by a fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import registry
from pipeline.cli import cli


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_registered_feature(toy_feature: registry.Feature) -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for name, feature in registry.features().items():
        assert name in out
        assert feature.help.split()[0] in out


def test_feature_help_shows_common_and_own_options_and_examples(
    toy_feature: registry.Feature,
) -> None:
    code, out, _ = invoke("toy", "--help")
    assert code == 0
    for flag in ("--path", "--worker", "--mode", "--format", "--output", "--progress", "--chunk"):
        assert flag in out
    assert "python cli.py toy --path numbers.txt" in out


def test_text_report_uses_default_path(toy_feature: registry.Feature) -> None:
    code, out, err = invoke("toy", "--mode", "sync")
    assert (code, out) == (0, "toy total: 28 (4 chunks)\n")
    assert "Traceback" not in err


def test_json_is_exactly_one_document(toy_feature: registry.Feature) -> None:
    code, out, _ = invoke("toy", "--format", "json", "--worker", "3", "--chunk", "3")
    assert code == 0
    doc = json.loads(out)
    assert doc["total"] == 28
    assert doc["chunks"] == 3
    assert doc["execution"] == {"mode": "threading", "workers": 3}


def test_workers_alias_and_sync_reports_one_worker(toy_feature: registry.Feature) -> None:
    code, out, _ = invoke("toy", "--format", "json", "--workers", "2")
    assert code == 0 and json.loads(out)["execution"]["workers"] == 2
    code, out, _ = invoke("toy", "--format", "json", "--mode", "sync", "--workers", "5")
    assert code == 0 and json.loads(out)["execution"] == {"mode": "sync", "workers": 1}


def test_output_file_receives_report_and_stdout_stays_empty(
    toy_feature: registry.Feature, tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    code, out, err = invoke("toy", "--format", "json", "--output", str(target))
    assert (code, out) == (0, "")
    assert json.loads(target.read_text())["total"] == 28
    assert str(target) in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["toy", "--mode", "fast"], "'fast' is not one of"),
        (["toy", "--worker", "0"], "0 is not in the range x>=1"),
        (["toy", "--worker", "many"], "'many' is not a valid integer"),
        (["toy", "--format", "xml"], "'xml' is not one of"),
        (["nosuchfeature"], "No such command 'nosuchfeature'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    toy_feature: registry.Feature, args: list[str], needle: str
) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("Error: ") and needle in err


def test_missing_path_exits_2_naming_it(toy_feature: registry.Feature, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    code, out, err = invoke("toy", "--path", str(missing))
    assert (code, out) == (2, "")
    assert err == f"Error: path not found: {missing}\n"


def test_verbose_adds_traceback_to_input_errors(
    toy_feature: registry.Feature, tmp_path: Path
) -> None:
    code, _, err = invoke("toy", "--path", str(tmp_path / "nope"), "-v")
    assert code == 2
    assert "Traceback" in err and err.rstrip().endswith("path not found: " + str(tmp_path / "nope"))


def test_failed_inputs_exit_3_and_are_named(toy_feature: registry.Feature, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1\nx\n")
    code, out, err = invoke("toy", "--path", str(bad), "--format", "json")
    assert code == 3
    assert json.loads(out)["failed"] == [{"path": str(bad), "error": "not an integer"}]
    assert f"WARNING input failed: {bad}: not an integer" in err


def test_task_failure_is_internal_error_exit_1(
    toy_feature: registry.Feature, tmp_path: Path
) -> None:
    boom = tmp_path / "boom.txt"
    boom.write_text("boom\n1\n")
    code, out, err = invoke("toy", "--path", str(boom), "--mode", "sync")
    assert (code, out) == (1, "")
    assert err == (
        "Internal error: RuntimeError: boom inside a task (run with --verbose for the traceback)\n"
    )


def test_progress_bar_goes_to_stderr_only(
    toy_feature: registry.Feature, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.engine import progress

    monkeypatch.setattr(progress, "MINIMUM_S", 0.0)  # shown however short the run
    code, out, err = invoke("toy", "--progress", "--mode", "sync")
    assert code == 0
    assert out == "toy total: 28 (4 chunks)\n"
    assert "100% |" in err and "elapsed | done" in err


def test_no_progress_bar_for_a_run_under_the_minimum(
    toy_feature: registry.Feature, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.engine import progress

    monkeypatch.setattr(progress, "MINIMUM_S", 3600.0)  # every run is shorter
    code, _, err = invoke("toy", "--progress", "--mode", "threading")
    assert code == 0 and "elapsed" not in err and "[" not in err


def test_no_progress_by_default_when_stderr_is_not_a_terminal(
    toy_feature: registry.Feature,
) -> None:
    code, _, err = invoke("toy", "--mode", "sync")
    assert code == 0 and "elapsed" not in err


def test_unwritable_output_is_an_input_error(toy_feature: registry.Feature, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "report.txt"
    code, _, err = invoke("toy", "--output", str(target))
    assert code == 2
    assert err.startswith("Error: cannot write --output to ") and len(err.splitlines()) == 1
