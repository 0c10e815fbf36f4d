"""dask.distributed: local clusters, an external cluster without this project, reliability."""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import psutil
import pytest
from click.testing import CliRunner

from pipeline import ExecutionSettings, compute, registry
from pipeline.cli import cli
from pipeline.engine.worker_probe import probe, source_digest
from pipeline.reporting.text import _json_safe
from tests.cluster_fixtures import ExternalCluster, refused_address
from tests.toy_feature import run_toy

pytestmark = pytest.mark.timeout(180)


def _slow_square(value: int) -> int:
    time.sleep(0.15)
    return value * value


@pytest.fixture
def local_client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_worker_environment_lacks_this_project(external_cluster: ExternalCluster) -> None:
    check = subprocess.run(
        [
            str(external_cluster.python),
            "-c",
            "import pandas, pyarrow, distributed; import pipeline",
        ],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1
    assert "No module named 'pipeline'" in check.stderr


def test_code_is_shipped_to_workers_that_lack_it(external_cluster: ExternalCluster) -> None:
    from distributed import Client

    settings = ExecutionSettings(mode="distributed", scheduler_address=external_cluster.address)
    (cleaned,) = compute(
        dask.delayed(_json_safe)({"x": float("nan"), "y": [1.5]}), settings=settings
    )
    assert cleaned == {"x": None, "y": [1.5]}
    with Client(external_cluster.address, set_as_default=False) as client:
        import cloudpickle

        from pipeline.engine import worker_probe as _worker_probe

        cloudpickle.register_pickle_by_value(_worker_probe)
        try:
            reports = client.run(probe)
        finally:
            cloudpickle.unregister_pickle_by_value(_worker_probe)
    assert len(reports) == 2
    assert {r["pipeline_digest"] for r in reports.values()} == {source_digest("pipeline")}


def test_unreachable_scheduler_fails_fast_with_one_line(toy_feature: registry.Feature) -> None:
    with refused_address() as address:
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["toy", "--scheduler", address, "--connect-timeout", "2"])
    assert time.monotonic() - started < 15
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot reach the Dask scheduler at {address} within 2 s\n"


def test_a_dask_server_that_is_no_scheduler_is_one_line(toy_feature: registry.Feature) -> None:
    """A worker's address (or any other Dask server) answers the identity question with its
    type; the run stops there instead of waiting for workers that never come."""
    import asyncio

    from distributed.core import Server

    loop = asyncio.new_event_loop()
    server = Server({})
    loop.run_until_complete(server.listen("tcp://127.0.0.1:0"))
    serving = threading.Thread(target=loop.run_forever, daemon=True)
    serving.start()
    try:
        address = server.address
        result = CliRunner().invoke(cli, ["toy", "--scheduler", address, "--connect-timeout", "5"])
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        serving.join(timeout=10)
        loop.close()
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {address} is not a Dask scheduler: it answers as a Dask Server\n"
    )


def test_scheduler_with_another_mode_is_a_usage_error(toy_feature: registry.Feature) -> None:
    result = CliRunner().invoke(cli, ["toy", "--scheduler", "tcp://127.0.0.1:1", "--mode", "sync"])
    assert result.exit_code == 2
    assert result.stderr == "Error: --scheduler runs on dask.distributed; drop --mode sync\n"


def test_existing_default_client_is_used(local_client: object) -> None:
    from distributed import get_task_stream

    path = str(Path(__file__).parent / "toy_numbers.txt")
    with get_task_stream() as stream:
        result = run_toy(path, ExecutionSettings())
    assert result.total == 28
    assert result.execution == {"mode": "distributed", "workers": 2}
    assert len(stream.data) == result.chunks


@pytest.mark.subprocess
def test_task_failure_gives_the_same_error_as_local_modes(
    toy_feature: registry.Feature, tmp_path: Path
) -> None:
    boom = tmp_path / "boom.txt"
    boom.write_text("boom\n1\n")
    outcomes = {
        mode: CliRunner().invoke(
            cli,
            [
                "toy",
                "--path",
                str(boom),
                "--mode",
                mode,
                "--worker",
                "1",
                "--dashboard-address",
                "127.0.0.1:0",
            ],
        )
        for mode in ("sync", "distributed")
    }
    assert {r.exit_code for r in outcomes.values()} == {1}
    assert outcomes["distributed"].stderr.splitlines()[-1] == outcomes["sync"].stderr.strip()


def _count_attempt_then_fail(log: str) -> int:
    with open(log, "a") as attempts:
        attempts.write("attempt\n")
    raise ValueError("task failed on its own")


def test_a_failing_task_runs_once(local_client: object, tmp_path: Path) -> None:
    """Only a task whose worker died is run again (distributed's allowed-failures), never one
    that raised: a retry would repeat side effects and delay the error."""
    log = tmp_path / "attempts.txt"
    with pytest.raises(ValueError, match="task failed on its own"):
        compute(
            dask.delayed(_count_attempt_then_fail)(str(log)),
            settings=ExecutionSettings(mode="distributed"),
        )
    assert log.read_text() == "attempt\n"


