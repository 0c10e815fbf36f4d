"""``ingest --follow`` as a real process: JSON lines while this test writes and rotates the log,
the signals that end it (final report, exit 0, no process left), the HTML page, the live screen
under a real pseudo-terminal.

Waits are on what the follow prints (a line whose total reaches what was written), never on
the clock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import psutil
import pytest

from tests.cluster_fixtures import wait_until
from tests.conftest import REPO_ROOT
from tests.state_helpers import RotatingLog, assert_same_report, run_report, write_reference

pytestmark = pytest.mark.timeout(120)

CLI = (sys.executable, str(REPO_ROOT / "cli.py"), "ingest", "--follow", "--interval", "0.2")


def _tagged(tag: str) -> list[psutil.Process]:
    """Live processes started with ``MINI_ORCH_TEST_TAG=tag`` (the CLI and its workers)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("MINI_ORCH_TEST_TAG") == tag and proc.status() != "zombie":
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _workers(tag: str) -> set[int]:
    """The pool's worker processes (spawned; multiprocessing's resource tracker excluded)."""
    found = set()
    for proc in _tagged(tag):
        try:
            if "spawn_main" in " ".join(proc.cmdline()):
                found.add(proc.pid)
        except psutil.Error:
            continue
    return found


class JsonLines:
    """The follow's standard output, read line by line as it comes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines: list[str] = []

    def until_total(self, total: int, timeout: float = 60) -> dict[str, Any]:
        """The first report whose request total is ``total``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.stream], [], [], 1)
            if not ready:
                continue
            line = self.stream.readline()
            assert line, "the follow ended early"
            self.lines.append(line)
            report: dict[str, Any] = json.loads(line)
            if report["requests"]["total"] == total:
                return report
        raise AssertionError(f"no report reached {total} requests: {self.lines[-1:]}")


