"""Deterministic generator of realistic web-request logs (``python cli.py generate-logs``).

Benchmarks, scale tests and notebooks need large inputs that look like production logs: a skewed
mix of methods, statuses, paths and user agents, log-normal latencies (slower for 5xx), a share of
query strings, and optionally malformed lines. Formats (:data:`FORMATS`): the project's own grammar
(``default``), and web-server access logs written as nginx and Apache write them (``common``,
``combined``, ``nginx-timed`` = combined plus `` rt=$request_time``, and ``json`` lines), with
times spread over a chosen period (see :mod:`pipeline.loggen.web`), and the cloud, proxy and IIS
presets of ingest (``w3c``, ``alb``, ``haproxy`` ...: :data:`pipeline.loggen.PRESETS`, see
:mod:`pipeline.loggen.presets`). Everything is drawn from one seeded
:class:`numpy.random.Generator`, so the same arguments always write the same bytes.

Two shapes (``cardinality``, :data:`CARDINALITIES`): ``low`` (the default) draws paths, queries
and agents from a few dozen strings and writes whole or 0.1 ms latencies, so a report's partials
stay small; ``realistic`` writes what production traffic looks like, ids and UUIDs in paths, a
heavy tail of rare paths, query strings, tens of thousands of versioned user agents and
microsecond latencies with a heavy tail (see :mod:`pipeline.loggen.real`).

Lines are produced in chunks of :data:`CHUNK_LINES`: the random draws are vectorised, and so is
the formatting of the web formats and of every ``realistic`` line (Arrow string kernels); the
``low`` default grammar formats each line with an f-string, which still keeps 5 million lines at
a few seconds.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "x.log"
>>> summary = generate_logs(out, lines=3, seed=1)
>>> (summary.lines, len(out.read_text().splitlines()))
(3, 3)
>>> _ = generate_logs(out, lines=1, seed=1, log_format="common", start="2026-11-27", period="1s")
>>> out.read_text()
'104.12.197.125 - - [27/Nov/2026:00:00:00 +0000] "GET /index.html HTTP/2.0" 200 695\\n'
"""

from __future__ import annotations

import gzip as gzip_module
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import IO, Final, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import InputError
from pipeline.loggen import FORMATS as ALL_FORMATS
from pipeline.loggen import NO_RESPONSE_RATE, PRESETS
from pipeline.loggen.cloud import CLOUD_WRITERS, header
from pipeline.loggen.keyed import KEYED_WRITERS
from pipeline.loggen.mix import METHODS, PATHS, STATUSES, pick, pick_zipf
from pipeline.loggen.presets import (
    PresetDraws,
    PresetPlan,
    preset_draws,
    preset_plan,
)
from pipeline.loggen.proxies import PROXY_WRITERS
from pipeline.loggen.real import (
    CARDINALITIES,
    RealPlan,
    millis_text,
    real_fields,
    real_plan,
)
from pipeline.loggen.traffic import newline_joined
from pipeline.loggen.web import NGINX_TIMED_FORMAT, WebFormat, web_chunk, web_plan

#: Lines formatted per batch. Larger batches vectorise more of the draws but hold more strings in
#: memory (about 100-300 bytes each); 200,000 keeps a batch near 20-60 MB. Legal range: >= 1.
CHUNK_LINES: Final[int] = 200_000

#: The formats ``generate_logs`` writes (``--log-format`` of ``generate-logs``).
FORMATS: Final[tuple[str, ...]] = ALL_FORMATS
#: The writer of each preset (modules ``cloud``, ``proxies``, ``keyed``).
PRESET_WRITERS: Final[dict[str, Callable[[PresetPlan, PresetDraws], pa.Array]]] = {
    **CLOUD_WRITERS,
    **PROXY_WRITERS,
    **KEYED_WRITERS,
}
#: How a preset's malformed lines look: its own line cut after this many characters, or (as
#: often) :data:`_GARBAGE`. Legal range: >= 1, short enough to cut every format's line.
MALFORMED_CUT: Final[int] = 40
_GARBAGE: Final = "garbage line without structure"

#: Where the times of the web formats start, and how long they last, unless told.
DEFAULT_START: Final[str] = "2026-11-27T00:00:00Z"
DEFAULT_PERIOD: Final[str] = "1d"

