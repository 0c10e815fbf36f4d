"""Validation of the ranges file: every bad kind is one InputError line naming item and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.prime import ranges as ranges_module
from pipeline.prime.ranges import MAX_RANGES_FILE_BYTES, load_ranges, parse_ranges


def test_accepted_shapes() -> None:
    text = (
        '{"ranges": [[0, 10], {"start": 1e6, "end": 100.0e4, "name": "m"}, {"start": 3, "end": 4}]}'
    )
    assert [r.as_tuple() for r in parse_ranges(text)] == [
        (None, 0, 10),
        ("m", 1_000_000, 1_000_000),
        (None, 3, 4),
    ]
    assert parse_ranges("[[5, 5]]")[0].start == 5
    with pytest.raises(InputError, match="exceeds the supported limit"):  # 2^53 exact, too big
        parse_ranges("[[0, 9007199254740992.0]]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "the list of ranges is empty"),
        ('{"ranges": []}', "the list of ranges is empty"),
        ('{"items": []}', '"ranges" key'),
        ('"hello"', "expected a list of ranges"),
        ("[[1.5, 3]]", "range 0: start must be an integer, got the fraction 1.5"),
        ("[[0, 1e300]]", "range 0: end: float 1e+300 is above 2^53"),
        ("[[0, 9007199254740994.0]]", "above 2^53"),
        ('[[0, 5], {"start": 1, "end": 2, "step": 1}]', "range 1: unknown key(s) step"),
        ('[["1", 2]]', "range 0: start must be an integer, got string '1'"),
        ("[[true, 2]]", "range 0: start must be an integer, got boolean true"),
        ("[[0, null]]", "range 0: end must be an integer, got null"),
        ('[{"start": 1}]', 'range 0: missing key "end"'),
        ('[{"end": 1}]', 'range 0: missing key "start"'),
        ("[[5, 2]]", "range 0: start 5 is greater than end 2"),
        ("[[-1, 2]]", "range 0: start must be >= 0, got -1"),
        ("[[1, 2, 3]]", "range 0: a list item must be [start, end], got 3 values"),
        ("[7]", "range 0: expected"),
        ("[[0, 1000000000000001]]", "exceeds the supported limit 1000000000000000"),
        ('[{"start": 1, "end": 2, "name": 5}]', "range 0: name must be a string"),
        ("[[0, NaN]]", "range 0: end must be an integer, got nan"),
        ('[{"start": 1, "end": 2, "end": 3}]', "an object has the key 'end' twice"),
        ('{"ranges": [[0, 1]], "ranges": [[0, 2]]}', "an object has the key 'ranges' twice"),
    ],
)
def test_bad_items(text: str, message: str) -> None:
    error = _error_of(text)
    assert message in error
    assert "\n" not in error


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(InputError, match=r"invalid JSON at line 2 column 9"):
        parse_ranges("[[0, 1],\n [2, 3]]]")


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(InputError, match=f"ranges file not found: {missing}"):
        load_ranges(str(missing))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
        ("[[1, " + "9" * 5001 + "]]", "invalid JSON: a number has more than 4300 digits"),
    ],
    ids=["deep", "digits"],
)
def test_hostile_json_is_one_input_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_ranges(str(path))
    assert str(info.value) == f"{path}: {message}"


def test_a_ranges_file_is_read_only_up_to_the_cap() -> None:
    with pytest.raises(InputError) as info:
        load_ranges("/dev/zero")  # endless: without the cap this reads until memory runs out
    assert str(info.value) == (
        f"ranges file /dev/zero is larger than {MAX_RANGES_FILE_BYTES} bytes; "
        "a ranges file lists a few ranges"
    )


def test_an_item_repeated_verbatim_is_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same JSON value with the same types: checked once, one PrimeRange; 1, 1.0, true differ."""
    checked: list[int] = []
    real = ranges_module._parse_item

    def counting(item: object, index: int, source: str, *, prefix: bool = True) -> object:
        checked.append(index)
        return real(item, index, source, prefix=prefix)

    monkeypatch.setattr(ranges_module, "_parse_item", counting)
    items = '[0, 5], {"start": 0, "end": 5}, [0.0, 5], {"end": 5, "start": 0}, [0, 5.0]'
    parsed = parse_ranges("[" + ", ".join([items] * 500) + "]")
    assert checked == [0, 1, 2, 3, 4]
    assert len(parsed) == 2500 and {r.as_tuple() for r in parsed} == {(None, 0, 5)}
    assert parsed[0] is parsed[5] and parsed[1] is parsed[6]
    assert [r.start for r in parsed] == [0] * 2500


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[0, 5], [0, 5], [true, 5]]", "range 2: start must be an integer, got boolean true"),
        ("[[1, 5], [true, 5]]", "range 1: start must be an integer, got boolean true"),
        ("[[5, 0], [5, 0]]", "range 0: start 5 is greater than end 0"),
        ("[[0, 5], [0, 5], [0, 5.5]]", "range 2: end must be an integer, got the fraction 5.5"),
        ('[{"start": 0, "end": 5}, {"start": 0, "end": 5, "x": 1}]', "range 1: unknown key(s) x"),
    ],
)
def test_a_bad_item_after_repeated_good_ones_names_its_own_index(text: str, message: str) -> None:
    assert message in _error_of(text)


def _error_of(text: str) -> str:
    """The message of the InputError that parsing ``text`` raises."""
    with pytest.raises(InputError) as info:
        parse_ranges(text, source="r.json")
    return str(info.value)
