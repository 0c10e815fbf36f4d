"""Execution settings and the scheduler mapping: every mode computes the same graph."""

from __future__ import annotations

import os

import dask
import pytest

from pipeline import ConfigurationError, ExecutionSettings, compute
from tests.toy_feature import run_toy


def _pid(_: int) -> int:
    return os.getpid()


@pytest.mark.parametrize("mode", ["threading", "process", "sync"])
def test_every_mode_gives_the_same_answer(mode: str) -> None:
    settings = ExecutionSettings(mode=mode, workers=2)
    values = [dask.delayed(pow)(i, 2) for i in range(20)]
    assert compute(dask.delayed(sum)(values), settings=settings) == (sum(i * i for i in range(20)),)


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


def test_toy_job_identical_across_modes() -> None:
    from tests.toy_feature import TOY_FEATURE

    results = {
        mode: run_toy(str(TOY_FEATURE.default_path), ExecutionSettings(mode=mode, workers=2))
        for mode in ("threading", "process", "sync")
    }
    assert {r.total for r in results.values()} == {28}
