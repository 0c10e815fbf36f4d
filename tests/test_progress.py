"""pipeline.engine.progress: the progress line (elapsed, time left) and the waiting line."""

from __future__ import annotations

import io
import threading

import dask
import pytest

from pipeline.engine import progress


@pytest.mark.parametrize(
    ("done", "elapsed"), [(0.5, 4.0), (0.1, 9.0), (0.9, 90.0), (1 / 3, 1.5), (0.01, 7200.0)]
)
def test_the_estimate_is_the_remaining_share_at_this_pace(done: float, elapsed: float) -> None:
    line = progress.progress_line(done, elapsed, width=10)
    left = elapsed / done - elapsed  # plain arithmetic: the whole at this pace, minus so far
    assert line.startswith("[" + "#" * int(10 * done) + " " * (10 - int(10 * done)) + "]")
    assert f"{int(100 * done):3d}% | {progress.format_seconds(elapsed)} elapsed" in line
    assert line.endswith(f"| about {progress.format_seconds(left)} left")


def test_nothing_done_yet_and_all_done() -> None:
    assert progress.progress_line(0.0, 2.0).endswith("| 2.0s elapsed | time left unknown")
    assert progress.progress_line(1.0, 2.0).endswith("| 2.0s elapsed | done")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.04, "0.0s"), (59.94, "59.9s"), (60, "1m00s"), (3599, "59m59s"),
                          (3600, "1h00m"), (90061, "25h01m")]
)  # fmt: skip
def test_format_seconds(seconds: float, text: str) -> None:
    assert progress.format_seconds(seconds) == text


def test_the_local_bar_draws_the_line_and_ends_it() -> None:
    out = io.StringIO()
    tasks = [dask.delayed(sum)([i, i]) for i in range(5)]
    with progress.LocalBar(out=out, minimum=0):
        assert dask.compute(*tasks, scheduler="sync") == (0, 2, 4, 6, 8)
    last = out.getvalue().split("\r")[-1]
    assert last.startswith("[" + "#" * progress.BAR_WIDTH + "] 100% |")
    assert last.endswith("elapsed | done\n")


def test_the_local_bar_stays_silent_under_the_minimum() -> None:
    out = io.StringIO()
    with progress.LocalBar(out=out, minimum=3600):
        dask.compute(dask.delayed(sum)([1, 2]), scheduler="sync")
    assert out.getvalue() == ""


class _Stream(io.StringIO):
    """A stream that says when something was written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.written.set()
        return super().write(text)


def test_waiting_says_what_and_erases_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "MINIMUM_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.01)
    out = _Stream()
    with progress.waiting("starting 2 worker processes", enabled=True, out=out):
        assert out.written.wait(timeout=30)  # drawn while the block runs
    text = out.getvalue()
    assert text.startswith("\rwaiting: starting 2 worker processes (")
    drawn = text.split("\r")[1]
    assert text.endswith("\r" + " " * len(drawn) + "\r")  # erased: the next line starts clean


def test_waiting_is_silent_when_disabled_or_short(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _Stream()
    with progress.waiting("x", enabled=False, out=out):
        pass
    monkeypatch.setattr(progress, "MINIMUM_S", 3600.0)
    with progress.waiting("x", enabled=True, out=out):
        pass
    assert out.getvalue() == ""
