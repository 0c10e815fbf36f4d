"""What an ingest run is asked for: :class:`IngestOptions`, validated when it is built.

One frozen dataclass carries every option of the ingest job, so the CLI, the Python API, the
notebooks and the benchmarks build the same object and an invalid value fails with one
:class:`~pipeline.errors.InputError` line before any file is opened or task built. The CLI's
``--field``, ``--since``, ... map one to one to the fields below.

>>> options = IngestOptions(top=5, status="5xx,404")
>>> sorted(options.filters.classes), sorted(options.filters.statuses)
([5], [404])
>>> IngestOptions(top=0)
Traceback (most recent call last):
...
pipeline.errors.InputError: --top must be an integer from 1 to 1000, got 0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pipeline.errors import InputError
from pipeline.ingest.aggregate.filters import Filters, build_filters
from pipeline.ingest.aggregate.timeline import check_bucket
from pipeline.ingest.formats.presets import LogFormat, compile_format
from pipeline.ingest.parsing.jsonlines import CANONICAL, UNITS

#: Default partition size of uncompressed files. Larger blocks mean fewer tasks and less
#: per-task overhead but coarser load balancing. Measured on 2 cores: 16 MiB is as fast as 32 MiB
#: (5.1 s vs 5.4 s for 5M lines) and keeps each process-mode worker near 350 MB, so a 5 GB run
#: with two worker processes peaks near 1.1 GB of RSS for the whole process tree.
DEFAULT_BLOCKSIZE: Final[int] = 16 * 2**20

#: Smallest blocksize. Every block costs about 50 ms besides its bytes (aggregation and its
#: share of the merges, whatever its size; more in process mode, where each partial is pickled),
#: against about 50 ms per MiB of parsing. On 350 MB against 16 MiB blocks, measured on 2 shared
#: cores: 64 KiB blocks (5,600 tasks) did not finish in four times as long, 1 MiB blocks took
#: 1.7x (threading) and 3.1x (process). 4 MiB blocks still give 80 tasks to balance on 350 MB.
MIN_BLOCKSIZE: Final[int] = 4 * 2**20

#: Largest blocksize. Memory does not grow with the blocksize (a block is read and parsed in
#: pieces of at most :data:`~pipeline.ingest.inputs.stream.STREAM_CHUNK`, files above that size
#: are never read whole), but parallelism does shrink: a file is split into at most
#: ``size / blocksize`` tasks, so beyond a few hundred MiB workers sit idle on all but the
#: largest inputs, with no per-task saving left to gain.
MAX_BLOCKSIZE: Final[int] = 256 * 2**20

#: Default and largest length of the top lists. The lists are computed from merged counts, so a
#: longer list costs report size, not memory.
DEFAULT_TOP: Final[int] = 10
MAX_TOP: Final[int] = 1000

#: Seconds between two reads of ``--follow``. Shorter means a fresher report and more polls
#: (each lists and stats the inputs: well under a millisecond per file); legal: > 0, finite.
DEFAULT_INTERVAL: Final[float] = 2.0

#: A ``--field`` override: ``(canonical name, JSON key, unit or None)``.
FieldOverride = tuple[str, str, str | None]


@dataclass(frozen=True)
class IngestOptions:
    """Every option of an ingest run; checked when built (``InputError`` on a bad value).

    Parameters
    ----------
    malformed_out
        Also write every malformed line as ``FILE<TAB>LINE`` to this file.
    blocksize
        Partition size in bytes for uncompressed files (:data:`MIN_BLOCKSIZE` to
        :data:`MAX_BLOCKSIZE`).
    log_format
        ``auto`` (detect per file), a preset (``default``, ``combined``, ``common``, ``json``),
        or an nginx ``log_format`` / Apache ``LogFormat`` string
        (:func:`~pipeline.ingest.formats.presets.compile_format`).
    field
        JSON key overrides ``CANON=KEY[:UNIT]`` (:func:`parse_field_overrides`).
    bucket
        Timeline bucket: ``auto`` or one of
        :data:`~pipeline.ingest.aggregate.timeline.BUCKETS` (``1m`` to ``36500d``).
    since, until, status, method, path_regex
        Filters (:func:`~pipeline.ingest.aggregate.filters.build_filters`).
    top
        Length of every top list (paths, error paths, user agents), 1 to :data:`MAX_TOP`.
    raw_paths
        Group paths as written instead of by template
        (:mod:`pipeline.ingest.aggregate.templates`).
    state
        Incremental runs: read only what is new since the run that wrote this state file,
        and add it to the counts saved there (:mod:`pipeline.ingest.state`).
    follow, interval
        Keep reading: every ``interval`` seconds the new complete lines of the inputs are
        added and the report emitted again (:mod:`pipeline.ingest.follow`).
    anonymize_ip
        Mask client addresses before anything is counted (IPv4 to /24, IPv6 to /64, as
        GoAccess's ``--anonymize-ip``; :mod:`pipeline.ingest.parsing.addresses`) and leave
        ``lines.malformed_samples`` empty (``malformed_out`` still gets the raw lines).
    exact
        Make every percentile exact by more passes over the input
        (:mod:`pipeline.ingest.passes`); not with standard input, a FIFO, ``follow`` or
        ``state``.
    """

    malformed_out: str | None = None
    blocksize: int = DEFAULT_BLOCKSIZE
    log_format: str = "auto"
    field: Sequence[str] = ()
    bucket: str = "auto"
    since: str | None = None
    until: str | None = None
    status: str | None = None
    method: str | None = None
    path_regex: str | None = None
    top: int = DEFAULT_TOP
    raw_paths: bool = False
    state: str | None = None
    follow: bool = False
    interval: float = DEFAULT_INTERVAL
    anonymize_ip: bool = False
    exact: bool = False

    def __post_init__(self) -> None:
        check_blocksize(self.blocksize)
        check_interval(self.interval)
        check_bucket(self.bucket)
        top = self.top
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
            raise InputError(f"--top must be an integer from 1 to {MAX_TOP}, got {top!r}")
        if isinstance(self.field, str):
            raise InputError(f"field must be a sequence of CANON=KEY[:UNIT], got {self.field!r}")
        object.__setattr__(self, "field", tuple(self.field))
        if self.exact and self.follow:
            raise InputError("--exact cannot be used with --follow: the input cannot be read twice")
        if self.exact and self.state is not None:
            raise InputError("--exact cannot be used with --state: the state holds no values")
        # The derived forms below are computed (and cached) now, so a bad value fails here.
        _ = self.overrides, self.fixed_format, self.filters

    @functools.cached_property
    def overrides(self) -> tuple[FieldOverride, ...]:
        """``field`` parsed: ``(canonical, key, unit)`` per override."""
        return parse_field_overrides(self.field)

    @functools.cached_property
    def fixed_format(self) -> LogFormat | None:
        """The format every file is read with, or None with ``log_format="auto"``."""
        return None if self.log_format.strip() == "auto" else compile_format(self.log_format)

    @functools.cached_property
    def filters(self) -> Filters:
        """The validated filters."""
        return build_filters(
            since=self.since,
            until=self.until,
            status=self.status,
            method=self.method,
            path_regex=self.path_regex,
            anonymize_ip=bool(self.anonymize_ip),
        )


def check_blocksize(blocksize: int) -> None:
    """InputError unless ``blocksize`` is an integer from :data:`MIN_BLOCKSIZE` to
    :data:`MAX_BLOCKSIZE`."""
    if isinstance(blocksize, bool) or not isinstance(blocksize, int):
        raise InputError(f"blocksize must be an integer number of bytes, got {blocksize!r}")
    if not MIN_BLOCKSIZE <= blocksize <= MAX_BLOCKSIZE:
        raise InputError(
            f"--blocksize must be from {_size(MIN_BLOCKSIZE)} to {_size(MAX_BLOCKSIZE)} "
            f"({MIN_BLOCKSIZE} to {MAX_BLOCKSIZE} bytes), got {blocksize} bytes"
        )


def check_interval(interval: float) -> None:
    """InputError unless ``interval`` is a finite number of seconds > 0."""
    if (
        isinstance(interval, bool)
        or not isinstance(interval, (int, float))
        or not math.isfinite(interval)
        or interval <= 0
    ):
        raise InputError(f"--interval must be a number of seconds > 0, got {interval!r}")


def _size(count: int) -> str:
    """A power-of-two size in its largest whole binary unit (``1 MiB``)."""
    for unit, power in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count % 2**power == 0:
            return f"{count >> power} {unit}"
    return f"{count} bytes"


def parse_field_overrides(items: Sequence[str]) -> tuple[FieldOverride, ...]:
    """``--field CANON=KEY[:UNIT]`` items as ``(canonical, key, unit)``; InputError when bad.

    >>> parse_field_overrides(["latency=resp.took:us", "path=route"])
    (('latency', 'resp.took', 'us'), ('path', 'route', None))
    """
    out = []
    for item in items:
        canonical, sep, key = item.partition("=")
        unit: str | None = None
        if ":" in key and key.rsplit(":", 1)[1] in UNITS:
            key, unit = key.rsplit(":", 1)
        if not sep or canonical not in CANONICAL or not key:
            raise InputError(
                f"--field {item!r}: expected CANON=KEY[:UNIT] with CANON one of "
                f"{', '.join(CANONICAL)} and UNIT one of {', '.join(UNITS)}"
            )
        if unit is not None and canonical not in ("latency", "time"):
            raise InputError(f"--field {item!r}: only latency and time take a unit")
        out.append((canonical, key, unit))
    return tuple(out)
