"""Deterministic generator of realistic web-request logs (``python cli.py generate-logs``).

Benchmarks and scale tests need large inputs that look like production logs: a skewed mix of
methods, statuses, paths and user agents, log-normal latencies (slower for 5xx), a share of query
strings, and optionally malformed lines. Everything is drawn from one seeded
:class:`numpy.random.Generator`, so the same arguments always write the same bytes.

Lines are produced in chunks of :data:`CHUNK_LINES`: the random draws are vectorised and only the
final string formatting runs per line, which keeps 5 million lines at a few seconds.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "x.log"
>>> summary = generate_logs(out, lines=3, seed=1)
>>> (summary.lines, len(out.read_text().splitlines()))
(3, 3)
"""

from __future__ import annotations

import gzip as gzip_module
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from pipeline.errors import InputError

#: Lines formatted per batch. Larger batches vectorise more of the draws but hold more strings in
#: memory (about 100 bytes each); 200,000 keeps a batch near 20 MB. Legal range: >= 1.
CHUNK_LINES: Final[int] = 200_000

_METHODS: Final = (
    ("GET", 0.62),
    ("POST", 0.2),
    ("PUT", 0.06),
    ("DELETE", 0.04),
    ("PATCH", 0.03),
    ("HEAD", 0.03),
    ("OPTIONS", 0.015),
    ("PURGE", 0.005),
)
_STATUSES: Final = (
    (200, 0.70),
    (201, 0.04),
    (204, 0.03),
    (101, 0.002),
    (301, 0.02),
    (302, 0.03),
    (304, 0.05),
    (400, 0.02),
    (401, 0.015),
    (403, 0.01),
    (404, 0.05),
    (429, 0.005),
    (500, 0.015),
    (502, 0.007),
    (503, 0.006),
)
_PATHS: Final = (
    "/",
    "/index.html",
    "/login",
    "/logout",
    "/search",
    "/api/v1/items",
    "/api/v1/items/42",
    "/api/v1/users",
    "/api/v1/users/me",
    "/api/v1/orders",
    "/api/v1/orders/1001",
    "/api/v2/health",
    "/static/app.js",
    "/static/app.css",
    "/static/logo.png",
    "/favicon.ico",
    "/robots.txt",
    "/docs/getting-started",
    "/docs/api",
    "/cart",
    "/checkout",
    "/admin",
    "/metrics",
    "/graphql",
)
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


def generate_logs(
    out: Path,
    *,
    lines: int,
    files: int = 1,
    seed: int = 0,
    malformed_rate: float = 0.0,
    gzip: bool = False,
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
        Number of files, >= 1.
    seed
        Seed of the random generator: same arguments, same bytes.
    malformed_rate
        Probability in [0, 1] that a line is replaced by a malformed one.
    gzip
        Compress the output.
    """
    if lines < 0:
        raise InputError(f"--lines must be >= 0, got {lines}")
    if files < 1:
        raise InputError(f"--files must be >= 1, got {files}")
    if not 0.0 <= malformed_rate <= 1.0:
        raise InputError(f"--malformed-rate must be in [0, 1], got {malformed_rate}")
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
    counts = [lines // files + (1 if index < lines % files else 0) for index in range(files)]
    malformed = 0
    for target, count in zip(targets, counts, strict=True):
        try:
            with _open(target, gzip) as handle:
                for chunk, bad in _chunks(rng, count, malformed_rate):
                    handle.write(chunk.encode("utf-8"))
                    malformed += bad
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    size = sum(target.stat().st_size for target in targets)
    return GenerateSummary(files=tuple(targets), lines=lines, malformed=malformed, bytes=size)


def _open(target: Path, gzip: bool) -> IO[bytes]:
    if gzip:
        return gzip_module.GzipFile(target, "wb", compresslevel=6)  # type: ignore[return-value]
    return target.open("wb")


def _chunks(
    rng: np.random.Generator, lines: int, malformed_rate: float
) -> Iterator[tuple[str, int]]:
    """Formatted text of up to :data:`CHUNK_LINES` lines at a time, with its malformed count."""
    for start in range(0, lines, CHUNK_LINES):
        yield _chunk(rng, min(CHUNK_LINES, lines - start), malformed_rate)


def _chunk(rng: np.random.Generator, size: int, malformed_rate: float) -> tuple[str, int]:
    methods = _pick(rng, _METHODS, size)
    statuses = np.array([code for code, _ in _STATUSES])[_pick(rng, _STATUSES, size)]
    agents = _pick(rng, _USER_AGENTS, size)
    path_weights = 1.0 / np.arange(1, len(_PATHS) + 1)  # Zipf-like popularity
    paths = rng.choice(len(_PATHS), size=size, p=path_weights / path_weights.sum())
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
        path = _PATHS[paths[i]] + (f"?id={query_ids[i]}" if query[i] else "")
        value = latency[i]
        text = f"{value:.0f}" if integral[i] else f"{value:.1f}"
        out.append(
            f"[{_METHODS[methods[i]][0]}] {path}, status={statuses[i]}, "
            f"time={text}ms user-agent={_USER_AGENTS[agents[i]][0]}"
        )
    return "\n".join(out) + "\n", int(bad.sum())


def _pick(
    rng: np.random.Generator, table: tuple[tuple[object, float], ...], size: int
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Indices into ``table`` drawn with its weights."""
    weights = np.array([weight for _, weight in table])
    return rng.choice(len(table), size=size, p=weights / weights.sum())
