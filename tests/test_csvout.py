"""pipeline.reporting.csvout: the rules that turn any JSON document into CSV tables, on documents
shaped like panels that do not exist yet, and the all-or-nothing directory writer."""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import OutputError
from pipeline.reporting.csvout import (
    UNITS,
    check_csv_directory,
    csv_tables,
    snake_case,
    write_csv_directory,
)
from tests.conftest import examples

#: A future report (the panels of issue 25): every rule of docs/report.md "CSV" once.
FUTURE: dict[str, Any] = {
    "schema_version": 6,
    "visitors": {"total": 3, "by_day": [{"day": "2026-12-07", "visitors": 3}]},
    "bandwidth": {"total_bytes": 10, "p95_bps": 0.5, "interval_s": 300, "estimated": False},
    "hosts": [{"client": "10.0.0.0", "requests": 2, "share": 0.5, "bytes": 7, "p95": None}],
    "latency_by_region": {"eu": {"count": 1, "p95": 2.5}, "us": {"count": 2, "p95": 3.0}},
    "per_host": {"a": {"count": 1}, "b": {"count": 2, "extra": True}},
    "ranges": [
        {"name": None, "max_gap": {"gap": 8, "after": 89}, "tags": ["x", "y"]},
        {"name": "b", "max_gap": {"gap": 2, "after": 3}, "tags": []},
    ],
    "sampled": [1, 2.5, "three", None, [4, 5]],
    "empty_list": [],
    "empty_mapping": {},
    "timeline": {"bucket": "5m", "rows": [{"start": "t0", "latency_p95": 1.0, "camelCase": 1}]},
}


def test_scalars_go_to_the_summary_by_dotted_path() -> None:
    tables = csv_tables(FUTURE)
    assert next(iter(tables)) == "summary"
    assert tables["summary"] == [
        ["key", "value"],
        ["schema_version", "6"],
        ["visitors.total", "3"],
        ["bandwidth.total_bytes", "10"],
        ["bandwidth.p95_bps", "0.5"],
        ["bandwidth.interval_s", "300"],
        ["bandwidth.estimated", "false"],
        ["timeline.bucket", "5m"],
    ]


def test_each_list_and_mapping_of_objects_is_a_table_named_by_its_path() -> None:
    assert sorted(csv_tables(FUTURE)) == sorted(
        [
            "summary", "visitors_by_day", "hosts", "latency_by_region", "per_host", "ranges",
            "ranges_tags", "sampled", "empty_list", "timeline",
        ]
    )  # fmt: skip


def test_list_of_objects_rows_units_and_nulls() -> None:
    tables = csv_tables(FUTURE)
    assert tables["hosts"] == [
        ["client", "requests", "share", "bytes", "p95_ms"],
        ["10.0.0.0", "2", "0.5", "7", ""],
    ]
    assert tables["visitors_by_day"] == [["day", "visitors"], ["2026-12-07", "3"]]
    assert tables["timeline"] == [["start", "latency_p95_ms", "camel_case"], ["t0", "1.0", "1"]]


def test_a_mapping_of_objects_has_a_key_column_named_after_by() -> None:
    tables = csv_tables(FUTURE)
    assert tables["latency_by_region"] == [
        ["region", "count", "p95_ms"],
        ["eu", "1", "2.5"],
        ["us", "2", "3.0"],
    ]
    # no by_: the column is "key"; a field missing from a row is an empty cell
    assert tables["per_host"] == [["key", "count", "extra"], ["a", "1", ""], ["b", "2", "true"]]


def test_nested_objects_are_flattened_and_nested_lists_are_sub_tables() -> None:
    tables = csv_tables(FUTURE)
    assert tables["ranges"] == [
        ["name", "max_gap_gap", "max_gap_after"],
        ["", "8", "89"],
        ["b", "2", "3"],
    ]
    assert tables["ranges_tags"] == [["row", "value"], ["0", "x"], ["0", "y"]]


def test_lists_of_scalars_and_empty_lists_have_one_value_column() -> None:
    tables = csv_tables(FUTURE)
    assert tables["sampled"] == [["value"], ["1"], ["2.5"], ["three"], [""], ["[4, 5]"]]
    assert tables["empty_list"] == [["value"]]


def test_a_key_column_never_hides_a_field_of_the_same_name() -> None:
    tables = csv_tables({"by_method": {"GET": {"method": "x", "n": 1}}})
    assert tables["by_method"] == [["method", "method_2", "n"], ["GET", "x", "1"]]


def test_two_parts_on_one_file_name_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"^a_b\.c and a\.b_c would both be a_b_c\.csv$"):
        csv_tables({"a": {"b_c": [1]}, "a_b": {"c": [2]}})


