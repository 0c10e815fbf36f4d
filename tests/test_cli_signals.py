"""Real signals to a real CLI blocked in a read: it ends promptly, with 130/143/129, leaving
nothing: no process (even after a SIGKILL of the CLI itself) and no temporary file.

The CLI reads a FIFO whose writer (this test) never writes: a read that cannot be interrupted
from inside. The test knows the CLI is blocked there when its own non-blocking open of the write
end succeeds (that needs a reader). Each case uses the mode whose shutdown path differs: threads
(joined at exit), the process pool (workers in other processes), sync (the main thread itself).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from pipeline.cli import _guarded
from pipeline.engine import interrupts
from tests.cluster_fixtures import wait_until
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(120)

CLI = (sys.executable, str(REPO_ROOT / "cli.py"))


def _tagged(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("MINI_ORCH_TEST_TAG") == tag:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _open_writer(fifo: Path) -> int | None:
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader yet
            return None
        raise


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("mode", "sig", "code", "line"),
    [
        ("threading", signal.SIGINT, 130, "Aborted."),
        ("process", signal.SIGTERM, 143, "Terminated."),
        ("process", -signal.SIGHUP, 129, "Hangup."),
        ("sync", signal.SIGINT, 130, "Aborted."),
    ],
)
def test_a_signal_ends_a_blocked_run_and_its_workers(
    tmp_path: Path, mode: str, sig: int, code: int, line: str
) -> None:
    """A negative ``sig`` goes to the whole process group, as a closed terminal's hang-up
    reaches every process of the job (workers and multiprocessing's resource tracker too)."""
    fifo = tmp_path / "never-written.log"
    os.mkfifo(fifo)
    tag = uuid.uuid4().hex
    command = [sys.executable, str(REPO_ROOT / "cli.py"), "ingest", "--path", str(fifo)]
    process = subprocess.Popen(
        [*command, "--mode", mode, "--worker", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MINI_ORCH_TEST_TAG": tag},
        start_new_session=sig < 0,
    )
    writer: int | None = None
    try:
        deadline = time.monotonic() + 90
        while writer is None and time.monotonic() < deadline and process.poll() is None:
            writer = _open_writer(fifo)
            time.sleep(0.05)
        assert writer is not None, "the CLI never opened the FIFO"
        if mode == "process":  # the reader is a worker process, not the CLI
            assert any(p.pid != process.pid for p in _tagged(tag))
        if sig < 0:
            os.killpg(process.pid, -sig)
        else:
            process.send_signal(sig)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        if writer is not None:
            os.close(writer)
    assert process.returncode == code
    assert out == ""
    # the run's own INFO plan line may come first; the signal adds exactly one line
    assert [text for text in err.splitlines() if not text.startswith("INFO ")] == [line]
    assert wait_until(lambda: not _tagged(tag), timeout=10), _tagged(tag)


@pytest.mark.subprocess
def test_the_workers_exit_when_the_cli_is_killed(tmp_path: Path) -> None:
    """SIGKILL runs no cleanup in the CLI: its process-pool workers (blocked in a read that
    never returns) notice their parent is gone and exit by themselves."""
    fifo = tmp_path / "never-written.log"
    os.mkfifo(fifo)
    tag = uuid.uuid4().hex
    process = subprocess.Popen(
        [*CLI, "ingest", "--path", str(fifo), "--mode", "process", "--worker", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MINI_ORCH_TEST_TAG": tag},
    )
    writer: int | None = None
    try:
        deadline = time.monotonic() + 90
        while writer is None and time.monotonic() < deadline and process.poll() is None:
            writer = _open_writer(fifo)
            time.sleep(0.05)
        assert writer is not None, "the CLI never opened the FIFO"
        workers = [p for p in _tagged(tag) if p.pid != process.pid]
        assert workers
        process.kill()
        process.wait(timeout=10)
        assert wait_until(lambda: not _tagged(tag), timeout=10), _tagged(tag)
    finally:
        for leftover in _tagged(tag):
            leftover.kill()
        if process.poll() is None:
            process.kill()
            process.wait()
        if writer is not None:
            os.close(writer)


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("mode", "sig", "code", "line"),
    [("threading", signal.SIGINT, 130, "Aborted."), ("sync", signal.SIGTERM, 143, "Terminated.")],
)
def test_a_signal_while_writing_primes_leaves_no_temporary_file(
    tmp_path: Path, mode: str, sig: int, code: int, line: str
) -> None:
    """An interrupted ``--primes-out`` leaves the previous file as it was and nothing else (the
    temporary file grows to gigabytes for this range)."""
    target = tmp_path / "primes.txt"
    target.write_text("previous\n")
    command = [*CLI, "prime", "--range", "0:1e11", "--mode", mode, "--worker", "2"]
    process = subprocess.Popen(
        [*command, "--primes-out", str(target)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def writing() -> bool:
        temporary = [p for p in tmp_path.iterdir() if p != target]
        return any(p.stat().st_size > 0 for p in temporary)

    try:
        assert wait_until(writing, timeout=90, interval=0.02), list(tmp_path.iterdir())
        process.send_signal(sig)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code, err
    assert [text for text in err.splitlines() if not text.startswith("INFO ")] == [line]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["primes.txt"]
    assert target.read_text() == "previous\n"


GC_CALLBACK_SCRIPT = """
import gc, os, signal, sys, threading, time
from pipeline.engine import interrupts

interrupts.install()
inside = threading.Event()

def slow_callback(phase, info):  # like dask.distributed's gc diagnostics
    if phase == "start" and not inside.is_set():
        inside.set()
        time.sleep(0.5)  # the signal arrives while the main thread is in here

def kick():
    inside.wait()
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=kick).start()
gc.callbacks.append(slow_callback)
try:
    while True:
        gc.collect()
except KeyboardInterrupt:
    gc.callbacks.remove(slow_callback)
    print("interrupted in the main code", flush=True)
    interrupts.finish(interrupts.exit_code())
"""


@pytest.mark.subprocess
def test_a_signal_inside_a_gc_callback_still_interrupts_the_run() -> None:
    """Raised inside a gc callback, KeyboardInterrupt would be printed as "Exception ignored"
    and lost (the run then ended only by the watchdog, with a traceback on stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", GC_CALLBACK_SCRIPT],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        130,
        "interrupted in the main code\n",
        "",
    )


def test_an_interrupt_wrapped_by_compiled_code_is_still_the_interrupt() -> None:
    """numba's dispatcher turns a signal handler's exception raised inside a kernel into
    ``SystemError(...) from Terminated``: the CLI ends as for the signal (143), not exit 1."""

    def kernel_interrupted() -> int:
        try:
            raise interrupts.Terminated
        except interrupts.Terminated as exc:
            raise SystemError("CPUDispatcher(<function _sieve>) returned a result") from exc

    with pytest.raises(interrupts.Terminated):
        _guarded(False, kernel_interrupted)
