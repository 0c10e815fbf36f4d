"""``duration_to_ms``: duration strings with their unit, against a Decimal reference."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.parsing.convert import duration_to_ms
from tests.conftest import examples

#: Milliseconds per unit, written out independently of the module's table.
REFERENCE_UNITS = {
    "s": "1000",
    "ms": "1",
    "us": "0.001",
    "µs": "0.001",
    "μs": "0.001",
    "ns": "0.000001",
}


def _reference(text: str, unit: str | None = None) -> float | None:
    """The ms of one duration string by plain string handling, None when invalid."""
    if text == "-":
        return float("nan")
    spelled: str | None
    for suffix in sorted(REFERENCE_UNITS, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)][:1].isdigit():
            number, spelled = text[: -len(suffix)], suffix
            break
    else:
        number, spelled = text, unit
    if spelled is None or not number.replace(".", "", 1).isdigit() or number.endswith("."):
        return None
    if number.startswith(".") or not number.isascii():
        return None
    value = float(Decimal(number) * Decimal(REFERENCE_UNITS[spelled]))
    return value if value <= 1e9 else None  # every latency above 1e9 ms is invalid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.005018s", 5.018),
        ("12ms", 12.0),
        ("1.2us", 0.0012),
        ("5µs", 0.005),
        ("5μs", 0.005),
        ("3ns", 3e-6),
        ("0s", 0.0),
    ],
)
def test_known_durations(text: str, expected: float) -> None:
    values, ok = duration_to_ms(pa.array([text]))
    assert ok.tolist() == [True]
    assert values.tolist() == [expected]


@pytest.mark.parametrize("text", ["12", "1m2.5s", "-5ms", ".5s", "5.s", "5 ms", "5MS", "", "1e3s"])
def test_invalid_durations(text: str) -> None:
    assert duration_to_ms(pa.array([text]))[1].tolist() == [False]


def test_dash_is_no_latency_and_bare_number_takes_the_key_unit() -> None:
    values, ok = duration_to_ms(pa.array(["-", "7", "7ms"]), unit="s")
    assert ok.tolist() == [True, True, True]
    assert np.isnan(values[0]) and values[1:].tolist() == [7000.0, 7.0]


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[0-9]{1,9}(\.[0-9]{1,9})?", fullmatch=True),
            st.sampled_from(["", *REFERENCE_UNITS]),
        ),
        max_size=20,
    ),
    st.sampled_from([None, "s", "ms"]),
)
def test_matches_the_decimal_reference(items: list[tuple[str, str]], unit: str | None) -> None:
    texts = [number + suffix for number, suffix in items]
    values, ok = duration_to_ms(pa.array(texts, type=pa.string()), unit=unit)
    for text, value, good in zip(texts, values.tolist(), ok.tolist(), strict=True):
        expected = _reference(text, unit)
        assert good == (expected is not None), text
        if expected is not None:
            assert value == expected, text
