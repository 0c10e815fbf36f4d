"""Vectorised converters from captured text fields to typed values (no Python loop per line).

Each converter takes an Arrow string array and returns numpy values plus a validity mask; a line
whose field does not convert is malformed (the caller moves it), so nothing is silently dropped.

* :func:`decimal_to_ms` turns ``"0.051"`` seconds into ``51.0`` ms **exactly**: the digits become
  one integer N and a power of ten, and ``N * 10**e`` (or ``N / 10**-e``) is one correctly rounded
  float operation on exactly representable operands, so the result is the float nearest to the
  decimal value (what ``float(Decimal(text) * 1000)`` gives), never ``51.00000000000001``.
* :func:`clf_time_ms` and :func:`iso_time_ms` parse ``10/Oct/2000:13:55:36 -0700`` and
  ``2000-10-10T13:55:36.123+02:00`` by position and validate the calendar strictly (``31/Feb`` is
  malformed, where Arrow's ``strptime`` would roll it over into March). Times are UTC
  milliseconds since the epoch; finer fractions are truncated.
* :func:`split_request` cuts ``"GET /x HTTP/1.1"`` into method and target.

>>> import pyarrow as pa
>>> values, ok = decimal_to_ms(pa.array(["0.051", "-", "7"]), exponent=3)
>>> values.tolist(), ok.tolist()
([51.0, nan, 7000.0], [True, True, True])
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import CLF_TIME

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: Exactly representable powers of ten (10**22 is the last one that is exact in float64).
_POW10: Final = np.array([10.0**k for k in range(23)], dtype=np.float64)

#: Digits that always fit the fast path: N < 10**15 < 2**53 is exact in float64.
_FAST_DIGITS: Final[int] = 15

#: Largest latency accepted, in milliseconds (10**9 ms, about 11.6 days). A larger value (or one
#: that is not a finite float64, like ``1`` followed by 400 zeros) makes its line malformed: no
#: real request takes that long, and such values would overflow the statistics.
MAX_LATENCY_MS: Final[float] = 1e9

#: Largest response size accepted, in bytes (10**15, a petabyte). A larger size (``2**64``, 23
#: digits) makes its line malformed instead of being clamped: no response is that big, and a
#: partition's sum of sizes below 2**50 each is exact in int64 arithmetic (see
#: :func:`~pipeline.ingest.aggregate.partial.exact_sum`).
MAX_BYTES: Final[int] = 10**15

#: The times accepted, as UTC ms since the epoch: 0001-01-01T00:00:00Z to
#: 9999-12-31T23:59:59.999Z, the years a four-digit ISO 8601 date can name (and Python's
#: ``datetime`` can hold). A time outside (``$msec`` of ``1e18``, a ``31/Dec/9999`` local time
#: that is year 10000 in UTC) makes its line malformed.
MIN_TIME_MS: Final[int] = -62_135_596_800_000
MAX_TIME_MS: Final[int] = 253_402_300_799_999

#: ``METHOD TARGET PROTOCOL`` (the protocol may be absent: HTTP/0.9). Anything else (``-``, a TLS
#: handshake sent to a plain-text port) is a request with method ``-`` and path ``-``.
REQUEST_PATTERN: Final[str] = r"^(?P<method>[A-Z]+) (?P<target>[^ ]+)(?: HTTP/[0-9.]+)?$"

_MONTHS: Final[dict[str, int]] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def decimal_to_ms(
    strings: pa.Array, exponent: int, limit: float = MAX_LATENCY_MS
) -> tuple[FloatArray, BoolArray]:
    """Decimal strings (``[0-9]+(.[0-9]+)?`` or ``-``) times ``10**exponent``, as float64 ms.

    ``exponent`` is 3 for seconds, 0 for ms, -3 for microseconds. ``-`` gives NaN and stays valid
    (a request without a latency); a value above ``limit`` (:data:`MAX_LATENCY_MS`) is invalid.
    """
    count = len(strings)
    if count == 0:
        return np.zeros(0, dtype=np.float64), np.ones(0, dtype=bool)
    dash = _bool(pc.equal(strings, "-"))
    numeric = pc.if_else(pa.array(dash), "0", strings) if dash.any() else strings
    if exponent == 0:
        # Arrow's string -> float64 cast rounds correctly (it is what float(text) gives), so for
        # milliseconds no integer arithmetic is needed; too large a value becomes inf (invalid).
        values = _float(pc.cast(numeric, pa.float64()))
    else:
        values = _scaled_decimals(numeric, exponent)
    values[dash] = np.nan
    valid = dash | (np.isfinite(values) & (values <= limit))
    return values, valid


#: Power of ten that turns a duration in each unit into milliseconds (Go's ``time.Duration``
#: spellings, which Caddy, Traefik and GCP write; ``µs`` is U+00B5, ``μs`` U+03BC, both Go's).
DURATION_UNITS: Final[dict[str, int]] = {"s": 3, "ms": 0, "us": -3, "µs": -3, "μs": -3, "ns": -6}

#: A duration string: one decimal number and an optional unit of :data:`DURATION_UNITS`.
_DURATION: Final[str] = r"^(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>ns|us|µs|μs|ms|s)?$"


def duration_to_ms(strings: pa.Array, unit: str | None = None) -> tuple[FloatArray, BoolArray]:
    """Duration strings with their unit (``"0.005s"``, ``"12ms"``, ``"1.2us"``, ``"5µs"``,
    ``"3ns"``) as float64 ms, converted exactly like :func:`decimal_to_ms`.

    A bare number takes ``unit`` (a key whose unit is known, e.g. ``--field latency=t:s``) and is
    invalid when ``unit`` is None: ``"12"`` alone does not say what it counts. ``-`` is no
    latency (NaN, valid). Go's compound durations (``"1m2.5s"``) and signs are invalid.

    >>> texts = ["0.005018s", "12ms", "1.2us", "5µs", "3ns", "7", "-"]
    >>> values, ok = duration_to_ms(pa.array(texts))
    >>> values.tolist()[:5], ok.tolist()
    ([5.018, 12.0, 0.0012, 0.005, 3e-06], [True, True, True, True, True, False, True])
    >>> duration_to_ms(pa.array(["7"]), unit="s")[0].tolist()
    [7000.0]
    """
    count = len(strings)
    values = np.full(count, np.nan, dtype=np.float64)
    valid = np.zeros(count, dtype=bool)
    if count == 0:
        return values, valid
    dash = _bool(pc.equal(strings, "-"))
    parts = pc.extract_regex(pc.if_else(pa.array(dash), "0", strings), pattern=_DURATION)
    matched = _bool(pc.is_valid(parts))
    numbers = pc.struct_field(parts, "number")
    units = pc.fill_null(pc.struct_field(parts, "unit"), "")
    default = unit or ""
    for name in set(pc.unique(units.filter(pa.array(matched))).to_pylist()):
        spelled = name or default
        if spelled not in DURATION_UNITS:  # a bare number and no unit given
            continue
        where = matched & _bool(pc.equal(units, name))
        converted, ok = decimal_to_ms(numbers.filter(pa.array(where)), DURATION_UNITS[spelled])
        values[where] = converted
        valid[where] = ok
    values[dash] = np.nan
    valid[dash] = True
    return values, valid


def epoch_to_ms(strings: pa.Array) -> tuple[IntArray, BoolArray]:
    """Decimal epoch seconds (``$msec``) as UTC ms, floored; invalid outside the time range.

    An epoch is no latency (no :data:`MAX_LATENCY_MS` cap) but must name a time from
    :data:`MIN_TIME_MS` to :data:`MAX_TIME_MS`; only those values are cast to int64, so a huge
    one (``1e18`` seconds) is an invalid line, not a numpy cast warning.

    >>> millis, ok = epoch_to_ms(pa.array(["1700000000.1239", "1000000000000000000.5"]))
    >>> millis.tolist(), ok.tolist()
    ([1700000000123, 0], [True, False])
    """
    seconds, ok = decimal_to_ms(strings, exponent=3, limit=float("inf"))
    ok &= np.isfinite(seconds) & (seconds >= MIN_TIME_MS) & (seconds < MAX_TIME_MS + 1)
    return np.floor(np.where(ok, seconds, 0.0)).astype(np.int64), ok


def _scaled_decimals(strings: pa.Array, exponent: int) -> FloatArray:
    """``[0-9]+(.[0-9]+)?`` strings times ``10**exponent``, correctly rounded (see module doc)."""
    dot = _int(pc.find_substring(strings, "."))
    length = _int(pc.binary_length(strings))
    digits = length - (dot >= 0)
    fast = digits <= _FAST_DIGITS
    picked = strings if fast.all() else pc.if_else(pa.array(fast), strings, "0")
    number = _float(pc.cast(pc.replace_substring(picked, ".", ""), pa.int64()))
    power = exponent - np.where(dot < 0, 0, length - dot - 1)
    values: FloatArray = np.where(
        power >= 0,
        number * _POW10[np.clip(power, 0, 22)],
        number / _POW10[np.clip(-power, 0, 22)],
    )
    for index in np.flatnonzero(~fast):  # more than 15 digits: rare, exact via Decimal
        values[index] = _slow_decimal(str(strings[int(index)].as_py()), exponent)
    return values


def _float(array: Any) -> FloatArray:
    return np.array(array.to_numpy(zero_copy_only=False), dtype=np.float64)  # writable copy


def _slow_decimal(text: str, exponent: int) -> float:
    try:
        sign, digits, exp = Decimal(text).as_tuple()
    except InvalidOperation:
        return float("nan")
    if not isinstance(exp, int):
        return float("nan")
    return float(Decimal((sign, digits, exp + exponent)))


def latency_list_to_ms(strings: pa.Array) -> tuple[FloatArray, BoolArray]:
    """``$upstream_response_time`` in seconds: ``0.010, 0.020`` or ``0.010 : 0.020`` -> the sum.

    Each upstream tried adds its time; ``-`` items (an upstream that gave no response) add
    nothing; a list of only ``-`` (or ``""``, nginx's empty value with ``escape=json``) has no
    latency (NaN). A single item is converted exactly like any latency; a list is summed as
    decimals (exact), then rounded once to float.
    """
    count = len(strings)
    if count == 0:
        return np.zeros(0, dtype=np.float64), np.ones(0, dtype=bool)
    strings = pc.if_else(pc.equal(strings, ""), "-", strings)
    is_list = _bool(pc.match_substring_regex(strings, pattern=", | : "))
    single = pc.if_else(pa.array(is_list), "-", strings) if is_list.any() else strings
    values, valid = decimal_to_ms(single, exponent=3)
    for index in np.flatnonzero(is_list):  # several upstreams: rare, summed exactly
        items = re.split(r", | : ", str(strings[int(index)].as_py()))
        numbers = [Decimal(item) for item in items if item != "-"]
        total = float(sum(numbers, Decimal(0)).scaleb(3)) if numbers else float("nan")
        values[index] = total
        valid[index] = not total > MAX_LATENCY_MS
    return values, valid


def integer_or_dash(strings: pa.Array) -> tuple[IntArray, BoolArray]:
    """``[0-9]+`` or ``-`` (zero) sizes, as int64; a size above :data:`MAX_BYTES` is invalid.

    >>> values, ok = integer_or_dash(pa.array(["-", "0042", "18446744073709551616"]))
    >>> values.tolist(), ok.tolist()
    ([0, 42, 0], [True, True, False])
    """
    if len(strings) == 0:
        return np.zeros(0, dtype=np.int64), np.ones(0, dtype=bool)
    digits = pc.utf8_ltrim(pc.if_else(pc.equal(strings, "-"), "0", strings), characters="0")
    # at most 16 significant digits: 10**15 has 16; anything longer is over the cap anyway
    short = _bool(pc.less_equal(pc.binary_length(digits), 16))
    safe = pc.if_else(pa.array(short), pc.if_else(pc.equal(digits, ""), "0", digits), "0")
    values = np.asarray(pc.cast(safe, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return values, short & (values <= MAX_BYTES)


def status_codes(strings: pa.Array) -> np.ndarray[Any, np.dtype[np.int16]]:
    """Status strings already validated (``100``-``599``, or no status: ``000``, ``0``, ``-``,
    HAProxy's ``-1``) as int16; no status is 0 (the status class ``none``).

    >>> status_codes(pa.array(["200", "000", "-", "0", "-1"])).tolist()
    [200, 0, 0, 0, 0]
    """
    strings = pc.if_else(pc.is_in(strings, pa.array(["-", "-1"])), "0", strings)
    return np.asarray(pc.cast(strings, pa.int16()).to_numpy(zero_copy_only=False), np.int16)


#: A request target that is an absolute URL (proxies and load balancers log the whole URL):
#: ``scheme://[userinfo@]host[:port]`` then the path. The host is what group ``host`` captures.
URL_TARGET: Final[str] = (
    r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]/?#]*\]|[^:/?#]*)(?::[0-9]*)?"
)


def url_targets(targets: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Request targets with absolute URLs reduced to their path (and query), and the URLs'
    hosts (null where the target is not a URL; None when no target is one, the common case).

    An empty path is ``/``. A ``CONNECT`` target (``host:443``) is not a URL and stays as is.

    >>> paths, hosts = url_targets(pa.array(["https://a.example:443/x?q=1", "/y", "http://b"]))
    >>> paths.to_pylist(), hosts.to_pylist()
    (['/x?q=1', '/y', '/'], ['a.example', None, 'b'])
    """
    targets = large_strings(targets)
    is_url = pc.fill_null(pc.match_substring_regex(targets, pattern=URL_TARGET), False)
    if not pc.any(is_url).as_py():
        return targets, None
    hosts = pc.struct_field(pc.extract_regex(targets, pattern=URL_TARGET), [0])
    rest = pc.replace_substring_regex(targets, pattern=URL_TARGET, replacement="")
    slash = pc.utf8_replace_slice(rest, start=0, stop=0, replacement="/")
    rest = pc.if_else(pc.starts_with(rest, "/"), rest, slash)
    paths = pc.if_else(is_url, rest, targets)
    return paths, pc.if_else(is_url, hosts, pa.scalar(None, pa.large_string()))


def split_request(requests: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(method, target) of each request line; ``-`` for both when it is not a request line.

    The pattern is only matched (RE2's fast DFA, no capture groups); method and target are then
    cut at the first and second space, which a valid request line has in those places only.
    """
    requests = large_strings(requests)
    valid = pc.fill_null(pc.match_substring_regex(requests, pattern=REQUEST_PATTERN), False)
    lines = pc.if_else(valid, requests, "- -")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = lines.buffers()[2]
    start, end = offsets[:-1], offsets[1:]
    first = start + positions(lines, " ")
    rest = substrings(data, first + 1, end)
    second = positions(rest, " ")
    target_end = np.where(second < 0, end, first + 1 + second)
    return substrings(data, start, first), substrings(data, first + 1, target_end)


def clf_time_ms(strings: pa.Array, shape_checked: bool = False) -> tuple[IntArray, BoolArray]:
    """``dd/Mon/yyyy:HH:MM:SS +hhmm`` (fixed width, as nginx and Apache write it) -> UTC ms.

    The 26 bytes are read by position straight from the Arrow buffers (numpy arithmetic on
    bytes, no string slicing); a value of another shape is invalid. ``shape_checked``: every
    value is known to match :data:`~pipeline.ingest.formats.presets.CLF_TIME` already.
    """
    if len(strings) == 0:
        return np.zeros(0, dtype=np.int64), np.ones(0, dtype=bool)
    shaped = np.ones(len(strings), dtype=bool)
    if not shape_checked:
        shaped = _bool(pc.match_substring_regex(strings, pattern=f"^{CLF_TIME}$"))
        strings = pc.if_else(pa.array(shaped), strings, "01/Jan/1970:00:00:00 +0000")
    raw, starts = _bytes_and_starts(strings)

    def number(begin: int, stop: int) -> IntArray:
        value = np.zeros(len(starts), dtype=np.int64)
        for position in range(begin, stop):
            value = value * 10 + (raw[starts + position].astype(np.int64) - ord("0"))
        return value

    name = (
        (raw[starts + 3].astype(np.int64) | 0x20) << 16
        | (raw[starts + 4].astype(np.int64) | 0x20) << 8
        | (raw[starts + 5].astype(np.int64) | 0x20)
    )
    month = np.zeros(len(starts), dtype=np.int64)
    for text, number_of_month in _MONTHS.items():
        code = ord(text[0]) << 16 | ord(text[1]) << 8 | ord(text[2])
        month[name == code] = number_of_month
    sign = np.where(raw[starts + 21] == ord("-"), -1, 1)
    zone_h, zone_m = number(22, 24), number(24, 26)
    epoch, valid = _civil_ms(
        number(7, 11),
        month,
        number(0, 2),
        number(12, 14),
        number(15, 17),
        number(18, 20),
        np.zeros(len(starts), dtype=np.int64),
        sign * (zone_h * 60 + zone_m),
        valid_offset=(zone_h <= 23) & (zone_m <= 59),
    )
    return epoch, valid & shaped


def _bytes_and_starts(strings: pa.Array) -> tuple[np.ndarray[Any, np.dtype[np.uint8]], IntArray]:
    """The data buffer of a string array as bytes, and each string's start offset in it."""
    strings = large_strings(strings)
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)
    starts = offsets[strings.offset : strings.offset + len(strings)]
    data = strings.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return raw, starts


#: ISO 8601 as ``$time_iso8601`` and JSON logs write it; the zone is required.
ISO_PATTERN: Final[str] = (
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})[T ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})"
    r":(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?(?P<z>Z|[+-][0-9]{2}:?[0-9]{2})$"
)


