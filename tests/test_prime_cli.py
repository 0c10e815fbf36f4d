"""The prime command through click: reports on the bundled data, and exit 2 for bad ranges files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["prime", *args])
    return result.exit_code, result.stdout, result.stderr


def test_bundled_sample_text_and_json() -> None:
    code, out, _ = run("--mode", "sync")
    assert code == 0
    assert out.startswith("Prime report\n") and "to-one-billion" in out
    text = out
    code, out, _ = run("--format", "json", "--worker", "2")
    doc = json.loads(out)
    assert f"primes:       {doc['total_primes']:,} (union)" in text
    assert code == 0
    assert doc["feature"] == "prime"
    names = [r["name"] for r in doc["ranges"]]
    assert "to-one-billion" in names
    by_name = {r["name"]: r for r in doc["ranges"]}
    assert by_name["to-one-billion"]["count"] == 50847534
    assert by_name["first-million"]["count"] == 78498


def test_segment_size_and_primes_out(tmp_path: Path) -> None:
    ranges = tmp_path / "r.json"
    ranges.write_text("[[0, 100]]")
    out = tmp_path / "p.txt"
    code, stdout, _ = run("--path", str(ranges), "--segment-size", "30", "--primes-out", str(out))
    assert code == 0, stdout
    assert out.read_text().split()[:5] == ["2", "3", "5", "7", "11"]
    assert len(out.read_text().split()) == 25
    code, _, err = run("--path", str(ranges), "--segment-size", "29")
    assert code == 2 and "29" in err


BAD = {
    "empty-list": ("[]", "the list of ranges is empty"),
    "invalid-json": ("[[0, 1],\n [2 3]]", "invalid JSON at line 2 column 5"),
    "fraction": ("[[0.5, 3]]", "range 0: start must be an integer, got the fraction 0.5"),
    "float-above-2^53": ("[[0, 1e17]]", "range 0: end: float 1e+17 is above 2^53"),
    "unknown-key": ('[{"start": 1, "end": 2, "by": 3}]', "range 0: unknown key(s) by"),
    "string": ('[[0, 5], ["a", 2]]', "range 1: start must be an integer, got string 'a'"),
    "boolean": ("[[0, false]]", "range 0: end must be an integer, got boolean false"),
    "null": ("[[null, 2]]", "range 0: start must be an integer, got null"),
    "missing-key": ('[{"start": 1}]', 'range 0: missing key "end"'),
    "start-after-end": ("[[9, 3]]", "range 0: start 9 is greater than end 3"),
    "negative": ("[[-4, 3]]", "range 0: start must be >= 0, got -4"),
    "above-limit": ("[[0, 2000000000000000]]", "exceeds the supported limit 1000000000000000"),
    "not-a-list": ('{"ranges": 5}', "expected a list of ranges"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_ranges_file_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    text, message = BAD[kind]
    path = tmp_path / "bad.json"
    path.write_text(text)
    code, out, err = run("--path", str(path), "--mode", "sync")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("Error: ")
    assert message in err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = run("--path", str(tmp_path / "nope.json"))
    assert code == 2
    assert err == f"Error: ranges file not found: {tmp_path / 'nope.json'}\n"
