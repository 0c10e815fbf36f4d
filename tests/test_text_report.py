"""The text and JSON reports as a user reads them: width, number formats, escaping of input
text, schema version and rounding, option parsing, and where messages go (stdout or stderr)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.ingest.report.text import wrap_note
from pipeline.reporting.text import (
    FailedInput,
    json_document,
    printable,
    printable_cut,
    render_json,
)
from tests.conftest import examples

#: Every control character a terminal could act on (C0, DEL, C1).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _ranges(tmp_path: Path) -> Path:
    path = tmp_path / "ranges.json"
    high = 10**15 - 10**5
    path.write_text(
        json.dumps(
            [
                {"name": "a-rather-long-range-name-that-goes-on-and-on", "start": 0, "end": 100},
                {"name": "near-1e15", "start": high, "end": 10**15},
                [7, 7],
            ]
        )
    )
    return path


def test_text_reports_fit_100_columns(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    log.write_text(
        "".join(
            f"[GET] /{'x' * 150}/{i}, status=200, time=1203.25ms user-agent={'A' * 200}{i}\n"
            for i in range(3)
        )
    )
    for args in (
        ("ingest",),
        ("ingest", "--path", str(log)),
        ("prime", "--path", str(_ranges(tmp_path))),
    ):
        code, out, _ = _run(*args, "--mode", "sync")
        assert code == 0
        widest = max(out.splitlines(), key=len)
        assert len(widest) <= 100, widest


def test_number_formats_and_grammar(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(
        "[GET] /a, status=200, time=1203.25ms user-agent=x\n"
        "[GET] /a, status=500, time=1.23456ms user-agent=x\n"
    )
    code, out, _ = _run("ingest", "--path", str(log), "--mode", "sync")
    assert code == 0
    assert "1,203.2" in out and "1.235" in out and "1,203.250" not in out
    assert "50.0 %" in out  # share column
    assert "Latency by method (ms)" in out
    assert out.rstrip().endswith("mode sync, 1 worker")
    code, out, _ = _run("prime", "--path", str(_ranges(tmp_path)), "--mode", "sync")
    assert "3 ranges," in out and "0.2475" in out  # 25 primes in [0, 100]: 4 significant digits
    single = tmp_path / "one.json"
    single.write_text("[[7, 7]]")
    code, out, _ = _run("prime", "--path", str(single), "--mode", "sync")
    assert "ranges:       1 range, 1 integer in their union" in out


def test_control_characters_are_escaped_in_the_text_report(tmp_path: Path) -> None:
    log = tmp_path / "evil.log"
    osc = "\x1b]0;pwned\x07"
    log.write_text(
        f"[GET] /a{chr(0x9B)}b, status=200, time=1ms user-agent=agent{osc}red\x1b[31m\n"
        f"broken line {osc}\n"
    )
    code, out, _ = _run("ingest", "--path", str(log), "--mode", "sync")
    assert code == 0
    assert not CONTROL.search(out)
    assert "agent\\x1b]0;pwned\\x07red\\x1b[31m" in out
    assert "/a\\x9bb" in out
    assert "broken line \\x1b]0;pwned\\x07" in out


def test_json_schema_version_and_rounding(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(
        "".join(f"[GET] /a, status=200, time={v}ms user-agent=x\n" for v in (0.1, 0.2, 0.4))
    )
    _, out, _ = _run("ingest", "--path", str(log), "--mode", "sync", "--format", "json")
    document = json.loads(out)
    assert document["schema_version"] == 6 and next(iter(document)) == "schema_version"
    # the mean of 0.1, 0.2, 0.4 is 0.23333333333333334 in floats: 9 significant digits remain
    assert document["latency_ms"]["mean"] == 0.233333333
    _, out, _ = _run(
        "prime", "--path", str(_ranges(tmp_path)), "--mode", "sync", "--format", "json"
    )
    densities = [r["density"] for r in json.loads(out)["ranges"]]
    assert all(float(f"{d:.9g}") == d for d in densities)
    assert densities[0] == 0.247524752  # 25 / 101


@pytest.mark.parametrize(
    ("typed", "bytes_"), [("4MiB", 2**22), ("4194304", 2**22), ("5MB", 5 * 10**6)]
)
def test_blocksize_accepts_dask_sizes(typed: str, bytes_: int) -> None:
    code, with_unit, _ = _run("ingest", "--mode", "sync", "--format", "json", "--blocksize", typed)
    _, plain, _ = _run("ingest", "--mode", "sync", "--format", "json", "--blocksize", str(bytes_))
    assert code == 0

    def strip(text: str) -> object:
        document = json.loads(text)
        document["execution"].pop("elapsed_s")
        return document

    assert strip(with_unit) == strip(plain)


@pytest.mark.parametrize(
    ("typed", "bytes_"),
    [("64KiB", 2**16), ("4194303", 2**22 - 1), ("268435457", 2**28 + 1), ("1GiB", 2**30)],
)
def test_blocksize_out_of_range_is_one_error_line(typed: str, bytes_: int) -> None:
    # issue 22: 64 KiB blocks took over 10x the default's time, 1 GiB ones 2.8 GB
    code, out, err = _run("ingest", "--mode", "sync", "--blocksize", typed)
    assert (code, out) == (2, "")
    assert err == (
        "Error: --blocksize must be from 4 MiB to 256 MiB (4194304 to 268435456 bytes), "
        f"got {bytes_} bytes\n"
    )


def test_bad_sizes_and_counts_are_usage_errors(tmp_path: Path) -> None:
    code, _, err = _run("ingest", "--blocksize", "16XB")
    assert code == 2 and "'16XB' is not a size" in err
    code, _, err = _run("prime", "--path", str(_ranges(tmp_path)), "--segment-size", "1.5")
    assert code == 2 and "'1.5' is not a whole number" in err
    small = tmp_path / "small.json"
    small.write_text("[[0, 9999]]")
    args = ["--path", str(small), "--mode", "sync", "--format", "json", "--segment-size"]
    code, out, _ = _run("prime", *args, "1e3")
    _, plain, _ = _run("prime", *args, "1000")
    assert code == 0 and json.loads(out)["execution"]["segments"] == 10
    assert json.loads(out)["ranges"] == json.loads(plain)["ranges"]


def test_primes_written_to_only_in_the_report(tmp_path: Path) -> None:
    out_file = tmp_path / "p.txt"
    code, out, err = _run(
        "prime", "--path", str(_ranges(tmp_path)), "--mode", "sync", "--primes-out", str(out_file)
    )
    assert code == 0
    assert f"primes written to: {out_file}" in out
    assert "primes written" not in err
    # one INFO line, the plan, as ingest logs its own
    assert [line.split(":")[0] for line in err.splitlines()] == ["INFO prime"]
    code, _, err = _run("ingest", "--mode", "sync")
    assert [line.split(":")[0] for line in err.splitlines()] == ["INFO ingest"]


def test_version_and_group_help() -> None:
    code, out, _ = _run("--version")
    assert code == 0 and re.fullmatch(r"mini-orchestrator \d+\.\d+\.\d+\S*\n", out)
    code, out, _ = _run("--help")
    commands = out.split("Commands:")[1].splitlines()
    assert not [line for line in commands if line.endswith("...")]  # none is cut short
    code, out, _ = _run("prime", "--help")
    assert "glob" not in out and "JSON file of ranges" in out
    code, out, _ = _run("generate-logs", "--help")
    assert "Number of files" in out


class _Document:
    """A stand-in result whose ``to_dict`` is a given document."""

    def __init__(self, document: dict[str, object]) -> None:
        self.document = document
        self.failed_inputs: tuple[FailedInput, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return self.document


_SCALARS: st.SearchStrategy[bool | int | float | str | None] = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
)
_SCALARS |= st.floats(allow_nan=True, allow_infinity=True)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(shared=_VALUES, other=_VALUES, copies=st.integers(0, 5))
def test_json_report_is_exactly_the_standard_encoding(
    shared: object, other: object, copies: int
) -> None:
    """The JSON writer (which encodes a repeated object once) against plain ``json.dumps``:
    the same text for any document, including one object listed many times and int keys."""
    nested = {"s": [shared, shared]}  # the same object at another depth
    result = _Document({"entries": [shared] * copies + [other, shared], "x": nested})
    expected = json.dumps(json_document(result), indent=2, allow_nan=False) + "\n"
    assert render_json(result) == expected


def test_json_report_of_identical_ranges_lists_every_copy(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps([[0, 100]] * 2000 + [{"start": 0, "end": 100, "name": "é"}]))
    code, out, _ = _run("prime", "--path", str(path), "--mode", "sync", "--format", "json")
    assert code == 0
    entries = json.loads(out)["ranges"]
    plain = {"start": 0, "end": 100, "count": 25, "smallest": 2, "largest": 97}
    assert len(entries) == 2001
    assert all(entry.items() >= plain.items() and entry["name"] is None for entry in entries[:-1])
    assert entries[-1]["name"] == "é" and entries[-1].items() >= plain.items()
    assert out == json.dumps(json.loads(out), indent=2) + "\n"


@settings(max_examples=examples(300), deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab\\x1\x1b\x07\x85\u202e\u2028é"), max_size=40),
    st.integers(min_value=1, max_value=30),
)
def test_cut_text_never_ends_inside_an_escape(text: str, width: int) -> None:
    """A cut text is the escaped form of a prefix of the input (so every escape in it is whole),
    at most ``width`` characters, and ends with an ellipsis exactly when it was cut."""
    shown = printable_cut(text, width)
    assert len(shown) <= width
    if len(printable(text)) <= width:
        assert shown == printable(text)
        return
    assert shown.endswith("\u2026")
    kept = shown[:-1]
    assert any(printable(text[:k]) == kept for k in range(len(text) + 1)), (text, shown)


def test_a_wrapped_note_keeps_each_escape_on_one_line() -> None:
    """A long word of input text in a note is not broken, so ``\\x1b`` never becomes ``\\x`` at
    the end of one line and ``1b`` at the start of the next."""
    word = "p" * 94 + "\x1b" + "q" * 10
    lines = wrap_note(f"path {word} seen").splitlines()
    assert "p" * 94 + "\\x1b" + "q" * 10 in lines[1]
    assert all("\x1b" not in line for line in lines)
