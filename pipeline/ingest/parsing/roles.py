"""What a captured field means: the converters of latency and time roles, as tables.

A compiled format (:class:`~pipeline.ingest.formats.presets.LogFormat`, kind ``regex``) names
the role of each capture group. The roles of latencies and times are looked up here, so a new
unit or time syntax is a row of :data:`LATENCY_ROLES` or :data:`TIME_ROLES`, not a branch in the
parser. A format with several latency roles reads the first of
:data:`~pipeline.ingest.formats.presets.LATENCY_PRIORITY` (same keys as :data:`LATENCY_ROLES`);
the others only have to match.

A role may be captured several times when its values add up: a group named
``<role>__<n>`` is another capture of ``<role>`` (an ALB line's three processing times are
``latency_s_or_neg1__1`` to ``__3``). The latency is then the sum of the captures, and no latency
when any capture has none (``-``, or ``-1`` where the format documents it).

Every converter takes the captured strings of the lines that matched and returns the values
(latency: float64 ms, NaN for none; time: int64 UTC ms) and which lines converted (a line that
does not is malformed).

>>> latency, ok = LATENCY_ROLES["latency_s_or_neg1"](pa.array(["0.001", "-1", "-"]))
>>> latency.tolist(), ok.tolist()
([1.0, nan, nan], [True, True, True])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import base_role
from pipeline.ingest.parsing.convert import (
    BoolArray,
    FloatArray,
    IntArray,
    clf_time_ms,
    decimal_to_ms,
    epoch_to_ms,
    iso_time_ms,
    latency_list_to_ms,
)
from pipeline.ingest.parsing.units import (
    duration_to_ms,
    epoch_ms_to_ms,
    epoch_us_to_ms,
    strftime_ms,
)
from pipeline.ingest.parsing.utc_times import clf_ms_utc_to_ms

LatencyConverter = Callable[[pa.Array], tuple[FloatArray, BoolArray]]
TimeConverter = Callable[[pa.Array], tuple[IntArray, BoolArray]]


def _scaled(exponent: int) -> LatencyConverter:
    """Decimal strings in a unit of ``10**exponent`` ms; ``-`` is no latency."""

    def convert(strings: pa.Array) -> tuple[FloatArray, BoolArray]:
        return decimal_to_ms(strings, exponent)

    return convert


def _or_neg1(exponent: int) -> LatencyConverter:
    """Like :func:`_scaled`, and ``-1`` is no latency too (ALB/ELB processing times, HAProxy
    timers: the documented "no value" of those formats)."""

    def convert(strings: pa.Array) -> tuple[FloatArray, BoolArray]:
        strings = pc.if_else(pc.equal(strings, "-1"), "-", strings)
        return decimal_to_ms(strings, exponent)

    return convert


#: Latency roles, in the order a format with several of them prefers them, with their unit.
LATENCY_ROLES: Final[dict[str, LatencyConverter]] = {
    "latency_s": _scaled(3),  # nginx $request_time, W3C time-taken (spec), CloudFront
    "latency_us": _scaled(-3),  # Apache %D, %{us}T
    "latency_ms": _scaled(0),  # Apache %{ms}T, IIS time-taken, Squid elapsed, Envoy %DURATION%
    "latency_s_int": _scaled(3),  # Apache %T, %{s}T (whole seconds)
    "latency_s_or_neg1": _or_neg1(3),  # ALB/ELB processing times (summed), -1: none
    "latency_ms_or_neg1": _or_neg1(0),  # HAProxy Ta / Tt, -1: none
    "latency_list_s": latency_list_to_ms,  # nginx $upstream_response_time
    "latency_duration": duration_to_ms,  # "12ms", "0.005s", "1.2us" (Traefik CLF, GCP, Go)
}


def _clf(strings: pa.Array) -> tuple[IntArray, BoolArray]:
    return clf_time_ms(strings, shape_checked=True)


#: Time roles, in the order a format with several of them prefers them.
TIME_ROLES: Final[dict[str, TimeConverter]] = {
    "time_clf": _clf,  # 10/Oct/2000:13:55:36 -0700 (nginx $time_local, Apache %t)
    "time_iso": iso_time_ms,  # 2000-10-10T13:55:36-07:00 (nginx $time_iso8601)
    "time_epoch_s": epoch_to_ms,  # 1700000000.123 (nginx $msec, Apache %{sec}t)
    "time_epoch_ms": epoch_ms_to_ms,  # 1700000000123 (Apache %{msec}t)
    "time_epoch_us": epoch_us_to_ms,  # 1700000000123456 (Apache %{usec}t)
    "time_clf_ms_utc": clf_ms_utc_to_ms,  # 09/Feb/2009:16:31:28.430, no offset: UTC (HAProxy)
}

#: The time role whose syntax is the format's own strftime string (Apache ``%{format}t``), kept
#: in the format's options under this key (see :func:`time_of`).
STRFTIME_ROLE: Final[str] = "time_strftime"
STRFTIME_OPTION: Final[str] = "strftime"


def time_of(
    strings: pa.Array, role: str, options: tuple[tuple[str, str], ...]
) -> tuple[IntArray, BoolArray]:
    """The times (UTC ms) of the captured ``strings`` of time role ``role``: a row of
    :data:`TIME_ROLES`, or :data:`STRFTIME_ROLE` read with the format's strftime option."""
    if role == STRFTIME_ROLE:
        return strftime_ms(strings, dict(options)[STRFTIME_OPTION])
    return TIME_ROLES[role](strings)


def latency_of(fields: dict[str, pa.Array], role: str, count: int) -> tuple[FloatArray, BoolArray]:
    """The latency (ms, NaN for none) of the lines from every capture of ``role``, summed."""
    convert = LATENCY_ROLES[role]
    total = np.zeros(count, dtype=np.float64)
    valid = np.ones(count, dtype=bool)
    for name, strings in fields.items():
        if base_role(name) == role:
            values, ok = convert(strings)
            total += values  # NaN (no latency) in any capture: no latency for the line
            valid &= ok
    return total, valid