@contextlib.contextmanager
def _running(arguments: list[str], tag: str, **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    """The CLI with ``arguments`` in a process tagged ``tag``, killed at the end if a failed
    assertion left it running."""
    process = subprocess.Popen(
        [*CLI, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MINI_ORCH_TEST_TAG": tag},
        **kwargs,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("mode", "sig"), [("threading", signal.SIGINT), ("process", signal.SIGTERM)]
)
def test_follow_a_written_and_rotated_log_then_a_signal_ends_it(
    tmp_path: Path, mode: str, sig: int
) -> None:
    """Appends, a ``create`` rotation, appends, a ``copytruncate``: every JSON line is a whole
    report; the last equals a batch run over every line written; the signal writes the final
    report and exits 0 with nothing left running. In process mode one pool serves every
    interval (the same worker processes before and after the rotations)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = RotatingLog(logs)
    log.append(30)
    tag = uuid.uuid4().hex
    with _running(["--path", str(logs), "--format", "json", "--mode", mode], tag) as process:
        assert process.stdout is not None
        lines = JsonLines(process.stdout)
        lines.until_total(30)
        workers = _workers(tag)
        log.append(20, partial=True)
        log.rotate_once(copytruncate=False, compress="none", dateext=False)
        log.append(15)
        lines.until_total(65)
        log.rotate_once(copytruncate=True, compress="none", dateext=False)
        log.append(7)
        lines.until_total(72)
        if mode == "process":
            assert workers, "no worker process"
            assert _workers(tag) == workers, "a new pool was made"
        process.send_signal(sig)
        rest, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    final = json.loads(rest.splitlines()[-1])
    reference = write_reference(log.written, tmp_path / "all.log")
    assert_same_report(final, run_report(reference))
    assert wait_until(lambda: not _tagged(tag), timeout=10), _tagged(tag)
    assert "Aborted." not in err and "Terminated." not in err


@pytest.mark.subprocess
def test_html_page_reloads_during_the_follow_and_not_once_it_ends(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    RotatingLog(tmp_path).append(5)
    page = tmp_path / "report.html"
    refresh = '<meta http-equiv="refresh" content="1">'
    arguments = ["--path", str(log), "--format", "html", "--output", str(page)]
    with _running(arguments, "html") as process:
        assert wait_until(lambda: page.exists() and refresh in page.read_text(), timeout=60)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    text = page.read_text()
    assert "http-equiv" not in text and text.rstrip().endswith("</html>")


@pytest.mark.subprocess
def test_text_not_on_a_terminal_is_one_line_per_interval(tmp_path: Path) -> None:
    """UTC time, requests, rate, 5xx and p95, one line each interval; the final report is the
    full text report."""
    log = RotatingLog(tmp_path)
    log.append(9)  # lines 7 and 8 are 5xx (STATUSES), no latency in combined
    with _running(["--path", str(log.live), "--format", "text"], "text") as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    words = first.split()
    assert words[0].endswith("Z") and len(words[0]) == len("2026-12-07T10:00:00Z")
    assert words[1:2] == ["requests=9"] and words[3:] == ["5xx=2", "p95=-"]
    assert words[2].startswith("rate=") and words[2].endswith("/s")
    assert "Ingest report" in rest


@pytest.mark.subprocess
def test_the_live_screen_under_a_pseudo_terminal(tmp_path: Path) -> None:
    """On a terminal of 70x10: the screen starts at home, clears below, never writes a line of
    70 columns or more nor 10 lines or more; a path with an escape sequence is shown escaped;
    Ctrl-C clears it and prints the full report, exit 0."""
    log = tmp_path / "access.log"
    evil = "/\x1b[2Jevil" + "/long" * 20  # wider than the terminal
    log.write_text(
        f'10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET {evil} HTTP/1.1" 500 5 "-" "a"\n' * 3
    )
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 10, 70, 0, 0))
    process = subprocess.Popen(
        [*CLI, "--path", str(log), "--raw-paths"],
        stdin=follower,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        # shutil.get_terminal_size prefers these to the terminal's own size
        env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
    )
    os.close(follower)
    seen = b""
    try:
        while seen.count(b"\x1b[J") < 2:  # two screens drawn
            ready, _, _ = select.select([leader], [], [], 60)
            assert ready, seen[-500:]
            seen += os.read(leader, 65536)
        process.send_signal(signal.SIGINT)
        while process.poll() is None or select.select([leader], [], [], 0.2)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            seen += chunk
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        os.close(leader)
    assert process.returncode == 0
    text = seen.decode("utf-8", "replace").replace("\r\n", "\n")
    screens, final = text.split("\x1b[H")[1:-1], text.split("\x1b[H")[-1]
    assert screens
    for shown in screens:
        assert shown.endswith("\x1b[J")
        body = shown[: -len("\x1b[J")].split("\n")
        assert len(body) <= 10  # 9 lines and what follows the last newline
        assert all(len(line.replace("\x1b[K", "")) < 70 for line in body), body
        assert "requests 3" in shown and "5xx 3" in shown
        assert "\x1b[2J" not in shown and "\\x1b[2Jevil" in shown
    assert final.startswith("\x1b[J") and "Ingest report" in final


@pytest.mark.subprocess
def test_standard_input_is_reported_as_it_comes_until_its_end(tmp_path: Path) -> None:
    """``--path -``: lines written to the pipe appear in the next interval's report while the
    writer stays open; at its end the final report (a batch run over all the lines) and exit 0."""
    log = RotatingLog(tmp_path)
    process = subprocess.Popen(
        [*CLI, "--path", "-", "--format", "json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        lines = JsonLines(process.stdout)
        for count in (12, 30):
            start = len(log.written)
            log.append(count)
            process.stdin.write("".join(log.written[start:]))
            process.stdin.flush()
            lines.until_total(len(log.written))
        process.stdin.write(log.written[0])  # one more line, then the end
        process.stdin.close()
        process.wait(timeout=30)
        rest = process.stdout.read()
        err = process.stderr.read() if process.stderr is not None else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    final = json.loads(rest.splitlines()[-1])
    reference = write_reference([*log.written, log.written[0]], tmp_path / "all.log")
    assert_same_report(final, run_report(reference))


@pytest.mark.subprocess
def test_a_failed_input_makes_the_final_exit_code_3(tmp_path: Path) -> None:
    """A corrupt compressed file among the inputs: named in every report, exit 3 at the end."""
    RotatingLog(tmp_path).append(4)
    (tmp_path / "broken.log.gz").write_bytes(b"\x1f\x8b not gzip at all")
    with _running(["--path", str(tmp_path), "--format", "json"], "failed") as process:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=30)
    assert process.returncode == 3, err
    final = json.loads(rest.splitlines()[-1])
    for report in (first, final):
        assert [f["path"] for f in report["inputs"]["failed"]] == [str(tmp_path / "broken.log.gz")]
        assert report["requests"]["total"] == 4
