"""Converters of the less common time and latency syntaxes, vectorised per partition.

* :func:`duration_to_ms`: duration strings with their unit, ``"12ms"``, ``"0.005018s"``,
  ``"1.2us"`` (Traefik's CLF, Google Cloud's ``latency``, Go's ``time.Duration`` text such as
  ``"1m2.5s"``). One number and one unit is the common case and is converted by unit with
  :func:`~pipeline.ingest.parsing.convert.decimal_to_ms` (exact); Go's compound durations
  (``1h2m3s``) and minutes or hours are rare and summed exactly with :class:`~decimal.Decimal`.
* :func:`epoch_ms_to_ms`, :func:`epoch_us_to_ms`: Apache ``%{msec}t`` and ``%{usec}t``.
* :func:`strftime_ms`: Apache ``%{format}t`` times, through the pattern of
  :mod:`pipeline.ingest.formats.strftime` with one group per component.

>>> values, ok = duration_to_ms(pa.array(["12ms", "0.005018s", "1.2us", "1m2.5s", "-", "5"]))
>>> values.tolist(), ok.tolist()
([12.0, 5.018, 0.0012, 62500.0, nan, nan], [True, True, True, True, True, False])
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.strftime import strftime_pattern
from pipeline.ingest.parsing.convert import (
    MAX_LATENCY_MS,
    MAX_TIME_MS,
    MIN_TIME_MS,
    BoolArray,
    FloatArray,
    IntArray,
    civil_ms,
    decimal_to_ms,
    epoch_to_ms,
    number_from,
)

#: Units of a duration string and their power of ten in ms (``µ`` and ``μ``: both micro signs
#: are seen; Go writes U+00B5).
UNIT_EXPONENTS: Final[dict[str, int]] = {
    "ns": -6,
    "us": -3,
    "\u00b5s": -3,
    "\u03bcs": -3,
    "ms": 0,
    "s": 3,
}

#: Minutes and hours, in ms (Go writes ``1m30s``, ``2h0m0s``).
_LONG_UNITS: Final[dict[str, Decimal]] = {"m": Decimal(60_000), "h": Decimal(3_600_000)}

_UNITS: Final[str] = "ns|us|\u00b5s|\u03bcs|ms|s|m|h"

#: A duration: one or more ``number unit`` pairs (Go's compound form), or ``-`` for none.
DURATION: Final[str] = rf"(?:[0-9]+(?:\.[0-9]+)?(?:{_UNITS}))+"

_PART: Final = re.compile(rf"([0-9]+(?:\.[0-9]+)?)({_UNITS})")


def duration_to_ms(strings: pa.Array) -> tuple[FloatArray, BoolArray]:
    """Duration strings (:data:`DURATION`, or ``-``) as float64 ms; anything else is invalid."""
    count = len(strings)
    values = np.full(count, np.nan)
    valid = np.zeros(count, dtype=bool)
    if count == 0:
        return values, valid
    strings = pc.cast(strings, pa.large_string())
    dash = _bool(pc.equal(strings, "-"))
    valid |= dash
    for unit, exponent in UNIT_EXPONENTS.items():
        single = _bool(pc.match_substring_regex(strings, pattern=rf"^[0-9]+(?:\.[0-9]+)?{unit}$"))
        if not single.any():
            continue
        numbers = pc.utf8_slice_codeunits(strings.filter(pa.array(single)), 0, -len(unit))
        converted, ok = decimal_to_ms(numbers, exponent)
        values[single] = converted
        valid[single] = ok
    rest = ~valid & _bool(pc.match_substring_regex(strings, pattern=f"^{DURATION}$"))
    for index in np.flatnonzero(rest):  # compound or in minutes/hours: rare, summed exactly
        total = Decimal(0)
        for number, unit in _PART.findall(str(strings[int(index)].as_py())):
            scale = _LONG_UNITS.get(unit) or Decimal(1).scaleb(UNIT_EXPONENTS[unit])
            total += Decimal(number) * scale
        values[index] = float(total)
        valid[index] = float(total) <= MAX_LATENCY_MS
    return values, valid


def epoch_ms_to_ms(strings: pa.Array) -> tuple[IntArray, BoolArray]:
    """Epoch milliseconds (Apache ``%{msec}t``) as UTC ms."""
    return epoch_to_ms(_with_point(strings, 3))


def epoch_us_to_ms(strings: pa.Array) -> tuple[IntArray, BoolArray]:
    """Epoch microseconds (Apache ``%{usec}t``) as UTC ms (floored)."""
    return epoch_to_ms(_with_point(strings, 6))


def _with_point(strings: pa.Array, digits: int) -> pa.Array:
    """Integer strings divided by ``10**digits`` as decimal text (``1234`` -> ``1.234``), so the
    exact epoch-seconds converter reads them."""
    padded = pc.utf8_lpad(pc.cast(strings, pa.large_string()), width=digits + 1, padding="0")
    return pc.utf8_replace_slice(padded, start=-digits, stop=-digits, replacement=".")


_MONTH_NUMBERS: Final[dict[str, int]] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def strftime_ms(strings: pa.Array, fmt: str) -> tuple[IntArray, BoolArray]:
    """Times written with the strftime format ``fmt`` as UTC ms (UTC when ``fmt`` has no
    ``%z``); an impossible date (31 February) is invalid.

    >>> millis, ok = strftime_ms(pa.array(["2000-10-10T13:55:36", "2000-02-31T00:00:00"]),
    ...                          "%Y-%m-%dT%H:%M:%S")
    >>> millis.tolist(), ok.tolist()
    ([971186136000, 951955200000], [True, False])
    """
    count = len(strings)
    if count == 0:
        return np.zeros(0, dtype=np.int64), np.ones(0, dtype=bool)
    pattern = "^" + strftime_pattern(fmt, named=True) + "$"
    parts = pc.extract_regex(pc.cast(strings, pa.large_string()), pattern=pattern)
    matched = _bool(pc.is_valid(parts))
    names = set(parts.type.field(i).name for i in range(parts.type.num_fields))

    def field(name: str) -> pa.Array:
        return pc.utf8_trim_whitespace(pc.fill_null(pc.struct_field(parts, name), ""))

    def number(name: str, default: int = 0) -> IntArray:
        if name not in names:
            return np.full(count, default, dtype=np.int64)
        return number_from(field(name))

    millis = number("ms") if "ms" in names else number("us") // 1000
    if "epoch" in names:
        epoch = number("epoch") * 1000 + millis
        ok = (epoch >= MIN_TIME_MS) & (epoch <= MAX_TIME_MS)
        return epoch, ok & matched
    year = number("year") if "year" in names else _year2(number("year2"))
    if "month_name" in names:
        lowered = pc.utf8_lower(pc.utf8_slice_codeunits(field("month_name"), 0, 3))
        month = np.zeros(count, dtype=np.int64)
        for name, month_number in _MONTH_NUMBERS.items():
            month[_bool(pc.equal(lowered, name))] = month_number
    else:
        month = number("month")
    hour = number("hour")
    if "hour12" in names:
        pm = _bool(pc.equal(pc.utf8_lower(field("ampm")), "pm"))
        twelve = number("hour12")
        hour = np.where(twelve == 12, 0, twelve) + np.where(pm, 12, 0)
        matched &= (twelve >= 1) & (twelve <= 12)
    offset = np.zeros(count, dtype=np.int64)
    valid_offset = np.ones(count, dtype=bool)
    if "zone" in names:
        zone = field("zone")
        sign = np.where(_bool(pc.starts_with(zone, "-")), -1, 1)
        zone_h = number_from(pc.utf8_slice_codeunits(zone, 1, 3))
        zone_m = number_from(pc.utf8_slice_codeunits(zone, 3, 5))
        offset = sign * (zone_h * 60 + zone_m)
        valid_offset = (zone_h <= 23) & (zone_m <= 59)
    epoch, ok = civil_ms(
        year,
        month,
        number("day"),
        hour,
        number("minute"),
        number("second"),
        millis,
        offset,
        valid_offset=valid_offset,
    )
    return epoch, ok & matched


def _year2(two_digits: IntArray) -> IntArray:
    """POSIX ``%y``: 69-99 are 1969-1999, 00-68 are 2000-2068."""
    return np.where(two_digits >= 69, 1900 + two_digits, 2000 + two_digits)


def _bool(array: pa.Array) -> BoolArray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
