"""Duration strings with their unit (role ``latency_duration``) and Apache's epoch times in ms
and us, against hand-computed values."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from pipeline.ingest.parsing.roles import LATENCY_ROLES, TIME_ROLES
from pipeline.ingest.parsing.units import duration_to_ms, epoch_ms_to_ms, epoch_us_to_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("12ms", 12.0),
        ("0ms", 0.0),
        ("0.005018s", 5.018),
        ("2s", 2000.0),
        ("1.2us", 0.0012),
        ("1.2\u00b5s", 0.0012),
        ("1.2\u03bcs", 0.0012),
        ("1500ns", 0.0015),
        ("1m2.5s", 62500.0),
        ("2h0m0s", 7_200_000.0),
        ("1h30m", 5_400_000.0),
        ("3m", 180_000.0),
        ("0.1s", 100.0),
    ],
)
def test_durations(text: str, ms: float) -> None:
    values, ok = LATENCY_ROLES["latency_duration"](pa.array([text]))
    assert ok.tolist() == [True]
    assert values.tolist() == [ms]


def test_a_dash_is_no_duration() -> None:
    values, ok = duration_to_ms(pa.array(["-"]))
    assert ok.tolist() == [True] and math.isnan(values[0])


@pytest.mark.parametrize("text", ["5", "ms", "1.5.2s", "-1ms", "1e3ms", ".5s", "5 ms", "5sec", ""])
def test_other_durations_are_invalid(text: str) -> None:
    assert duration_to_ms(pa.array([text]))[1].tolist() == [False]


def test_a_duration_beyond_the_latency_cap_is_invalid() -> None:
    _, ok = duration_to_ms(pa.array(["1000000001ms", "300h", "1000001s"]))
    assert ok.tolist() == [False, False, False]


def test_epoch_milli_and_microseconds() -> None:
    millis, ok = epoch_ms_to_ms(pa.array(["971186136123", "0", "5"]))
    assert millis.tolist() == [971186136123, 0, 5] and ok.all()
    micros, ok = epoch_us_to_ms(pa.array(["971186136123999", "999", "1000"]))
    assert micros.tolist() == [971186136123, 0, 1] and ok.all()
    assert TIME_ROLES["time_epoch_ms"] is epoch_ms_to_ms
