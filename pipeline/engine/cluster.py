"""dask.distributed clients: start a local cluster, or connect to one, and make sure its workers
can run our task functions.

Used only through :func:`pipeline.engine.execution.session` and
:func:`pipeline.engine.execution.compute`. Everything we start listens on 127.0.0.1 unless the user
names another host for the dashboard: an unauthenticated dashboard is never exposed on all
interfaces by default (see :mod:`pipeline.engine.addresses`), and the dashboard URL we log is the
address actually bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import socket
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.engine import addresses, children
from pipeline.engine import progress as _progress
from pipeline.engine import worker_probe as _worker_probe
from pipeline.engine.settings import ExecutionSettings, default_client
from pipeline.errors import ConfigurationError

log = logging.getLogger(__name__)

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Ids of clients whose workers were already probed (the probe runs once per client).
_VERIFIED_CLIENTS: set[str] = set()


@contextlib.contextmanager
def open_client(settings: ExecutionSettings) -> Iterator[Any]:
    """Yield a client for ``settings``: the default client if one exists, else a new connection
    to ``settings.scheduler_address``, else a new ``LocalCluster``. What we open, we close."""
    existing = default_client()
    address = settings.scheduler_address
    if existing is not None and (address is None or _same_scheduler(existing, address)):
        log.debug("using the existing default client %s", existing)
        ensure_workers_can_run(
            existing, timeout=settings.connect_timeout, progress=settings.progress
        )
        yield existing
        return
    if address is not None:
        with _connect(settings) as client:
            ensure_workers_can_run(
                client, timeout=settings.connect_timeout, progress=settings.progress
            )
            yield client
        return
    with _local_cluster(settings) as client:
        _VERIFIED_CLIENTS.add(client.id)  # its workers run this very interpreter's code
        yield client


def _same_scheduler(client: Any, address: str) -> bool:
    return str(client.scheduler.address) == addresses.scheduler_address(address)


@contextlib.contextmanager
def _connect(settings: ExecutionSettings) -> Iterator[Any]:
    from distributed import Client

    address = addresses.scheduler_address(settings.scheduler_address or "")
    timeout = settings.connect_timeout
    try:
        with _progress.waiting(f"connecting to the scheduler {address}", enabled=settings.progress):
            _expect_scheduler(address, timeout)
            client = Client(address, timeout=timeout, set_as_default=True)
    except (OSError, TimeoutError) as exc:
        raise ConfigurationError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s"
        ) from exc
    try:
        log.info("connected to scheduler %s (dashboard: %s)", address, dashboard_url(client))
        yield client
    finally:
        with _quiet_shutdown(client, our_workers=False):
            client.close()


def _expect_scheduler(address: str, timeout: float) -> None:
    """Raise :class:`ConfigurationError` unless a Dask scheduler answers at ``address`` within
    ``timeout`` seconds; ``OSError`` when nothing accepts a connection there.

    ``distributed.Client`` bounds the TCP connection by its timeout but not the handshake that
    follows, so a port that accepts and says nothing, or speaks another protocol (an HTTP server),
    held it forever. We ask the server who it is first, the whole exchange bounded.
    """
    from distributed.comm import connect, get_address_host_port

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout)  # the handshake included
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), timeout)

    try:
        # in a thread of its own: the caller may be running an event loop (a notebook)
        reply = children.call_in_quiet_thread(lambda: asyncio.run(bounded()))
    except Exception as exc:
        host, port = get_address_host_port(address)
        with socket.create_connection((host, port), timeout=min(timeout, 5.0)):
            pass  # OSError when nothing listens: "cannot reach"
        raise ConfigurationError(
            f"no Dask scheduler answered at {address} within {timeout:g} s: the port accepts "
            "connections but does not speak Dask's protocol"
        ) from exc
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        shown = f"a Dask {kind}" if isinstance(kind, str) else "an unknown server"
        raise ConfigurationError(f"{address} is not a Dask scheduler: it answers as {shown}")


@contextlib.contextmanager
def _local_cluster(settings: ExecutionSettings) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    host, port = addresses.dashboard_address(settings.dashboard_address)
    addresses.check_local_host(host)  # before starting anything: one line, not a traceback
    if addresses.exposed(host):
        log.warning(
            "the dashboard listens on %s: anyone who can reach this machine can open it "
            "(it has no authentication)",
            host,
        )
    with warnings.catch_warnings():
        # distributed warns in four lines when the port is taken; we log one line below.
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        starting = f"starting a local cluster of {settings.workers} worker process(es)"
        with _progress.waiting(starting, enabled=settings.progress):
            # in a thread deaf to Ctrl-C: its event loop and worker processes inherit that,
            # so a Ctrl-C to the terminal's process group reaches this process alone
            cluster = children.call_in_quiet_thread(
                lambda: LocalCluster(
                    n_workers=settings.workers,
                    threads_per_worker=settings.threads_per_worker,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=(host, port),  # a tuple: distributed keeps our host
                    silence_logs=logging.WARNING,
                )
            )
    try:
        client = Client(cluster, set_as_default=True)
        try:
            bound = _dashboard_port(cluster)
            if port not in (0, bound):
                log.info("dashboard port %d is not available; using port %s instead", port, bound)
            log.info(
                "local cluster: %d workers; dashboard: %s", settings.workers, dashboard_url(client)
            )
            yield client
        finally:
            with _quiet_shutdown(client, our_workers=True):
                client.close()
                cluster.close()
    finally:
        cluster.close()  # no-op when closed above; here when the client could not be made


@contextlib.contextmanager
def _quiet_shutdown(client: Any, *, our_workers: bool) -> Iterator[None]:
    """Silence logging while a cluster connection closes, unless DEBUG logging is on.

    Closing (above all after Ctrl-C, a failed task or a lost worker) makes distributed log
    tracebacks that say nothing to the user: heartbeats that find the scheduler gone, tasks
    cancelled on workers, comms closed. The workers of our own local cluster are silenced too
    (they write to our stderr), just before they are told to stop.
    """
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    if our_workers:
        with contextlib.suppress(Exception):
            client.run(logging.disable, logging.CRITICAL)
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


def _dashboard_port(cluster: Any) -> int | None:
    server = getattr(getattr(cluster, "scheduler", None), "http_server", None)
    return getattr(server, "port", None)


def dashboard_url(client: Any) -> str | None:
    """The dashboard's URL: for our local cluster, the address its server actually bound
    (distributed's ``dashboard_link`` shows the scheduler's host instead)."""
    scheduler = getattr(getattr(client, "cluster", None), "scheduler", None)
    server = getattr(scheduler, "http_server", None)
    if server is not None and getattr(server, "port", None) is not None:
        return addresses.http_url(str(server.address), int(server.port))
    with contextlib.suppress(Exception):
        if "dashboard" not in client.scheduler_info(n_workers=0).get("services", {}):
            return None  # a scheduler started without one (distributed would show a guess)
    link = client.dashboard_link
    return str(link) if link else None


def ensure_workers_can_run(client: Any, *, timeout: float, progress: bool = False) -> None:
    """Probe the workers; ship this package to them when they lack it or run another version.

    Raises :class:`ConfigurationError` with one line when shipping cannot help (no workers,
    missing third-party libraries on the workers). ``progress``: say on stderr what is awaited.
    """
    if client.id in _VERIFIED_CLIENTS:
        return
    waited = f"a worker to join the scheduler {client.scheduler.address} (up to {timeout:g} s)"
    with _progress.waiting(waited, enabled=progress):
        _wait_for_a_worker(client, timeout)
    with _progress.waiting("checking the workers' libraries and code", enabled=progress):
        _check_workers(client)


def _wait_for_a_worker(client: Any, timeout: float) -> None:
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError as exc:
        raise ConfigurationError(f"the Dask cluster has no workers (waited {timeout:g} s)") from exc


def _check_workers(client: Any) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(_worker_probe)
    try:
        reports = _probe_all(client)
        lacking = sorted({name for report in reports.values() for name in report["missing"]})
        if lacking:
            raise ConfigurationError(
                "the Dask workers cannot run this job: they lack " + ", ".join(lacking)
            )
        local = _worker_probe.source_digest("pipeline")
        stale = [addr for addr, report in reports.items() if report["pipeline_digest"] != local]
        if not stale:
            _VERIFIED_CLIENTS.add(client.id)
            return
        log.info("shipping this project's code to %d of %d workers", len(stale), len(reports))
        _upload_package(client)
        reports = _probe_all(client)
        if any(report["pipeline_digest"] != local for report in reports.values()):
            log.info("restarting workers that had another version of the code imported")
            client.restart()
            reports = _probe_all(client)
        if any(report["pipeline_digest"] != local for report in reports.values()):
            raise ConfigurationError(
                "the Dask workers run another version of mini-orchestrator and could not be updated"
            )
        _VERIFIED_CLIENTS.add(client.id)
    finally:
        cloudpickle.unregister_pickle_by_value(_worker_probe)


def _probe_all(client: Any) -> dict[str, dict[str, Any]]:
    """Probe reports of every reachable worker and of the scheduler (which unpickles graphs).

    A worker lost while it is being probed is left out rather than failing the run: the
    scheduler reschedules its tasks, and a replacement worker receives uploaded code on start.
    """
    replies = client.run(_worker_probe.probe, on_error="return")
    reports: dict[str, dict[str, Any]] = {
        address: reply for address, reply in replies.items() if isinstance(reply, dict)
    }
    reports["scheduler"] = client.run_on_scheduler(_worker_probe.probe)
    return reports


def _upload_package(client: Any) -> None:
    """Zip ``pipeline/`` and send it with ``Client.upload_file``: the scheduler (which unpickles
    the graph) and every worker, including workers that join later, put it first on sys.path."""
    digest = (_worker_probe.source_digest("pipeline") or "unknown")[:12]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for source in sorted(_PACKAGE_DIR.rglob("*.py")):
            archive.write(source, Path("pipeline") / source.relative_to(_PACKAGE_DIR))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"mini_orchestrator_{digest}.zip"
        path.write_bytes(buffer.getvalue())
        client.upload_file(str(path))