def test_snake_case() -> None:
    assert [snake_case(n) for n in ("p95", "maxGap", "HTTPStatus", "a b-c", "Ünï")] == [
        "p95", "max_gap", "httpstatus", "a_b_c", "n",
    ]  # fmt: skip


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
)
_keys = st.text(alphabet="abcxyz", min_size=1, max_size=4)  # snake_case already: names = keys
_fields = st.lists(_keys, min_size=1, max_size=3, unique=True)
_rows_of = _fields.map(lambda keys: st.fixed_dictionaries({key: _scalars for key in keys}))
_sections = (
    _scalars
    | st.lists(_scalars, max_size=3)
    | st.dictionaries(_keys, _scalars, max_size=3)
    | _rows_of.flatmap(lambda row: st.lists(row, min_size=1, max_size=3))
    | _rows_of.flatmap(lambda row: st.dictionaries(_keys, row, min_size=1, max_size=3))
)


def _scalar_leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _scalar_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _scalar_leaves(item)]
    return [value]


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


@settings(max_examples=examples(100), deadline=None)
@given(st.dictionaries(_keys, _sections, max_size=5))
def test_every_scalar_is_in_exactly_one_cell(document: dict[str, Any]) -> None:
    """Nothing lost, nothing doubled, for report-shaped documents: the scalars of the document
    are, as a multiset, the summary's values plus every table cell but a mapping's key column."""
    tables = csv_tables(document)
    cells = [row[1] for row in tables["summary"][1:]]
    for name, table in tables.items():
        if name == "summary":
            continue
        skip = 1 if isinstance(document[name], dict) else 0  # the mapping's keys
        assert not skip or [row[0] for row in table[1:]] == list(document[name])
        cells.extend(value for row in table[1:] for value in row[skip:])
    assert Counter(cells) == Counter(_text(leaf) for leaf in _scalar_leaves(document))


def test_files_are_utf8_rfc4180_and_exact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    tricky = ["a,b", 'say "hi"', "two\nlines", "=1+1", "-2", "ünï €"]
    tables = csv_tables({"top": [{"text": text} for text in tricky]})
    write_csv_directory(tables, out)
    raw = (out / "top.csv").read_bytes()
    assert raw == (
        'text\r\n"a,b"\r\n"say ""hi"""\r\n"two\nlines"\r\n=1+1\r\n-2\r\nünï €\r\n'.encode()
    )
    with open(out / "top.csv", encoding="utf-8", newline="") as handle:
        assert [row[0] for row in csv.reader(handle)][1:] == tricky


def test_check_csv_directory(tmp_path: Path) -> None:
    check_csv_directory(tmp_path / "new")  # missing, parent exists: fine
    check_csv_directory(tmp_path)  # empty: fine
    (tmp_path / "x").write_text("")
    with pytest.raises(OutputError, match=r"it is not empty$"):
        check_csv_directory(tmp_path)
    with pytest.raises(OutputError, match=r"not a directory$"):
        check_csv_directory(tmp_path / "x")
    with pytest.raises(OutputError, match=r"no such directory$"):
        check_csv_directory(tmp_path / "no" / "dir")


def test_a_directory_filled_meanwhile_is_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    original = os.replace

    def late_writer(source: str, target: str) -> None:
        (out / "theirs.txt").write_text("theirs")  # another program, after the check
        original(source, target)

    monkeypatch.setattr(os, "replace", late_writer)
    with pytest.raises(
        OutputError, match=r"^cannot write the CSV tables to .*: Directory not empty"
    ):
        write_csv_directory(csv_tables({"a": 1}), out)
    assert os.listdir(out) == ["theirs.txt"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_the_unit_table_of_the_docs_is_units() -> None:
    """docs/report.md's unit table lists exactly :data:`UNITS`."""
    text = (Path(__file__).parent.parent / "docs" / "report.md").read_text()
    section = text.split("\n## CSV\n", 1)[1]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.split("| table | columns | suffix |", 1)[1].splitlines()[2:]
        if line.startswith("| `")
    ]
    documented: dict[str, dict[str, str]] = {}
    for tables, columns, suffix in rows:
        for table in re.findall(r"`([^`]+)`", tables):
            documented[table] = {
                column: suffix.strip("`_") for column in re.findall(r"`([^`]+)`", columns)
            }
    assert documented == {table: dict(columns) for table, columns in UNITS.items()}


def test_two_fields_on_one_column_name_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"^t\[0\] has two fields named a_b$"):
        csv_tables({"t": [{"a_b": 1, "a": {"b": 2}}]})
