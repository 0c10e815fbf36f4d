"""When requests happen and from whom: the daily cycle, the incident, the clients, the text kernels.

Every format with times (:mod:`pipeline.loggen.web` and the presets of
:mod:`pipeline.loggen.presets`) shares this shape of traffic: times follow a daily cycle (busiest
at :data:`PEAK_HOUR` UTC) with minute-to-minute noise, each line's time is its rank in the whole
output mapped through that cycle plus a few seconds of jitter (so lines are roughly, not strictly,
in time order), and one incident (a burst of 5xx and slow requests) starts at
:data:`INCIDENT_AT` of the period. Clients come from a pool of :data:`CLIENTS` addresses.

The helpers at the end turn numpy columns into Arrow strings without Python code per line.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.loggen.mix import IntArray

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

#: Distinct client addresses. More gives a flatter client mix and a longer pool build (a few ms
#: per thousand). Legal range: >= 1.
CLIENTS: Final[int] = 5000
#: Share of IPv6 clients in the pool. Legal range: [0, 1].
IPV6_SHARE: Final[float] = 0.15
#: Standard deviation of the jitter added to each time, in seconds: real logs are written in
#: roughly, not strictly, increasing time order. Legal range: >= 0.
JITTER_S: Final[float] = 2.0
#: Relative swing of the daily traffic cycle (0: flat; must stay < 1 so traffic never stops).
DAILY_SWING: Final[float] = 0.6
#: Standard deviation of the log of each minute's random rate factor (0: a smooth cycle).
#: Legal range: >= 0; 0.3 moves a minute's traffic by about 30 %.
RATE_NOISE: Final[float] = 0.3
#: Hour of the day (UTC) with the most traffic.
PEAK_HOUR: Final[float] = 15.0
#: Where the incident starts and how long it lasts, as fractions of the period.
INCIDENT_AT: Final[float] = 0.62
INCIDENT_LENGTH: Final[float] = 0.015
#: Share of requests during the incident that fail with 502/503/504, and their slowdown.
INCIDENT_5XX_SHARE: Final[float] = 0.3
INCIDENT_SLOWDOWN: Final[float] = 4.0


def offsets(
    rng: np.random.Generator,
    cycle: tuple[FloatArray, FloatArray],
    total: int,
    period_s: int,
    first: int,
    size: int,
) -> FloatArray:
    """Seconds after the start of each line: its rank mapped through the daily cycle, jittered."""
    grid, cdf = cycle
    rank = (first + np.arange(size) + rng.random(size)) / total
    offset = np.interp(rank, cdf, grid) + rng.normal(0.0, JITTER_S, size)
    clipped: FloatArray = np.clip(offset, 0.0, np.nextafter(float(period_s), 0.0))
    return clipped


def in_incident(offset_s: FloatArray, period_s: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Whether each time (seconds after the start) falls in the incident."""
    return (offset_s >= INCIDENT_AT * period_s) & (
        offset_s < (INCIDENT_AT + INCIDENT_LENGTH) * period_s
    )


def daily_cycle(
    rng: np.random.Generator, start_s: int, period_s: int
) -> tuple[FloatArray, FloatArray]:
    """(seconds, cumulative share of traffic) on a grid of about a minute over the period.

    The rate of each minute is the daily cycle times a log-normal factor (:data:`RATE_NOISE`),
    so traffic fluctuates from minute to minute as real traffic does.
    """
    steps = int(min(max(period_s // 60, 1), 1_000_000))
    grid = np.linspace(0.0, float(period_s), steps + 1)
    middle = start_s + (grid[:-1] + grid[1:]) / 2
    hour = (middle / 3600.0) % 24.0
    rate = 1.0 + DAILY_SWING * np.cos(2 * np.pi * (hour - PEAK_HOUR) / 24.0)
    rate *= rng.lognormal(0.0, RATE_NOISE, size=steps)
    cdf = np.concatenate([[0.0], np.cumsum(rate)])
    return grid, cdf / cdf[-1]


def client_pool(rng: np.random.Generator) -> list[str]:
    """CLIENTS addresses: public-looking IPv4, and IPv6 with a share of IPV6_SHARE."""
    octets = rng.integers(1, 255, size=(CLIENTS, 4))
    octets[:, 0] = rng.choice([23, 31, 45, 66, 81, 92, 104, 151, 176, 185, 203, 212], CLIENTS)
    groups = rng.integers(0, 0x10000, size=(CLIENTS, 4))
    six = rng.random(CLIENTS) < IPV6_SHARE
    return [
        f"2a02:{g[0]:x}:{g[1]:x}:{g[2]:x}::{g[3]:x}" if v6 else ".".join(str(o) for o in ip)
        for ip, g, v6 in zip(octets.tolist(), groups.tolist(), six.tolist(), strict=True)
    ]


def int_text(values: IntArray) -> pa.Array:
    """Integers as decimal strings."""
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())


def times(epoch_s: IntArray, pattern: str) -> pa.Array:
    """Formatted UTC times (``strftime`` pattern); each distinct second is formatted once."""
    unique, inverse = np.unique(epoch_s, return_inverse=True)
    stamps = pa.array(unique, type=pa.int64()).cast(pa.timestamp("s", tz="UTC"))
    return pc.strftime(stamps, format=pattern).take(pa.array(inverse.ravel()))


def newline_joined(lines: pa.Array) -> pa.Buffer:
    """The lines, each followed by ``\\n``, as one buffer (no Python string per line)."""
    with_newline = pc.binary_join_element_wise(lines, "\n", "")
    large = with_newline.cast(pa.large_string())
    offsets = np.frombuffer(large.buffers()[1], dtype=np.int64)
    begin, end = offsets[large.offset], offsets[large.offset + len(large)]
    data = large.buffers()[2]
    return data[begin:end] if data is not None else pa.py_buffer(b"")
