"""pipeline.ingest.parsing.scan: cutting validated lines at delimiters gives exactly the regex's
fields.

The oracle is RE2's own capture groups (``pyarrow.compute.extract_regex`` on the same pattern),
on lines built to be hostile: spaces, quotes, escaped quotes, backslashes, brackets and
non-ASCII characters wherever a field may hold them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.formats.presets import LogFormat, compile_format, preset
from pipeline.ingest.formats.table import PRESET_TABLE
from pipeline.ingest.parsing import scan
from pipeline.ingest.parsing.scan import cut_fields, plan
from tests.conftest import examples

TIMED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" rt=$request_time urt="$upstream_response_time"'
)
APACHE = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D'
FORMATS = {
    "combined": preset("combined"),
    "common": preset("common"),
    "timed": compile_format(TIMED),
    "apache": compile_format(APACHE),
}

DATA = Path(__file__).parent / "data"
SAMPLES = DATA / "formats"
REAL = DATA

_TEXT = st.text(alphabet=list('ab /?=.-"\\[]:x0é\t'), max_size=12)
_BARE = st.text(alphabet=list('ab/?=.-[]:0é"\\'), max_size=8)


def _quoted(value: str) -> str:
    return '"' + value + '"'


@st.composite
def _lines(draw: st.DrawFn) -> str:
    """A line that often matches combined, timed or Apache, with hostile field contents."""
    quoted = st.one_of(_TEXT, _TEXT.map(lambda t: t.replace('"', '\\"')))
    parts = [
        draw(_BARE),
        " - " if draw(st.booleans()) else " ",
        draw(_BARE),
        " [10/Oct/2000:13:55:36 -0700] ",
        _quoted(draw(st.one_of(st.just("GET /a HTTP/1.1"), quoted))),
        " ",
        draw(st.sampled_from(["200", "404", "599", "6000", "20"])),
        " ",
        draw(st.sampled_from(["0", "-", "12", "1 2"])),
    ]
    if draw(st.booleans()):
        parts += [" ", _quoted(draw(quoted)), " ", _quoted(draw(quoted))]
        tail = draw(
            st.sampled_from(
                ["", ' rt=0.051 urt="0.010, 0.020"', " 1234", ' rt=- urt="-"', ' extra "']
            )
        )
        parts.append(tail)
    return "".join(parts)


def _reference(lines: pa.Array, pattern: str) -> dict[str, list[str | None]]:
    parts = pc.extract_regex(lines, pattern=pattern)
    return {name.name: pc.struct_field(parts, name.name).to_pylist() for name in parts.type}


@pytest.mark.parametrize("name", list(FORMATS))
def test_real_formats_take_the_fast_path(name: str) -> None:
    assert plan(FORMATS[name]) is not None


def test_ambiguous_formats_keep_the_regex() -> None:
    assert plan(compile_format("$remote_addr:$status $request_time")) is None
    assert plan(compile_format("$remote_addr $upstream_response_time $status")) is None


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(_lines(), min_size=1, max_size=30), st.sampled_from(list(FORMATS)))
def test_cut_fields_equal_regex_groups(lines: list[str], name: str) -> None:
    fmt = FORMATS[name]
    array = pa.array(lines, type=pa.large_string())
    matched = pc.match_substring_regex(array, pattern=fmt.match_pattern)
    valid = array.filter(matched)
    want = _reference(valid, fmt.pattern)
    got = {group: values.to_pylist() for group, values in _compiled_cut(valid, fmt).items()}
    assert got == want
    keep = np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)
    for compiled in (True, False):  # every line given, the matched ones selected by ``keep``
        selected = cut_fields(array, fmt, keep=keep, compiled=compiled)
        assert {group: values.to_pylist() for group, values in selected.items()} == want


def _compiled_cut(lines: pa.Array, fmt: LogFormat) -> dict[str, pa.Array]:
    """``cut_fields`` by the compiled loop (the lines it cannot vouch for still go back to the
    regex, so the merge is checked too)."""
    return cut_fields(lines, fmt, compiled=True)


def test_small_texts_stay_on_the_regex_until_the_loop_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The size rule: below ``COMPILED_CUT_MIN_LINES`` lines, and while the loop is not loaded,
    the regex cuts; at or above it (or once loaded) the loop does."""
    fmt = FORMATS["combined"]
    line = '::1 - - [10/Oct/2000:13:55:36 +0200] "GET /x HTTP/1.1" 200 5 "-" "curl/8"'
    lines = pa.array([line] * 3, type=pa.large_string())
    calls: list[int] = []
    by_regex = scan._by_regex

    def counted(array: pa.Array, fmt: LogFormat) -> dict[str, pa.Array]:
        calls.append(len(array))
        return by_regex(array, fmt)

    monkeypatch.setattr(scan, "_by_regex", counted)
    monkeypatch.setattr(scan, "COMPILED_CUT_MIN_LINES", 4)
    monkeypatch.delitem(sys.modules, scan._KERNEL, raising=False)
    want = _reference(lines, fmt.pattern)
    assert {g: v.to_pylist() for g, v in cut_fields(lines, fmt).items()} == want
    assert calls == [3]
    monkeypatch.setattr(scan, "COMPILED_CUT_MIN_LINES", 3)
    assert {g: v.to_pylist() for g, v in cut_fields(lines, fmt).items()} == want
    assert calls == [3]
    monkeypatch.setattr(scan, "COMPILED_CUT_MIN_LINES", 4)  # loaded now: the loop cuts
    assert {g: v.to_pylist() for g, v in cut_fields(lines, fmt).items()} == want
    assert calls == [3]


