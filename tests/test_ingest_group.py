"""pipeline.ingest.group: small files parsed together give what parsing them one by one gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.execution import ExecutionSettings
from pipeline.ingest import group
from pipeline.ingest.files import Block
from pipeline.ingest.formats import preset
from pipeline.ingest.parse import DEFAULT_FORMAT
from pipeline.ingest.result import build_result
from pipeline.ingest.stats import Partial
from tests.conftest import REPO_ROOT

GOOD = "[GET] /x, status=200, time=5ms user-agent=curl/8\n"
FILES = {
    "a.log": GOOD * 2 + "junk 1\n",
    "empty.log": "",
    "blank.log": "\n  \n\t\n",
    "no-newline.log": GOOD + "junk 2",
    "only-junk.log": "junk 3\njunk 4\n",  # no line matches: failed, lines still counted
    "crlf.log": GOOD.replace("\n", "\r\n") * 3,
    "boundary-like.log": GOOD + "\x00 not quite the boundary \x00\n",
}


def _view(partial: Partial) -> dict[str, object]:
    document = build_result(partial, ExecutionSettings(mode="sync"), 0.0).to_dict()
    document.pop("execution")
    return {
        "document": document,
        "records": partial.malformed_lines,
        "reports": partial.file_reports,
        "failed": partial.failed,
    }


@pytest.mark.parametrize("keep", [False, True])
def test_together_equals_one_by_one(
    tmp_path: Path, keep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    names = [*FILES, "missing.log"]  # a file that cannot be read fails alone
    combined = preset("combined")
    nginx = REPO_ROOT / "tests" / "data" / "nginx" / "combined.log"
    blocks = [Block(str(tmp_path / name)) for name in names] + [Block(str(nginx))]
    formats = [DEFAULT_FORMAT] * len(names) + [combined]
    one_by_one = group._one_by_one(blocks, formats, keep)
    with monkeypatch.context() as patch:  # prove the joined path ran, without falling back
        patch.setattr(group, "_one_by_one", _must_not_run)
        together = group.files_partial(blocks, keep, formats)
    assert _view(together) == _view(one_by_one)
    assert together.files == len(blocks)
    assert {f.path for f in together.failed} == {
        str(tmp_path / "missing.log"),
        str(tmp_path / "only-junk.log"),
    }


def _must_not_run(*args: object) -> Partial:
    raise AssertionError("fell back to one parse per file")


def test_a_file_holding_the_boundary_line_falls_back(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(GOOD + group.BOUNDARY + "\n" + GOOD)
    (tmp_path / "b.log").write_text(GOOD)
    blocks = [Block(str(tmp_path / "a.log")), Block(str(tmp_path / "b.log"))]
    together = group.files_partial(blocks, True)
    assert _view(together) == _view(group._one_by_one(blocks, [DEFAULT_FORMAT] * 2, True))
    assert (together.parsed, together.malformed) == (3, 1)


def test_batched_detection_equals_one_file_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.ingest import detect
    from pipeline.ingest.formats import DETECTION_ORDER

    nginx = REPO_ROOT / "tests" / "data" / "nginx"
    combined = (nginx / "combined.log").read_text().splitlines(keepends=True)
    extra = [line.rstrip("\n") + " rt=0.123\n" for line in combined]  # fields after the format
    texts = {
        "default.log": GOOD * 3,
        "mixed.log": GOOD + "".join(combined[:2]),
        "extra.log": "".join(extra),
        "empty.log": "",
        "junk.log": "junk\n",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    paths = sorted(str(p) for p in nginx.iterdir()) + [str(tmp_path / n) for n in texts]
    candidates = [preset(name) for name in DETECTION_ORDER]
    expected = [detect.detect_format(path, candidates) for path in paths]  # one by one
    monkeypatch.setattr(detect, "detect_sample", _must_not_run)  # the batched path, no fallback
    assert detect.detect_formats(paths) == expected
    assert len({d.format.name for d in expected}) >= 3 and any(d.extra_fields for d in expected)
