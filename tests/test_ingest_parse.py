"""pipeline.ingest.parsing.parse: the grammar, trimming and typed columns, against the plain
reference."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.parsing import parse
from pipeline.ingest.parsing.own_grammar import PY_WHITESPACE
from pipeline.ingest.parsing.parse import empty_frame, parse_lines, parse_text
from tests.conftest import examples
from tests.test_ingest_reference import ref_parse

GOOD = "[GET] /a?q=1, status=200, time=12.5ms user-agent=curl/8.0"

# (line, expected (method, path, status, latency, agent) or None when malformed)
KNOWN = [
    (GOOD, ("GET", "/a?q=1", 200, 12.5, "curl/8.0")),
    ("[PURGE] /x, status=404, time=007ms user-agent=", ("PURGE", "/x", 404, 7.0, "")),
    (
        "  [GET] /x, status=100, time=0ms user-agent=  a, b=c \r",
        ("GET", "/x", 100, 0.0, "  a, b=c"),
    ),
    (
        "[GET] ?q, status=599, time=1.25ms user-agent=Mozilla/5.0",
        ("GET", "?q", 599, 1.25, "Mozilla/5.0"),
    ),
    ("[GET] /x, status=200, time=5ms user-agent=a\rb", ("GET", "/x", 200, 5.0, "a\rb")),
    ("[GET] /\x00x, status=200, time=5ms user-agent=\x00", ("GET", "/\x00x", 200, 5.0, "\x00")),
    ("[GET] /é, status=200, time=5ms user-agent=\ufffd", ("GET", "/é", 200, 5.0, "\ufffd")),
    ("[GET]/x, status=200, time=5ms user-agent=", None),
    ("[get] /x, status=200, time=5ms user-agent=", None),
    ("[GÉT] /x, status=200, time=5ms user-agent=", None),
    ("[] /x, status=200, time=5ms user-agent=", None),
    ("[GET] /x status=200, time=5ms user-agent=", None),
    ("[GET] /x, status=099, time=5ms user-agent=", None),
    ("[GET] /x, status=600, time=5ms user-agent=", None),
    ("[GET] /x, status=2000, time=5ms user-agent=", None),
    ("[GET] /x, status=200, time=5 ms user-agent=", None),
    ("[GET] /x, status=200, time=.5ms user-agent=", None),
    ("[GET] /x, status=200, time=5.ms user-agent=", None),
    ("[GET] /x, status=200, time=+5ms user-agent=", None),
    ("[GET] /x, status=200, time=-0ms user-agent=", None),
    ("[GET] /x, status=200, time=1e3ms user-agent=", None),
    ("[GET] /x, status=200, time=nanms user-agent=", None),
    ("[GET] /x, status=200, time=infms user-agent=", None),
    ("[GET] /x, status=200, time=5ms", None),
    ("[GET] /x, status=200, time=5msuser-agent=", None),
    ("[GET] /a\xa0b, status=200, time=5ms user-agent=", None),  # NBSP is whitespace in Python
    ("[GET] /x, status=٢00, time=5ms user-agent=", None),  # non-ASCII digit
    ("garbage", None),
]


@pytest.mark.parametrize(("line", "expected"), KNOWN)
def test_known_lines(line: str, expected: tuple[object, ...] | None) -> None:
    parsed = parse_lines([line])
    if expected is None:
        assert parsed.malformed == [line.strip()]
        assert len(parsed.frame) == 0
    else:
        assert parsed.malformed == []
        assert tuple(parsed.frame.iloc[0])[:5] == expected


def test_whitespace_set_is_str_isspace() -> None:
    assert set(PY_WHITESPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


def test_dtypes_and_empty() -> None:
    frame = parse_text(GOOD + "\n").frame
    assert [str(t) for t in frame.dtypes] == [
        "category",
        "str",
        "int16",
        "float64",
        "str",
        "datetime64[ms, UTC]",
        "int64",
        "str",
        "str",
        "str",
    ]
    assert list(frame.columns)[-3:] == ["host", "client", "referer"]
    empty = empty_frame()
    assert [str(t) for t in empty.dtypes] == [str(t) for t in frame.dtypes]
    assert empty["method"].cat.categories.dtype == frame["method"].cat.categories.dtype
    assert parse_text("").lines == 0
    assert parse_text("\n \r\n\t\n").lines == 0


def test_line_breaks_are_newline_only() -> None:
    parsed = parse_text(f"{GOOD}\r\n{GOOD}\r{GOOD}\n{GOOD}")
    # a lone \r is not a line break: the second line's agent runs on over it
    assert len(parsed.frame) == 3
    assert parsed.frame["user_agent"].iloc[1] == "curl/8.0\r" + GOOD


def test_one_megabyte_line() -> None:
    long_agent = "x" * 2**20
    parsed = parse_text(f"{GOOD}\n[GET] /x, status=200, time=1ms user-agent={long_agent}\n")
    assert parsed.frame["user_agent"].iloc[1] == long_agent
    assert len(parse_text("y" * 2**20).malformed[0]) == 2**20


# Lines built from grammar pieces, valid and subtly broken, plus arbitrary text.
_methods = st.sampled_from(["GET", "POST", "PURGE", "get", "", "G T", "GÉT"])
_paths = st.text(alphabet=st.sampled_from("/a?=&,é\xa0 \x00\ufffd"), min_size=0, max_size=6)
_status = st.sampled_from(["200", "100", "599", "600", "099", "20", "2000", "404"])
_latency = st.sampled_from(["5", "007", "12.5", ".5", "5.", "1e3", "-1", "0.0", "99999999.125"])
_agents = st.text(alphabet=st.sampled_from("ab ,=\r\x00\u2028é/"), max_size=8)
_pad = st.sampled_from(["", " ", "\t", "\r", "\x1c", "\u3000"])
_built = st.builds(
    lambda lead, m, p, s, t, a, r: f"{lead}[{m}] {p}, status={s}, time={t}ms user-agent={a}{r}",
    _pad,
    _methods,
    _paths,
    _status,
    _latency,
    _agents,
    _pad,
)
_lines = st.lists(st.one_of(_built, _built, st.text(max_size=20)), max_size=40)


@settings(max_examples=examples(300), deadline=None)
@given(_lines)
def test_property_matches_reference(lines: list[str]) -> None:
    text = "\n".join(lines)
    rows, bad = ref_parse(text)
    parsed = parse_text(text)
    got = [
        (m, p, int(s), float(t), a) for m, p, s, t, a, *_ in parsed.frame.itertuples(index=False)
    ]
    assert got == rows
    assert parsed.malformed == bad
    nonblank = sum(1 for line in text.split("\n") if line.strip())
    assert len(parsed.frame) + len(parsed.malformed) == nonblank
    # the list form (as dask.bag.read_text yields it) agrees with the text form
    assert parse_lines([line + "\n" for line in text.split("\n")]).malformed == bad


#: Pieces of a block's bytes: whole lines, valid multi-byte text, and invalid UTF-8 (a lone
#: continuation byte, a cut sequence, an encoded surrogate, bytes that never occur).
_FRAGMENTS = (
    b"[GET] /a, status=200, time=5ms user-agent=x", b"\n", b"\xc3\xa9", b"\xe2\x82",
    b"\x80", b"\xed\xa0\x80", b"\xff\xfe", b" ", b"[PUT] /b, status=404, time=1ms user-agent=",
)  # fmt: skip


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map(b"".join))
def test_bytes_parse_as_their_replaced_decoding(data: bytes) -> None:
    # a block read as bytes is used in place when valid UTF-8, else decoded with replacement
    from_bytes = parse_text(data)
    from_text = parse_text(data.decode("utf-8", errors="replace"))
    assert from_bytes.frame.equals(from_text.frame)
    assert from_bytes.malformed_array.to_pylist() == from_text.malformed_array.to_pylist()
    assert from_bytes.line_count == from_text.line_count


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map(b"".join),
    st.integers(min_value=1, max_value=40),
    st.booleans(),
)
def test_parsing_in_slices_equals_parsing_whole(data: bytes, most: int, as_text: bool) -> None:
    # a text of more than MAX_PARSE_LINES lines is parsed slice by slice: same partition
    text: str | bytes = data.decode("utf-8", errors="replace") if as_text else data
    whole = parse_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "MAX_PARSE_LINES", most)
        sliced = parse_text(text)
    assert sliced.frame.equals(whole.frame)
    assert list(sliced.frame["method"].cat.categories) == list(whole.frame["method"].cat.categories)
    assert sliced.malformed_array.to_pylist() == whole.malformed_array.to_pylist()
    assert sliced.malformed_index.tolist() == whole.malformed_index.tolist()
    assert sliced.line_count == whole.line_count