def test_known_lines_on_both_paths() -> None:
    fmt = FORMATS["combined"]
    lines = pa.array(
        [
            '::1 - - [10/Oct/2000:13:55:36 +0200] "GET /x HTTP/1.1" 200 5 "-" "curl/8"',
            '1.2.3.4 - - [10/Oct/2000:13:55:36 +0200] "GET /a\\"b HTTP/1.1" 404 - "r" "ua \\" x"',
            '1.2.3.4 - u [10/Oct/2000:13:55:36 -0530] "-" 400 0 "-" "-" rt=0.1 more',
        ],
        type=pa.large_string(),
    )
    got = {group: values.to_pylist() for group, values in _compiled_cut(lines, fmt).items()}
    assert got == _reference(lines, fmt.pattern)
    group = {role: f"g{index}" for index, role in enumerate(fmt.roles)}
    assert got[group["request"]] == ["GET /x HTTP/1.1", 'GET /a\\"b HTTP/1.1', "-"]
    assert got[group["user_agent"]] == ["curl/8", 'ua \\" x', "-"]
    assert got[group["client"]] == ["::1", "1.2.3.4", "1.2.3.4"]


def test_escaped_quotes_are_cut_without_the_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_regex(lines: pa.Array, fmt: LogFormat) -> dict[str, pa.Array]:
        raise AssertionError(f"{len(lines)} line(s) went back to the regex")

    monkeypatch.setattr(scan, "_by_regex", no_regex)
    line = '1.2.3.4 - - [10/Oct/2000:13:55:36 +0200] "GET /a\\"b HTTP/1.1" 404 - "r\\\\" "ua \\" x"'
    fmt = FORMATS["combined"]
    got = _compiled_cut(pa.array([line], type=pa.large_string()), fmt)
    group = {role: f"g{index}" for index, role in enumerate(fmt.roles)}
    assert got[group["request"]].to_pylist() == ['GET /a\\"b HTTP/1.1']
    assert got[group["user_agent"]].to_pylist() == ['ua \\" x']


def _genuine_cases() -> list[tuple[str, Path]]:
    """(preset, file) for every genuine sample file of a regex preset the loop can cut, and the
    logs real servers wrote on 127.0.0.1 (tests/data/*-real, their own preset or format)."""
    cases = []
    for row in PRESET_TABLE:
        if row.kind == "regex" and row.samples and plan(preset(row.name)) is not None:
            cases += [(row.name, path) for path in sorted((SAMPLES / row.samples).iterdir())]
    cases += [("combined", path) for path in sorted(REAL.glob("*-real/**/combined.log"))]
    cases.append(("lighttpd", REAL / "lighttpd-real" / "access.log"))
    apache = REAL / "apache2-real"
    cases.append((APACHE_COMBINED + " %D", apache / "combined-D.log"))
    cases.append((APACHE_COMBINED + " %{ms}T", apache / "combined-msT.log"))
    return cases


#: Apache's combined LogFormat as tests/data/apache2-real/apache2.conf.in writes it.
APACHE_COMBINED = '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'


@pytest.mark.parametrize(("name", "path"), _genuine_cases(), ids=lambda value: str(value)[-40:])
def test_genuine_lines_cut_as_the_regex_captures(name: str, path: Path) -> None:
    """On every genuine line of the format (the matched ones; a sample file may hold others),
    the compiled cut and RE2's capture groups give the same fields."""
    fmt = compile_format(name) if " " in name else preset(name)
    assert plan(fmt) is not None
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = pa.array(text.splitlines(), type=pa.large_string())
    keep = np.asarray(
        pc.fill_null(pc.match_substring_regex(lines, pattern=fmt.match_pattern), False),
        dtype=bool,
    )
    want = _reference(lines.filter(pa.array(keep)), fmt.pattern)
    got = cut_fields(lines, fmt, keep=keep, compiled=True)
    assert keep.any(), f"no line of {path.name} is {name}"
    assert {group: values.to_pylist() for group, values in got.items()} == want
