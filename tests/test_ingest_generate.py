"""pipeline.loggen.generate: deterministic, well-formed, with the requested malformed share."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.loggen.generate import generate_logs
from tests.test_ingest_reference import ref_parse


def test_deterministic_and_valid(tmp_path: Path) -> None:
    a = generate_logs(tmp_path / "a.log", lines=2000, seed=5)
    b = generate_logs(tmp_path / "b.log", lines=2000, seed=5)
    c = generate_logs(tmp_path / "c.log", lines=2000, seed=6)
    text = (tmp_path / "a.log").read_text()
    assert text == (tmp_path / "b.log").read_text() != (tmp_path / "c.log").read_text()
    rows, bad = ref_parse(text)
    assert (len(rows), bad, a.malformed, a.lines) == (2000, [], 0, 2000)
    assert {r[0] for r in rows} >= {"GET", "POST", "PUT", "DELETE"}
    assert {r[2] // 100 for r in rows} >= {2, 3, 4, 5}
    assert b.bytes == a.bytes and c.lines == 2000


def test_malformed_rate_and_split(tmp_path: Path) -> None:
    summary = generate_logs(tmp_path / "d", lines=1001, files=3, seed=1, malformed_rate=0.1)
    texts = [p.read_text() for p in summary.files]
    assert [len(t.splitlines()) for t in texts] == [334, 334, 333]
    bad = sum(len(ref_parse(t)[1]) for t in texts)
    assert bad == summary.malformed and 50 < bad < 160


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lines": -1}, "--lines"),
        ({"lines": 1, "files": 0}, "--files"),
        ({"lines": 1, "malformed_rate": 1.5}, "--malformed-rate"),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        generate_logs(tmp_path / "x.log", **kwargs)  # type: ignore[arg-type]