#: Units of ``--period``: ``90s``, ``30m``, ``6h``, ``1d``, ``2w``, or a sum such as ``1d12h``.
_PERIOD_UNITS: Final[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

__all__ = [
    "CARDINALITIES",
    "FORMATS",
    "NGINX_TIMED_FORMAT",
    "PRESET_WRITERS",
    "GenerateSummary",
    "generate_logs",
]

_USER_AGENTS: Final = (
    ("Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", 0.34),
    ("Mozilla/5.0 (Windows NT 10.0; rv:128.0) Firefox/128.0", 0.18),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Safari/605.1", 0.12),
    ("curl/8.5.0", 0.08),
    ("python-requests/2.32.3", 0.07),
    ("Go-http-client/1.1", 0.03),
    ("Mozilla/5.0 (compatible; Googlebot/2.1)", 0.06),
    ("Mozilla/5.0 (compatible; bingbot/2.0)", 0.03),
    ("Wget/1.21.4", 0.02),
    ("PostmanRuntime/7.39.0", 0.01),
    ("", 0.03),
    ("internal-healthcheck, v=2", 0.02),
)
#: Shapes of malformed lines: each breaks exactly one rule of the grammar.
_MALFORMED: Final = (
    "[GET]/no-space, status=200, time=5ms user-agent=x",
    "[get] /lowercase, status=200, time=5ms user-agent=x",
    "[GET] /bad-status, status=600, time=5ms user-agent=x",
    "[GET] /space-ms, status=200, time=5 ms user-agent=x",
    "[GET] /no-comma status=200, time=5ms user-agent=x",
    "[GET] /exp, status=200, time=1e3ms user-agent=x",
    "[POST] /truncated, status=20",
    "garbage line without structure",
)


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate_logs` wrote."""

    files: tuple[Path, ...]
    lines: int
    malformed: int
    bytes: int
    directives: int = 0  # W3C/CloudFront header lines, not counted in ``lines``


def generate_logs(
    out: Path,
    *,
    lines: int,
    files: int = 1,
    seed: int = 0,
    malformed_rate: float = 0.0,
    gzip: bool = False,
    log_format: str = "default",
    start: str | datetime | None = None,
    period: str | timedelta | None = None,
    cardinality: str = "low",
    no_response_rate: float = NO_RESPONSE_RATE,
    w3c_restart: bool = False,
) -> GenerateSummary:
    """Write ``lines`` log lines to ``out`` (one file) or spread over ``files`` files in ``out``.

    Parameters
    ----------
    out
        The file to write when ``files == 1``; otherwise a directory (created) that receives
        ``part-00000.log`` ... With ``gzip`` the files are gzip-compressed and named ``*.gz``
        (the suffix is added when missing, because ingest infers compression from it).
    lines
        Total number of lines, >= 0, split as evenly as possible over the files.
    files
        Number of files, >= 1. With a time period, the files follow each other in time (like
        rotated logs): the first holds the earliest part of the period.
    seed
        Seed of the random generator: same arguments, same bytes.
    malformed_rate
        Probability in [0, 1] that a line is replaced by a malformed one.
    gzip
        Compress the output.
    log_format
        One of :data:`FORMATS`. ``nginx-timed`` is read by ``ingest --log-format`` with
        :data:`NGINX_TIMED_FORMAT`; the others are detected by ``--log-format auto`` (the
        presets once ingest has them: issue 23).
    start
        First time of the web formats: ISO 8601 date or date-time (no offset means UTC), default
        :data:`DEFAULT_START`. Fractions of a second are dropped.
    period
        How long the times last, e.g. ``"1d"``, ``"6h"``, ``"1d12h"`` (units s, m, h, d, w), at
        least one second; default :data:`DEFAULT_PERIOD`. The ``default`` format has no time
        field and accepts neither ``start`` nor ``period``.
    cardinality
        One of :data:`CARDINALITIES`: ``low`` (few distinct paths, agents and latencies; the
        bytes of earlier versions) or ``realistic`` (ids in paths, a heavy tail of rare paths,
        query strings, versioned agents, microsecond latencies; see
        :mod:`pipeline.loggen.real`). The presets of issue 23 have only ``low``.
    no_response_rate
        Share in [0, 1] of requests without a response in the presets that can write one
        (CloudFront ``000``, Squid ``NONE/000``, Envoy ``0``, ALB/ELB ``-1`` timers, HAProxy
        ``<NOSRV>``; see :mod:`pipeline.loggen.presets`); 0 writes none.
    w3c_restart
        ``w3c`` only: IIS restarted in the middle of each file, which writes a second block of
        directives (``#Software`` ... ``#Fields``) there.
    """
    if lines < 0:
        raise InputError(f"--lines must be >= 0, got {lines}")
    if files < 1:
        raise InputError(f"--files must be >= 1, got {files}")
    if not 0.0 <= malformed_rate <= 1.0:
        raise InputError(f"--malformed-rate must be in [0, 1], got {malformed_rate}")
    if log_format not in FORMATS:
        raise InputError(f"unknown log format {log_format!r}; valid names: {', '.join(FORMATS)}")
    if cardinality not in CARDINALITIES:
        raise InputError(
            f"unknown cardinality {cardinality!r}; valid names: {', '.join(CARDINALITIES)}"
        )
    if not 0.0 <= no_response_rate <= 1.0:
        raise InputError(f"--no-response-rate must be in [0, 1], got {no_response_rate}")
    if log_format in PRESETS and cardinality != "low":
        raise InputError(f"--cardinality {cardinality} is not available for {log_format!r}")
    if w3c_restart and log_format != "w3c":
        raise InputError(f"a W3C restart needs --log-format w3c, got {log_format!r}")
    if log_format == "default" and (start is not None or period is not None):
        raise InputError("--start and --period need a format with times; 'default' has none")
    start_s = parse_start(DEFAULT_START if start is None else start)
    period_s = parse_period(DEFAULT_PERIOD if period is None else period)
    suffix = ".gz" if gzip else ""
    if files == 1:
        targets = [out if out.name.endswith(suffix) else out.with_name(out.name + suffix)]
    else:
        targets = [out / f"part-{index:05d}.log{suffix}" for index in range(files)]
    try:
        targets[0].parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {targets[0].parent}: {exc.strerror or exc}") from exc
    rng = np.random.default_rng(seed)
    chunk: Callable[[int, int], tuple[bytes | pa.Buffer, int]]
    preset: PresetPlan | None = None
    if log_format == "default":
        if cardinality == "realistic":
            chunk = partial(_default_real_chunk, rng, real_plan(rng), malformed_rate=malformed_rate)
        else:
            chunk = partial(_default_chunk, rng, malformed_rate=malformed_rate)
    elif log_format in PRESETS:
        preset = preset_plan(rng, log_format, start_s, period_s, lines, no_response_rate)
        chunk = partial(_preset_chunk, rng, preset, malformed_rate=malformed_rate)
    else:
        plan = web_plan(rng, cast(WebFormat, log_format), start_s, period_s, lines)
        real = real_plan(rng) if cardinality == "realistic" else None
        chunk = partial(web_chunk, rng, plan, malformed_rate=malformed_rate, real=real)
    counts = [lines // files + (1 if index < lines % files else 0) for index in range(files)]
    malformed, first, directives = 0, 0, 0
    for target, count in zip(targets, counts, strict=True):
        parts = [(0, count // 2), (count // 2, count)] if w3c_restart else [(0, count)]
        try:
            with _open(target, gzip) as handle:
                for begin, end in parts:
                    text = _directives(preset, first + begin) if preset is not None else ""
                    handle.write(text.encode("ascii"))
                    directives += text.count("\n")
                    for offset in range(begin, end, CHUNK_LINES):
                        data, bad = chunk(first + offset, min(CHUNK_LINES, end - offset))
                        handle.write(data)
                        malformed += bad
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror or exc}") from exc
        first += count
    size = sum(target.stat().st_size for target in targets)
    return GenerateSummary(
        files=tuple(targets), lines=lines, malformed=malformed, bytes=size, directives=directives
    )


def _directives(plan: PresetPlan, first: int) -> str:
    """The directives written before line ``first`` (dated at its place in the daily cycle)."""
    grid, cdf = plan.cycle
    offset = float(np.interp(first / plan.total, cdf, grid))
    return header(plan.fmt, plan.start_s + int(offset))


def _preset_chunk(
    rng: np.random.Generator, plan: PresetPlan, first: int, size: int, *, malformed_rate: float
) -> tuple[pa.Buffer, int]:
    """``size`` lines of a preset; malformed ones are cut short or replaced by garbage."""
    lines = PRESET_WRITERS[plan.fmt](plan, preset_draws(rng, plan, first, size))
    bad = rng.random(size) < malformed_rate if malformed_rate > 0 else np.zeros(size, bool)
    cut = rng.random(size) < 0.5
    broken = pc.if_else(pa.array(cut), pc.utf8_slice_codeunits(lines, 0, MALFORMED_CUT), _GARBAGE)
    return newline_joined(pc.if_else(pa.array(bad), broken, lines)), int(bad.sum())


def parse_start(value: str | datetime) -> int:
    """``--start``: ISO 8601 date or date-time (no offset: UTC) -> epoch seconds.

    >>> parse_start("2026-11-27"), parse_start("2026-11-27T01:00:00+01:00")
    (1795737600, 1795737600)
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(
                f"--start must be an ISO 8601 date or date-time, got {value!r}"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() // 1)


def parse_period(value: str | timedelta) -> int:
    """``--period``: ``1d``, ``6h``, ``1d12h``, ``90s``, ``2w`` (or a timedelta) -> seconds.

    >>> parse_period("1d12h"), parse_period("90s"), parse_period(timedelta(minutes=5))
    (129600, 90, 300)
    """
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
    else:
        text = value.strip().lower()
        if not re.fullmatch(r"(?:[0-9]+[smhdw])+", text):
            raise InputError(
                f"--period must be a duration such as 1d, 6h, 30m or 1d12h, got {value!r}"
            )
        seconds = sum(
            int(number) * _PERIOD_UNITS[unit]
            for number, unit in re.findall(r"([0-9]+)([smhdw])", text)
        )
    if seconds < 1:
        raise InputError(f"--period must be at least 1s, got {value!r}")
    return seconds


def _open(target: Path, gzip: bool) -> IO[bytes]:
    if gzip:
        return gzip_module.GzipFile(target, "wb", compresslevel=6)  # type: ignore[return-value]
    return target.open("wb")


def _default_chunk(
    rng: np.random.Generator, first: int, size: int, *, malformed_rate: float
) -> tuple[bytes, int]:
    """``size`` lines of the default grammar (``first`` is unused: they carry no time)."""
    methods = pick(rng, METHODS, size)
    statuses = np.array([code for code, _ in STATUSES])[pick(rng, STATUSES, size)]
    agents = pick(rng, _USER_AGENTS, size)
    paths = pick_zipf(rng, len(PATHS), size)
    query = rng.random(size) < 0.25
    query_ids = rng.integers(1, 500, size=size)
    slow = np.where(statuses >= 500, 4.0, 1.0)
    latency = np.round(rng.lognormal(mean=np.log(45.0), sigma=0.9, size=size) * slow, 1)
    integral = rng.random(size) < 0.2
    bad = rng.random(size) < malformed_rate if malformed_rate > 0 else np.zeros(size, bool)
    bad_kind = rng.integers(0, len(_MALFORMED), size=size)
    out = []
    for i in range(size):
        if bad[i]:
            out.append(_MALFORMED[bad_kind[i]])
            continue
        path = PATHS[paths[i]] + (f"?id={query_ids[i]}" if query[i] else "")
        value = latency[i]
        text = f"{value:.0f}" if integral[i] else f"{value:.1f}"
        out.append(
            f"[{METHODS[methods[i]][0]}] {path}, status={statuses[i]}, "
            f"time={text}ms user-agent={_USER_AGENTS[agents[i]][0]}"
        )
    return ("\n".join(out) + "\n").encode("utf-8"), int(bad.sum())


def _default_real_chunk(
    rng: np.random.Generator, plan: RealPlan, first: int, size: int, *, malformed_rate: float
) -> tuple[pa.Buffer, int]:
    """``size`` realistic lines of the default grammar, formatted with Arrow string kernels."""
    methods = pick(rng, METHODS, size)
    statuses = np.array([code for code, _ in STATUSES])[pick(rng, STATUSES, size)]
    slow = np.where(statuses >= 500, 4.0, 1.0)
    latency = rng.lognormal(mean=np.log(45.0), sigma=0.9, size=size) * slow
    bad = rng.random(size) < malformed_rate if malformed_rate > 0 else np.zeros(size, bool)
    bad_kind = rng.integers(0, len(_MALFORMED), size=size)
    fields = real_fields(rng, plan, latency)
    lines = pc.binary_join_element_wise(
        "[",
        pa.array([name for name, _ in METHODS]).take(pa.array(methods)),
        "] ",
        fields.targets,
        ", status=",
        pc.cast(pa.array(statuses, type=pa.int64()), pa.string()),
        ", time=",
        millis_text(fields.latency_us),
        "ms user-agent=",
        fields.agents,
        "",
    )
    lines = pc.if_else(pa.array(bad), pa.array(_MALFORMED).take(pa.array(bad_kind)), lines)
    return newline_joined(lines), int(bad.sum())
