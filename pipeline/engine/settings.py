"""How a job is to be computed: :class:`ExecutionSettings`, built once by the CLI or a notebook.

The settings are plain, validated data; :mod:`pipeline.engine.execution` turns them into a Dask
scheduler. ``auto`` resolves against the current default ``distributed.Client`` (one made in a
notebook), looked up here without importing ``distributed`` until it is needed.

>>> ExecutionSettings(mode="sync").describe()
{'mode': 'sync', 'workers': 1}
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Final

from pipeline.engine import addresses
from pipeline.errors import ConfigurationError

log = logging.getLogger(__name__)

#: Our local mode names -> Dask's scheduler names.
LOCAL_SCHEDULERS: Final[dict[str, str]] = {
    "threading": "threads",
    "process": "processes",
    "sync": "synchronous",
}
#: Modes the CLI offers. ``auto`` (library default) is ``distributed`` when a default
#: ``distributed.Client`` exists (e.g. made in a notebook), else ``threading``.
MODES: Final[tuple[str, ...]] = (*LOCAL_SCHEDULERS, "distributed")
DEFAULT_MODE: Final[str] = "threading"
DEFAULT_WORKERS: Final[int] = 4
DEFAULT_DASHBOARD: Final[str] = "127.0.0.1:8787"
DEFAULT_CONNECT_TIMEOUT_S: Final[float] = 10.0
#: Longest --connect-timeout: one day. A longer wait is indistinguishable from a hang.
MAX_CONNECT_TIMEOUT_S: Final[float] = 86400.0
#: Worker processes (or threads) per usable CPU above which we warn: beyond about 2 the extra
#: workers only compete for the same cores (the default 4 on 2 cores stays quiet).
WARN_WORKERS_PER_CPU: Final[int] = 2
#: Worker processes per usable CPU above which process and distributed modes refuse to start:
#: each process holds its own interpreter, pandas and pyarrow (about 100-150 MB), so e.g. 1,000
#: of them exhaust memory long before they help. Threads share one process and only warn.
MAX_PROCESSES_PER_CPU: Final[int] = 8


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and ``taskset`` narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ExecutionSettings:
    """How a job is computed; built once by the CLI or a notebook and handed to ``run_*``.

    Parameters
    ----------
    mode
        ``threading`` (threaded scheduler), ``process`` (processes scheduler, spawned workers),
        ``sync`` (one thread, for debugging), ``distributed`` (dask.distributed) or ``auto``
        (``distributed`` when a default client exists, else ``threading``).
    workers
        ``num_workers`` of a local scheduler, or worker processes of a local cluster.
    progress
        Show a progress bar on stderr.
    scheduler_address
        Connect to this existing scheduler (``distributed`` mode only).
    threads_per_worker
        Threads of each local-cluster worker process.
    dashboard_address
        Where a local cluster's dashboard listens: ``HOST:PORT``, ``:PORT``, ``PORT`` or empty
        (see :mod:`pipeline.engine.addresses`); without a host, 127.0.0.1.
    connect_timeout
        Seconds to wait for a remote scheduler and its first worker, and for a worker to come
        back when a cluster has lost all of them (0 < seconds <= one day).
    profile
        Write an HTML profile of everything computed in a :func:`session` to this file.
    """

    mode: str = "auto"
    workers: int = DEFAULT_WORKERS
    progress: bool = False
    scheduler_address: str | None = None
    threads_per_worker: int = 1
    dashboard_address: str = DEFAULT_DASHBOARD
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in (*MODES, "auto"):
            choices = ", ".join(MODES)
            raise ConfigurationError(f"unknown mode {self.mode!r}; choose one of: {choices}")
        for name in ("workers", "threads_per_worker"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be an integer >= 1, got {value!r}")
        if self.scheduler_address is not None:
            if self.mode not in ("distributed", "auto"):
                raise ConfigurationError(
                    f"a scheduler address implies mode 'distributed', not {self.mode!r}"
                )
            addresses.scheduler_address(self.scheduler_address)
        addresses.dashboard_address(self.dashboard_address)
        timeout = self.connect_timeout
        number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
        if not (number and 0 < timeout <= MAX_CONNECT_TIMEOUT_S):
            raise ConfigurationError(
                f"the connect timeout must be more than 0 and at most {MAX_CONNECT_TIMEOUT_S:g} "
                f"seconds, got {timeout!r}"
            )
        self._check_worker_count()

    def _check_worker_count(self) -> None:
        """Refuse process counts that would exhaust memory; warn about oversubscription."""
        if self.mode == "sync" or self.scheduler_address is not None:
            return  # one thread, or the cluster's own workers
        cpus = usable_cpus()
        processes = self.mode in ("process", "distributed")
        if processes and self.workers > MAX_PROCESSES_PER_CPU * cpus:
            raise ConfigurationError(
                f"{self.workers} worker processes are too many for {cpus} usable CPUs: "
                f"at most {MAX_PROCESSES_PER_CPU * cpus} ({MAX_PROCESSES_PER_CPU} per CPU), "
                "since each holds its own interpreter and libraries in memory"
            )
        if self.workers > WARN_WORKERS_PER_CPU * cpus:
            log.warning(
                "%d workers on %d usable CPUs: more than %d per CPU only compete for the cores",
                self.workers,
                cpus,
                WARN_WORKERS_PER_CPU,
            )

    @property
    def resolved_mode(self) -> str:
        """The concrete mode: ``auto`` resolved against the current default client."""
        if self.mode != "auto":
            return self.mode
        if self.scheduler_address is not None or default_client() is not None:
            return "distributed"
        return DEFAULT_MODE

    @property
    def effective_workers(self) -> int:
        """Workers actually used: 1 for ``sync``, the cluster's count for a client we reuse."""
        mode = self.resolved_mode
        if mode == "sync":
            return 1
        if mode == "distributed":
            client = default_client()
            if client is not None:
                return cluster_workers(client)
        return self.workers

    def describe(self) -> dict[str, Any]:
        """The ``execution`` block shared by every report (without timings)."""
        return {"mode": self.resolved_mode, "workers": self.effective_workers}


def default_client() -> Any | None:
    """The ``distributed.Client`` that is currently the default (e.g. made in a notebook).

    None without importing ``distributed`` (about a second) when nothing has imported it yet:
    no client can exist then.
    """
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import default_client as _default_client
    except ImportError:  # pragma: no cover - distributed is a runtime dependency
        return None
    try:
        return _default_client()
    except ValueError:
        return None


def cluster_workers(client: Any) -> int:
    """Number of workers the client's scheduler currently has."""
    return len(client.nthreads())