def iso_time_ms(strings: pa.Array) -> tuple[IntArray, BoolArray]:
    """``YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]`` -> UTC ms (fraction truncated to ms)."""
    count = len(strings)
    if count == 0:
        return np.zeros(0, dtype=np.int64), np.ones(0, dtype=bool)
    parts = pc.extract_regex(strings, pattern=ISO_PATTERN)
    matched = _bool(pc.is_valid(parts))

    def number(name: str, default: str = "0") -> IntArray:
        field = pc.fill_null(pc.struct_field(parts, name), default)
        field = pc.if_else(pc.equal(field, ""), default, field)
        return np.asarray(pc.cast(field, pa.int64()).to_numpy(zero_copy_only=False), np.int64)

    fraction = pc.fill_null(pc.struct_field(parts, "f"), "")
    padded = pc.binary_join_element_wise(pc.cast(fraction, pa.string()), "000", "")
    millis = number_from(pc.utf8_slice_codeunits(padded, 0, 3))
    zone = pc.fill_null(pc.struct_field(parts, "z"), "Z")
    is_utc = _bool(pc.equal(zone, "Z"))
    digits = pc.replace_substring(pc.if_else(pc.equal(zone, "Z"), "+0000", zone), ":", "")
    sign = np.where(_bool(pc.starts_with(digits, "-")), -1, 1)
    zone_h = number_from(pc.utf8_slice_codeunits(digits, 1, 3))
    zone_m = number_from(pc.utf8_slice_codeunits(digits, 3, 5))
    offset = np.where(is_utc, 0, sign * (zone_h * 60 + zone_m))
    epoch, valid = _civil_ms(
        number("y", "1970"),
        number("mo", "1"),
        number("d", "1"),
        number("h"),
        number("mi"),
        number("s"),
        millis,
        offset,
        valid_offset=(zone_h <= 23) & (zone_m <= 59),
    )
    return epoch, valid & matched


