"""``ingest --follow`` in process (sync scheduler): the loop, its total, its state, its checks.

The test is the other process: ``on_update`` writes, rotates or truncates the log between two
intervals, then raises ``KeyboardInterrupt`` (what Ctrl-C raises) to end the follow. The oracle
is a batch run over every line written (:mod:`tests.state_helpers`), compared without what the
``--state`` guarantee leaves out.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.ingest import follow as follow_module
from pipeline.ingest.follow import Tick, follow_ingest
from pipeline.ingest.live import _signals_held, with_refresh
from pipeline.ingest.options import IngestOptions
from pipeline.reporting.text import render_json
from tests.state_helpers import RotatingLog, assert_same_report, run_report, write_reference

SYNC = ExecutionSettings(mode="sync")

#: One step between two intervals: what the writer does (None: end the follow).
Step = Callable[[RotatingLog], None] | None


def _follow(path: str, steps: list[Step], **options: Any) -> tuple[dict[str, Any], list[Tick]]:
    """Follow ``path``; after interval ``i`` run ``steps[i]``; a None step (or the end of the
    steps) ends the follow like Ctrl-C. The final report and the ticks seen."""
    ticks: list[Tick] = []
    log = options.pop("log")

    def on_update(tick: Tick) -> None:
        ticks.append(tick)
        step = steps[len(ticks) - 1] if len(ticks) <= len(steps) else None
        if step is None:
            raise KeyboardInterrupt
        step(log)

    result = follow_ingest(
        path, SYNC, IngestOptions(follow=True, interval=0.01, **options), on_update
    )
    report: dict[str, Any] = json.loads(render_json(result))
    return report, ticks


def _append(count: int, partial: bool = False) -> Step:
    return lambda log: log.append(count, partial=partial)


def _rotate(copytruncate: bool, compress: str = "none") -> Step:
    return lambda log: log.rotate_once(copytruncate=copytruncate, compress=compress, dateext=False)


@pytest.mark.parametrize("copytruncate", [False, True])
def test_the_final_report_is_a_batch_run_over_every_line_written(
    tmp_path: Path, copytruncate: bool
) -> None:
    """Appends (a half-written line among them), an idle interval, rotations (the interval
    right after one has no new text), more appends: the follow's total equals one batch run
    over all the lines, and each interval only adds to the previous."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = RotatingLog(logs)
    log.append(40)
    steps: list[Step] = [
        _append(25, partial=True),
        _append(10),
        lambda log: None,  # an idle interval: nothing computed, the same report
        _rotate(copytruncate),
        _append(30),
        _rotate(copytruncate, "compress"),
        _append(5),
    ]
    report, ticks = _follow(str(logs), steps, log=log)
    log.finish_line()
    reference = write_reference(log.written, tmp_path / "all.log")
    assert_same_report(report, run_report(reference))
    counts = [tick.report.parsed for tick in ticks]
    assert counts == sorted(counts) and counts[-1] == len(log.written) == 110
    assert [tick.last.parsed for tick in ticks][1:] == [
        b - a for a, b in itertools.pairwise(counts)
    ]
    assert [tick.number for tick in ticks] == list(range(1, len(ticks) + 1))
    assert ticks[3].report is ticks[2].report and ticks[3].last.parsed == 0


def test_new_files_of_a_glob_are_followed(tmp_path: Path) -> None:
    """A file that starts to match the input pattern during the follow is read from its start."""
    first = RotatingLog(tmp_path)
    first.append(12)

    def new_file(log: RotatingLog) -> None:
        (tmp_path / "other.log").write_text("".join(log.written[:7]))

    report, _ = _follow(str(tmp_path / "*.log"), [_append(3), new_file, _append(2)], log=first)
    reference = tmp_path / "all.txt"
    reference.write_text("".join(first.written + first.written[:7]))
    assert_same_report(report, run_report(str(reference)))


def test_with_state_a_follow_ended_mid_way_resumes_without_loss_or_double_counting(
    tmp_path: Path,
) -> None:
    """The state is saved after each interval's report; the interval that was interrupted
    (its report out, its state not saved) is read again by the next follow, counted once."""
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "follow.state")
    log = RotatingLog(logs)
    log.append(20)
    _follow(str(logs), [_append(10), _rotate(False), _append(4)], log=log, state=state)
    log.append(6)
    report, ticks = _follow(str(logs), [_append(3)], log=log, state=state)
    reference = write_reference(log.written, tmp_path / "all.log")
    assert_same_report(report, run_report(reference))
    assert ticks[0].last.parsed == 4 + 6  # the unsaved interval's lines and the new ones


def test_an_interrupt_before_the_first_report_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the first read: there is no report to give, the interrupt is the caller's
    (the CLI then exits 130)."""
    (tmp_path / "a.log").write_text("")

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(follow_module, "read_increment", interrupted)
    options = IngestOptions(follow=True, interval=0.01)
    with pytest.raises(KeyboardInterrupt):
        follow_ingest(str(tmp_path), SYNC, options, lambda tick: None)


@pytest.mark.parametrize("interval", [0, -1, float("nan"), float("inf"), True, "2"])
def test_the_interval_must_be_a_positive_number_of_seconds(interval: Any) -> None:
    with pytest.raises(InputError) as raised:
        IngestOptions(follow=True, interval=interval)
    assert str(raised.value) == f"--interval must be a number of seconds > 0, got {interval!r}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--format", "html"],
            "Error: --follow --format html needs --output FILE (the page rewritten)",
        ),
        (["--interval", "0"], "Error: --interval must be a number of seconds > 0, got 0.0"),
        (["--interval", "-2"], "Error: --interval must be a number of seconds > 0, got -2.0"),
        (["--interval", "nan"], "Error: --interval must be a number of seconds > 0, got nan"),
        (
            ["--malformed-out", "bad.txt"],
            "Error: --malformed-out cannot be used with --follow",
        ),
    ],
)
def test_follow_usage_errors_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    log = tmp_path / "a.log"
    log.write_text("")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["ingest", "--path", str(log), "--mode", "sync", "--follow", *arguments]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]
    assert result.stdout == ""


def test_a_signal_waits_until_the_interval_report_is_written() -> None:
    """Ctrl-C while a line is written is delivered once it is out (never a cut JSON line)."""
    written = []
    with pytest.raises(KeyboardInterrupt), _signals_held():
        os.kill(os.getpid(), signal.SIGINT)
        written.append("the whole line")
    assert written == ["the whole line"]


def test_the_page_reloads_itself_every_interval_in_whole_seconds() -> None:
    page = "<!DOCTYPE html><html><head><title>t</title></head><body></body></html>"
    refreshed = with_refresh(page, 0.2)
    assert refreshed == page.replace("<head>", '<head><meta http-equiv="refresh" content="1">', 1)
    assert '<meta http-equiv="refresh" content="3">' in with_refresh(page, 2.5)
