"""pipeline.ingest.parsing.own_grammar: both ways (RE2 and the compiled walk) give the fields a
plain ``re`` per line gives, on hostile lines and on every whitespace character."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.parsing import own_grammar
from pipeline.ingest.parsing.own_grammar import PY_WHITESPACE, own_fields
from tests.conftest import examples
from tests.test_ingest_parse import _lines
from tests.test_ingest_reference import ref_parse


def _rows(lines: list[str], compiled: bool) -> tuple[list[tuple[object, ...]], list[str]]:
    """(parsed rows, malformed lines) of trimmed non-empty ``lines`` by :func:`own_fields`."""
    array = pa.array(lines, type=pa.large_string())
    ok, columns, valid = own_fields(array, compiled=compiled)
    names = ["method", "path", "status", "latency_ms", "user_agent"]
    values = [columns[name].to_pylist() for name in names]
    rows = [row for row, good in zip(zip(*values, strict=True), valid, strict=True) if good]
    matched = [line for line, good in zip(lines, ok, strict=True) if good]
    bad = [line for line, good in zip(lines, ok, strict=True) if not good]
    bad += [line for line, good in zip(matched, valid, strict=True) if not good]
    return rows, sorted(bad)


@pytest.mark.parametrize("compiled", [False, True])
@settings(max_examples=examples(300), deadline=None)
@given(_lines)
def test_both_ways_match_the_reference(compiled: bool, lines: list[str]) -> None:
    text = "\n".join(lines)
    want_rows, want_bad = ref_parse(text)
    trimmed = [line.strip() for line in text.split("\n") if line.strip()]
    rows, bad = _rows(trimmed, compiled)
    assert [(m, p, s, t, a) for m, p, s, t, a in rows] == want_rows
    assert bad == sorted(want_bad)


def test_every_character_in_a_path_as_str_isspace_says() -> None:
    # each code point (surrogates aside) inside a path: the line matches exactly when the
    # character is not whitespace, on both ways (the walk decodes UTF-8 whitespace by hand)
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    lines = pa.array(
        [f"[GET] /a{c}b, status=200, time=1ms user-agent=x" for c in chars], pa.large_string()
    )
    want = np.array([not c.isspace() for c in chars])
    for compiled in (False, True):
        ok, _, _ = own_fields(lines, compiled=compiled)
        assert np.array_equal(ok, want), compiled
    assert sum(not good for good in want) == len(PY_WHITESPACE)


def test_truncated_lines_do_not_match() -> None:
    # every prefix of a good line stops the walk at the line's end, never past it
    good = "[GET] /a?q=1, status=200, time=12.5ms user-agent="
    prefixes = [good[:size] for size in range(len(good))]
    for compiled in (False, True):
        ok, _, _ = own_fields(pa.array([*prefixes, good], pa.large_string()), compiled=compiled)
        assert ok.tolist() == [False] * len(prefixes) + [True]


def test_small_texts_stay_on_re2_until_the_walk_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = pa.array(["[GET] /a, status=200, time=1ms user-agent=x"] * 3, pa.large_string())
    calls: list[int] = []
    compiled = own_grammar._compiled

    def counted(array: pa.Array) -> object:
        calls.append(len(array))
        return compiled(array)

    monkeypatch.setattr(own_grammar, "_compiled", counted)
    monkeypatch.setattr(own_grammar, "COMPILED_CUT_MIN_LINES", 4)
    monkeypatch.delitem(sys.modules, own_grammar._KERNEL, raising=False)
    want = own_fields(lines, compiled=False)[1]["path"].to_pylist()
    assert own_fields(lines)[1]["path"].to_pylist() == want
    assert calls == []
    monkeypatch.setattr(own_grammar, "COMPILED_CUT_MIN_LINES", 3)
    assert own_fields(lines)[1]["path"].to_pylist() == want
    assert calls == [3]
    monkeypatch.setattr(own_grammar, "COMPILED_CUT_MIN_LINES", 4)  # loaded now: the walk cuts
    assert own_fields(lines)[1]["path"].to_pylist() == want
    assert calls == [3, 3]


@given(st.lists(st.sampled_from(["[GET] /a, status=200, time=1ms user-agent=x", "bad"])))
@settings(max_examples=examples(50), deadline=None)
def test_the_columns_have_the_same_types_both_ways(lines: list[str]) -> None:
    array = pa.array(lines, pa.large_string())
    by_re2, by_walk = own_fields(array, compiled=False), own_fields(array, compiled=True)
    assert by_re2[0].tolist() == by_walk[0].tolist()
    for name, column in by_re2[1].items():
        assert by_walk[1][name].type == column.type, name
        assert by_walk[1][name].to_pylist() == column.to_pylist(), name