def _kill_a_busy_worker_mid_run(client: Any, tasks: list[Any]) -> dict[str, Any]:
    """Run ``tasks`` in a thread, kill the worker process that is running some of them while
    others have not started, and return the outcome of the run (values or error)."""
    worker_pids: dict[str, int] = client.run(os.getpid)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["values"] = compute(*tasks, settings=ExecutionSettings(mode="distributed"))
        except Exception as exc:
            outcome["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 60
    while True:
        busy = {address: keys for address, keys in client.processing().items() if keys}
        if len(busy) == len(worker_pids):  # every worker has tasks: the run is under way
            break
        assert time.monotonic() < deadline and runner.is_alive(), "the job never got going"
        time.sleep(0.02)
    victim_address = next(iter(busy))
    victim = psutil.Process(worker_pids[victim_address])
    victim.kill()
    victim.wait(timeout=10)
    assert not outcome, "the run ended before the kill: the test proves nothing"
    runner.join(timeout=120)
    assert not runner.is_alive()
    return outcome


def test_job_survives_a_worker_killed_mid_run(local_client: object) -> None:
    tasks = [dask.delayed(_slow_square)(i) for i in range(40)]
    outcome = _kill_a_busy_worker_mid_run(local_client, tasks)
    assert outcome == {"values": tuple(i * i for i in range(40))}


@pytest.mark.subprocess
def test_the_kill_hits_running_tasks() -> None:
    """With allowed-failures 0, the same kill fails the run: it really hit running tasks."""
    from distributed import Client, KilledWorker, LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as client,
    ):
        tasks = [dask.delayed(_slow_square)(i) for i in range(40)]
        outcome = _kill_a_busy_worker_mid_run(client, tasks)
    assert isinstance(outcome.get("error"), KilledWorker), outcome


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("mode", "needle"),
    [
        ("threading", "Profile Results"),
        ("sync", "Profile Results"),
        ("distributed", "Dask Performance Report"),
    ],
)
def test_profile_writes_html(
    toy_feature: registry.Feature, tmp_path: Path, mode: str, needle: str
) -> None:
    target = tmp_path / "profile.html"
    result = CliRunner().invoke(
        cli,
        [
            "toy",
            "--mode",
            mode,
            "--worker",
            "1",
            "--profile",
            str(target),
            "--dashboard-address",
            "127.0.0.1:0",
        ],
    )
    assert result.exit_code == 0, result.stderr
    html = target.read_text()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert needle in html
    assert "cdn.bokeh.org" not in html  # resources inlined: opens offline
    # a title and a header saying which run this is (was: "Bokeh Plot", nothing else)
    title, facts = _page_facts(html)
    command = shlex.join(["toy", "--mode", mode, "--worker", "1", "--profile", str(target)])
    assert title.startswith("mini-orchestrator profile: ") and command in title
    assert list(facts)[:4] == ["command", "input", "mode", "workers"]
    assert command in facts["command"]
    assert (facts["mode"], facts["workers"]) == (mode, "1")
    assert facts["input"] == str(toy_feature.default_path)


def _page_facts(page: str) -> tuple[str, dict[str, str]]:
    """The page's <title> and the rows of its run-facts header, read with a plain HTML parser."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.title, self.cells, self.where = "", [""], ""
            self.inside = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "header" and ("id", "run-facts") in attrs:
                self.inside = True
            self.where = tag
            if self.inside and tag in ("th", "td"):
                self.cells.append("")

        def handle_endtag(self, tag: str) -> None:
            self.inside = self.inside and tag != "header"
            self.where = ""

        def handle_data(self, data: str) -> None:
            if self.where == "title" and not self.title:
                self.title = data
            elif self.inside and self.where in ("th", "code"):
                self.cells[-1] += data

    reader = Reader()
    reader.feed(page)
    cells = reader.cells[1:]
    return reader.title, dict(zip(cells[::2], cells[1::2], strict=True))


@pytest.mark.subprocess
def test_progress_bar_in_distributed_mode_goes_to_stderr(
    toy_feature: registry.Feature, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.engine import progress

    monkeypatch.setattr(progress, "MINIMUM_S", 0.0)  # shown however short the run
    monkeypatch.setattr(progress, "REFRESH_S", 0.01)  # starting a worker process takes longer
    args = ["toy", "--mode", "distributed", "--worker", "1", "--dashboard-address", ":0"]
    result = CliRunner().invoke(cli, [*args, "--progress"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "toy total: 28 (4 chunks)\n"
    assert "100% |" in result.stderr and "elapsed | done" in result.stderr
    # what the run waited for while the worker started
    assert "waiting: starting a local cluster of 1 worker process(es) (" in result.stderr
