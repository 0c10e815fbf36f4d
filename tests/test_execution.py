"""Execution settings and the scheduler mapping: every mode computes the same graph."""

from __future__ import annotations

import os
import time

import dask
import pytest

from pipeline import ConfigurationError, ExecutionSettings, compute
from pipeline.engine.execution import settle
from tests.toy_feature import run_toy


def _pid(_: int) -> int:
    return os.getpid()


@pytest.mark.subprocess
@pytest.mark.parametrize("mode", ["threading", "process", "sync"])
def test_every_mode_gives_the_same_answer(mode: str) -> None:
    settings = ExecutionSettings(mode=mode, workers=2)
    values = [dask.delayed(pow)(i, 2) for i in range(20)]
    assert compute(dask.delayed(sum)(values), settings=settings) == (sum(i * i for i in range(20)),)


@pytest.mark.subprocess
def test_process_mode_runs_tasks_in_other_processes() -> None:
    tasks = [dask.delayed(_pid)(i) for i in range(8)]
    pids = set(compute(*tasks, settings=ExecutionSettings(mode="process", workers=2)))
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2


def test_threading_and_sync_stay_in_this_process() -> None:
    for mode in ("threading", "sync"):
        tasks = [dask.delayed(_pid)(i) for i in range(4)]
        pids = set(compute(*tasks, settings=ExecutionSettings(mode=mode, workers=2)))
        assert pids == {os.getpid()}


def test_scheduler_is_set_even_for_collections_with_other_defaults() -> None:
    import dask.bag as db

    bag = db.from_sequence(range(10), npartitions=5).map(_pid)
    (pids,) = compute(bag, settings=ExecutionSettings(mode="sync"))
    assert set(pids) == {os.getpid()}  # a bag defaults to processes; sync must win


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"mode": "processes"},
            "unknown mode 'processes'; choose one of: threading, process, sync, distributed",
        ),
        ({"workers": 0}, "workers must be an integer >= 1, got 0"),
        ({"workers": True}, "workers must be an integer >= 1, got True"),
    ],
)
def test_invalid_settings_are_configuration_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ExecutionSettings(**kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


@pytest.mark.subprocess
def test_toy_job_identical_across_modes() -> None:
    from tests.toy_feature import TOY_FEATURE

    results = {
        mode: run_toy(str(TOY_FEATURE.default_path), ExecutionSettings(mode=mode, workers=2))
        for mode in ("threading", "process", "sync")
    }
    assert {r.total for r in results.values()} == {28}


@pytest.fixture
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend this process may run on 2 CPUs, as on the machine the limits were set for."""
    import pipeline.engine.settings

    monkeypatch.setattr(pipeline.engine.settings, "usable_cpus", lambda: 2)


def _oversubscription_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "usable CPUs" in r.getMessage()]


@pytest.mark.parametrize("mode", ["process", "distributed"])
def test_too_many_worker_processes_are_refused(
    two_cpus: None, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        ExecutionSettings(mode=mode, workers=17)
    assert str(info.value) == (
        "17 worker processes are too many for 2 usable CPUs: at most 16 (8 per CPU), "
        "since each holds its own interpreter and libraries in memory"
    )
    caplog.clear()
    ExecutionSettings(mode=mode, workers=16)  # the limit itself is allowed, with a warning
    assert _oversubscription_warnings(caplog) == [
        "16 workers on 2 usable CPUs: more than 2 per CPU only compete for the cores"
    ]


@pytest.mark.parametrize("mode", ["threading", "process", "distributed", "auto"])
def test_the_default_and_twice_the_cpus_do_not_warn(
    two_cpus: None, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    ExecutionSettings(mode=mode)
    ExecutionSettings(mode=mode, workers=4)
    assert _oversubscription_warnings(caplog) == []
    ExecutionSettings(mode=mode, workers=5)
    assert len(_oversubscription_warnings(caplog)) == 1


def test_threads_only_warn_and_remote_workers_are_not_counted(
    two_cpus: None, caplog: pytest.LogCaptureFixture
) -> None:
    ExecutionSettings(mode="threading", workers=1000)
    assert _oversubscription_warnings(caplog) == [
        "1000 workers on 2 usable CPUs: more than 2 per CPU only compete for the cores"
    ]
    caplog.clear()
    ExecutionSettings(mode="sync", workers=1000)
    ExecutionSettings(mode="distributed", workers=1000, scheduler_address="tcp://10.0.0.5:8786")
    assert _oversubscription_warnings(caplog) == []


def test_cli_refuses_a_thousand_processes_in_one_line(two_cpus: None, toy_feature: object) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    result = CliRunner().invoke(cli, ["toy", "--worker", "1000", "--mode", "process"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: 1000 worker processes are too many for 2 usable CPUs: at most 16 (8 per CPU), "
        "since each holds its own interpreter and libraries in memory\n"
    )


def test_usable_cpus_follows_the_affinity_mask() -> None:
    from pipeline.engine.settings import usable_cpus

    assert usable_cpus() == len(os.sched_getaffinity(0))


def _slow(finished: list[int]) -> None:
    time.sleep(0.5)
    finished.append(1)


def _fail() -> None:
    time.sleep(0.05)
    raise RuntimeError("task failed")


def test_settle_waits_for_the_tasks_a_failed_compute_left_running() -> None:
    finished: list[int] = []
    settings = ExecutionSettings(mode="threading", workers=2)
    with pytest.raises(RuntimeError, match="task failed"):
        compute(dask.delayed(_slow)(finished), dask.delayed(_fail)(), settings=settings)
    assert finished == []  # dask raised while the other task still ran
    settle(settings)
    assert finished == [1]
