"""``run_prime``: validate the ranges and options, plan, compute the sieve graph, report.

Validation happens first (ranges file or ``--range`` values, ``segment_size``, the
``--primes-out`` file), then the plan of :mod:`pipeline.prime.graph` is logged at INFO with a
time estimate and computed in one :func:`pipeline.engine.execution.compute_calls` call (inline
for a one-task plan, through Dask otherwise).

With ``primes_out`` the same tasks instead *list* their primes (as decimal text, formatted in
compiled code) along with their summaries, and :func:`pipeline.engine.execution.compute_ordered`
hands them back in order with a bounded number in flight, so the file is written as the sieve
advances and never more than a few tasks' primes are in memory. Tasks are smaller in this mode
(``PRIMES_OUT_SEGMENT``) because a task's text is held whole. The file is written to a temporary
file in the same directory and renamed at the end, so a failed run (a full disk, a file size
limit) leaves no truncated file, and an interrupted one (Ctrl-C, SIGTERM, SIGHUP) no temporary
file either (:mod:`pipeline.reporting.temporaries`); a device such as ``/dev/null`` is written
directly.

With ``tuplets`` every summary also counts triplets to sextuplets (twins are the twin pairs);
with ``nth`` the job is :func:`pipeline.prime.nth.run_nth` instead (no ranges are read).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from pipeline.engine.execution import compute_calls, compute_ordered
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.prime.graph import Plan, Window, describe, graph_calls, plan, reduce_pieces
from pipeline.prime.options import PrimeOptions
from pipeline.prime.ranges import PrimeRange, load_ranges, parse_range_options
from pipeline.prime.report.result import PrimeResult, RangeStats
from pipeline.prime.sieve.summary import Summary, counted
from pipeline.prime.tuning import (
    PRIMES_OUT_SEGMENT,
)
from pipeline.reporting import temporaries

log = logging.getLogger(__name__)


def run_prime(
    path: str | None, settings: ExecutionSettings, options: PrimeOptions | None = None
) -> PrimeResult:
    """Find the primes in every range of the JSON file at ``path`` (or of ``ranges``).

    Parameters
    ----------
    path
        Ranges file (see :mod:`pipeline.prime.ranges` for the format); ignored when ``ranges``
        is given.
    settings
        Execution settings; the scheduler is chosen by :mod:`pipeline.engine.execution`.
    options
        Segment size, ``--primes-out`` file and ``--range`` values
        (:class:`~pipeline.prime.options.PrimeOptions`, validated when built); None for the
        defaults.

    Examples
    --------
    >>> options = PrimeOptions(ranges=["0:100", "90:120"])
    >>> result = run_prime(None, ExecutionSettings(mode="sync"), options)
    >>> result.total_primes, [r.count for r in result.ranges]
    (30, [25, 6])
    """
    started = time.perf_counter()
    options = PrimeOptions() if options is None else options
    if options.nth is not None:
        from pipeline.prime.nth import run_nth

        return run_nth(options.nth, settings, options, started)
    size, primes_out, ranges = options.segment, options.primes_out, options.ranges
    if ranges:
        parsed = parse_range_options(ranges)
    elif path is None:
        raise InputError("no ranges: give a ranges file or at least one START:END range")
    else:
        parsed = load_ranges(path)
    if primes_out is not None:
        size = min(size, PRIMES_OUT_SEGMENT)
    # bridged gaps would need filtering
    job_plan = plan(parsed, size, bridge=primes_out is None, tuplets=options.tuplets)
    if job_plan.segment_size > size:
        log.info(
            "prime: segment size raised from %d to %d to stay within the task limit",
            size,
            job_plan.segment_size,
        )
    writer = _PrimesFile(primes_out) if primes_out is not None else None
    workers = settings.effective_workers
    log.info("%s", describe(job_plan, len(parsed), workers))
    cold = job_plan.compiled and not _kernel_cached()
    if cold and writer is None and _start_warmup():
        log.info(
            "prime: compiling the sieve kernel with numba in the background (once after "
            "installing or upgrading); sieving with numpy meanwhile"
        )
        job_plan = dataclasses.replace(job_plan, interim=True)
    elif cold:
        log.info(
            "prime: compiling the sieve kernel with numba (once after installing or upgrading; "
            "about 10 s, cached for later runs)"
        )
    output_error: str | None = None
    if writer is None:
        ((range_summaries, total),) = compute_calls(graph_calls(job_plan), settings=settings)
    else:
        range_summaries, total, output_error = _sieve_and_write(job_plan, settings, writer)
    return _result(
        parsed, job_plan, range_summaries, total, settings, started, primes_out, output_error
    )


def _kernel_cached() -> bool:
    """Whether the compiled kernel is in numba's cache (checked without importing numba)."""
    from pipeline.prime.sieve import warmup

    return warmup.kernel_ready()


def _start_warmup() -> bool:
    """Compile the kernel in a background process (:mod:`pipeline.prime.background_compile`);
    whether it started (not when numba cannot cache anywhere)."""
    from pipeline.prime import background_compile

    return background_compile.start() is not None


