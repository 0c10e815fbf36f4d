"""Shared fixtures: a temporary feature registered for CLI tests, and the repository root.

Every test that starts a process (a CLI subprocess, a process pool, a dask.distributed cluster)
carries the ``subprocess`` marker, and this file checks it: a test that starts one without the
marker fails. ``make check`` deselects those tests (``-m "not subprocess"``) for a quick loop.
"""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import registry
from tests.toy_feature import TOY_FEATURE

REPO_ROOT = Path(__file__).resolve().parent.parent

#: tests/data holds samples and the scripts that recorded them (a UDP listener that runs until
#: killed, request drivers): tools, not test modules, so --doctest-modules must not import them.
collect_ignore_glob = ["data/*"]

#: ``make check`` sets MINI_ORCH_QUICK_TESTS=1 for a quick edit loop: property tests then draw a
#: tenth of their examples (at least 10). ``make test`` and CI always draw them all.
QUICK = os.environ.get("MINI_ORCH_QUICK_TESTS") == "1"


def examples(full: int) -> int:
    """How many examples a property test draws: ``full``, or a tenth of it under ``make check``."""
    return max(10, full // 10) if QUICK else full


#: Real dask.distributed processes (scheduler and workers) for the distributed tests.
pytest_plugins = ["tests.cluster_fixtures"]

#: Fixtures that start processes: a test using one is marked ``subprocess`` automatically.
PROCESS_FIXTURES = frozenset(
    {"worker_python", "external_cluster", "local_client", "lone_worker_cluster", "browser"}
)


_STARTS_BEFORE = pytest.StashKey[int]()


class _Starts:
    """How many processes this test process has started (each test compares before and after)."""

    count = 0


def _counting(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _Starts.count += 1
        return original(*args, **kwargs)

    return wrapper


subprocess.Popen.__init__ = _counting(subprocess.Popen.__init__)  # type: ignore[method-assign]
multiprocessing.process.BaseProcess.start = _counting(  # type: ignore[method-assign]
    multiprocessing.process.BaseProcess.start
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.subprocess)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_STARTS_BEFORE] = _Starts.count  # processes that fixtures start count too
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    started = _Starts.count - item.stash[_STARTS_BEFORE]
    if started and item.get_closest_marker("subprocess") is None:
        pytest.fail(
            f"started {started} process(es) without @pytest.mark.subprocess "
            "(make check deselects marked tests; unmarked ones must start none)",
            pytrace=False,
        )
    return result


@pytest.fixture
def toy_feature() -> Iterator[registry.Feature]:
    """Register the ``toy`` feature for one test (see tests/toy_feature.py)."""
    registry.register(TOY_FEATURE, replace=True)
    try:
        yield TOY_FEATURE
    finally:
        registry.unregister(TOY_FEATURE.name)


#: Blocks this small cut the test files (a few hundred KB) into many blocks, so block edges are
#: exercised. Below the library's floor (MIN_BLOCKSIZE, which protects run time, not
#: correctness): a test module that uses it lowers the floor with :func:`small_blocks`.
SMALL_BLOCKSIZE = 64 * 2**10


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allow :data:`SMALL_BLOCKSIZE` as a blocksize (``pytestmark = usefixtures(...)``)."""
    from pipeline.ingest import options

    monkeypatch.setattr(options, "MIN_BLOCKSIZE", SMALL_BLOCKSIZE)