def number_from(strings: pa.Array) -> IntArray:
    """Digit strings as int64 (``""`` is 0)."""
    cleaned = pc.if_else(pc.equal(strings, ""), "0", strings)
    return np.asarray(pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False), np.int64)


def _civil_ms(
    year: IntArray,
    month: IntArray,
    day: IntArray,
    hour: IntArray,
    minute: IntArray,
    second: IntArray,
    millis: IntArray,
    offset_minutes: IntArray,
    valid_offset: BoolArray,
) -> tuple[IntArray, BoolArray]:
    """UTC epoch ms of a local civil time with a UTC offset; strict calendar validation.

    Days from the civil date use Howard Hinnant's ``days_from_civil`` (proleptic Gregorian).
    A time outside :data:`MIN_TIME_MS` .. :data:`MAX_TIME_MS` once in UTC is invalid.
    """
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    safe_month = np.clip(month, 0, 12)
    days_in_month = month_days[safe_month] + ((safe_month == 2) & leap)
    valid = (
        (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= days_in_month)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (year >= 1)
        & valid_offset
    )
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60
    epoch = (seconds * 1000 + millis).astype(np.int64)
    return epoch, valid & (epoch >= MIN_TIME_MS) & (epoch <= MAX_TIME_MS)


#: The civil-time arithmetic, for the converters of other time syntaxes
#: (:mod:`pipeline.ingest.parsing.units`).
civil_ms = _civil_ms


def _bool(array: Any) -> BoolArray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _int(array: Any) -> IntArray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)


def positions(strings: pa.Array, needle: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Byte index of the first ``needle`` in each string."""
    found = pc.find_substring(strings, needle)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def substrings(
    data: pa.Buffer | None, begin: np.ndarray[Any, Any], stop: np.ndarray[Any, Any]
) -> pa.Array:
    """Strings ``data[begin[i]:stop[i]]`` without a Python loop.

    The spans are in increasing order and do not overlap, so ``[b0, s0, b1, s1, ...]`` is a valid
    offsets buffer whose even elements are the wanted substrings; one ``take`` compacts them.
    """
    if len(begin) == 0 or data is None:
        return pa.array([], type=pa.large_string())
    bounds = np.empty(2 * len(begin), dtype=np.int64)
    bounds[0::2] = begin
    bounds[1::2] = stop
    spans = pa.LargeStringArray.from_buffers(len(bounds) - 1, pa.py_buffer(bounds), data)
    return spans.take(pa.array(np.arange(0, len(bounds), 2, dtype=np.int64)))


def large_strings(array: Any) -> pa.Array:
    """``array`` as one contiguous ``large_string`` array (64-bit offsets, read by position)."""
    array = pc.cast(array, pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array