def _result(
    ranges: Sequence[PrimeRange],
    job_plan: Plan,
    range_summaries: Sequence[Summary],
    total: Summary,
    settings: ExecutionSettings,
    started: float,
    primes_out: str | None,
    output_error: str | None,
) -> PrimeResult:
    """The report; ``elapsed_s`` runs from ``started`` (:func:`time.perf_counter` when the run
    began, before the ranges were read) to its end, so it covers the per-range figures too."""
    # a range repeated verbatim in the file is one PrimeRange object (parse_ranges): make one
    # RangeStats for it, so the report converts and encodes it once (keyed by id: cheaper than
    # hashing 100,000 distinct ranges, and the objects live in ``ranges`` meanwhile)
    stats: dict[int, RangeStats] = {}
    per_range = []
    for r, s in zip(ranges, range_summaries, strict=True):
        found = stats.get(id(r))
        if found is None:
            found = stats[id(r)] = RangeStats.from_summary(r, counted(s, job_plan.tuplets))
        per_range.append(found)
    elapsed = time.perf_counter() - started
    return PrimeResult(
        ranges=tuple(per_range),
        total_primes=total.count,
        smallest=total.first,
        largest=total.last,
        first_primes=total.head,
        twin_pairs=total.twin_pairs,
        covered=job_plan.covered,
        mode=settings.resolved_mode,
        workers=settings.effective_workers,
        elapsed_s=round(elapsed, 6),
        segments=len(job_plan.tasks),
        primes_out=primes_out,
        output_errors=() if output_error is None else (output_error,),
        tuplets=(total.tuplets or (0, 0, 0, 0)) if job_plan.tuplets else None,
    )


def primes_task(
    windows: tuple[Window, ...], compiled: bool = True, tuplets: bool = False
) -> tuple[tuple[Summary, ...], bytes]:
    """``--primes-out`` task: the piece summaries and the primes (decimal text) of ``windows``.

    One sieve pass: the primes are listed once, summarised per piece with numpy and formatted
    by the compiled :func:`pipeline.prime.sieve.kernel.primes_text` (``str`` for tiny jobs).
    """
    from pipeline.prime.sieve import plain

    pieces: list[Summary] = []
    texts: list[bytes] = []
    for lo, hi, cuts in windows:
        if compiled:
            from pipeline.prime.sieve.kernel import primes_text, window_primes

            primes = window_primes(lo, hi)
            texts.append(primes_text(primes).tobytes())
        else:
            primes = plain.plain_primes(lo, hi)
            texts.append("".join(f"{p}\n" for p in primes.tolist()).encode("ascii"))
        pieces.extend(plain.summaries(primes, [lo, *cuts, hi], tuplets))
    return tuple(pieces), b"".join(texts)


def _sieve_and_write(
    job_plan: Plan, settings: ExecutionSettings, writer: _PrimesFile
) -> tuple[tuple[Summary, ...], Summary, str | None]:
    """Compute the primes tasks in order, appending each one's text to the file as it arrives.

    Once a write fails the run goes on (the report is still wanted) without writing. Any
    exception (Ctrl-C included) removes the temporary file before it propagates.
    """
    outputs: list[tuple[Summary, ...]] = []
    error: str | None = None
    task = functools.partial(primes_task, compiled=job_plan.compiled, tuplets=job_plan.tuplets)
    try:
        for summaries, text in compute_ordered(task, job_plan.tasks, settings=settings):
            outputs.append(summaries)
            if error is None:
                error = writer.write(text)
    except BaseException:
        writer.discard()
        raise
    if error is None:
        error = writer.commit()
    else:
        writer.discard()
    per_range, total = reduce_pieces(job_plan.spans, job_plan.outside, *outputs)
    return per_range, total, error


class _PrimesFile:
    """The ``--primes-out`` file: a temporary file in the target's directory, renamed at the end.

    Opened up front so an unwritable path fails before any sieving (exit 2). A target that
    exists and is not a regular file (``/dev/null``, ``/dev/full``, a pipe) is written directly.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.temporary: str | None = None
        path = Path(target)
        try:
            if path.exists() and not path.is_file():
                self.handle: IO[bytes] = open(path, "wb")  # noqa: SIM115 (closed in commit)
            else:
                fd, self.temporary = tempfile.mkstemp(
                    dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
                )
                temporaries.register(self.temporary)
                self.handle = os.fdopen(fd, "wb")
        except OSError as exc:
            raise InputError(f"cannot write primes to {target}: {exc.strerror or exc}") from None

    def _message(self, exc: OSError) -> str:
        return f"cannot write primes to {self.target}: {exc.strerror or exc}"

    def write(self, data: bytes) -> str | None:
        """Append ``data``; the error message instead of raising (the run goes on)."""
        try:
            self.handle.write(data)
        except OSError as exc:
            return self._message(exc)
        return None

    def commit(self) -> str | None:
        """Flush, close and move the temporary file into place; an error message on failure."""
        try:
            self.handle.close()
            if self.temporary is not None:
                os.replace(self.temporary, self.target)
                temporaries.release(self.temporary)
                self.temporary = None
        except OSError as exc:
            self.discard()
            return self._message(exc)
        return None

    def discard(self) -> None:
        """Close and delete the temporary file (nothing truncated is left behind)."""
        with contextlib.suppress(OSError):
            self.handle.close()
        if self.temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temporary)
            temporaries.release(self.temporary)
            self.temporary = None


__all__ = ["primes_task", "run_prime"]
