"""pipeline.ingest.group: small files parsed together give what parsing them one by one gives."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import cast

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest import group
from pipeline.ingest.aggregate.partial import Partial
from pipeline.ingest.formats.presets import preset
from pipeline.ingest.inputs.files import Block
from pipeline.ingest.options import DEFAULT_BLOCKSIZE, IngestOptions
from pipeline.ingest.parsing import joined
from pipeline.ingest.parsing.parse import DEFAULT_FORMAT
from pipeline.ingest.report.result import build_result
from tests.conftest import REPO_ROOT, SMALL_BLOCKSIZE

pytestmark = pytest.mark.usefixtures("small_blocks")

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
    document = build_result(partial, ExecutionSettings(mode="sync"), time.perf_counter()).to_dict()
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
    (tmp_path / "a.log").write_text(GOOD + joined.BOUNDARY + "\n" + GOOD)
    (tmp_path / "b.log").write_text(GOOD)
    blocks = [Block(str(tmp_path / "a.log")), Block(str(tmp_path / "b.log"))]
    together = group.files_partial(blocks, True)
    assert _view(together) == _view(group._one_by_one(blocks, [DEFAULT_FORMAT] * 2, True))
    assert (together.parsed, together.malformed) == (3, 1)


def test_batched_detection_equals_one_file_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.ingest import detect
    from pipeline.ingest.formats.presets import DETECTION_ORDER

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


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> Counter[str]:
    """Count the calls of ``module.name`` by their first argument's path."""
    calls: Counter[str] = Counter()
    original = getattr(module, name)

    def wrapper(first: object, *args: object, **kwargs: object) -> object:
        calls[cast(str, getattr(first, "path", first))] += 1  # a Block or a path
        return original(first, *args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_small_files_are_detected_in_their_task_and_opened_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    from pipeline.ingest import detect, read
    from pipeline.ingest.job import run_ingest
    from tests.test_ingest_formats_reference import detect as ref_detect
    from tests.test_ingest_formats_reference import has_extra_fields

    nginx = REPO_ROOT / "tests" / "data" / "nginx"
    combined = (nginx / "combined.log").read_text()
    lines = combined.splitlines(keepends=True)
    texts = {
        "a-default.log": GOOD * 3 + "junk\n",
        "b-combined.log": combined,
        "c-extra.log": "".join(line.rstrip("\n") + " rt=0.123\n" for line in lines),
        "d-json.log": '{"status": 200, "path": "/j", "took": 7}\n' * 2,
        "e-mixed.log": GOOD + "".join(lines[:2]),
        "f-junk.log": "junk\n",
        "g-empty.log": "",
        # the first 100 lines do not fit in detection's 256 KiB: fewer lines are judged
        "h-long.log": ("x" * 3000 + "\n") * 90 + "".join(lines) * 10,
        "i-big.log": combined * 1000,  # split into blocks: detected before the graph
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    with gzip.open(tmp_path / "j-zipped.log.gz", "wt") as handle:
        handle.write(combined)  # compressed: detected before the graph
    texts["j-zipped.log.gz"] = combined
    (tmp_path / "k-unreadable.log").symlink_to(tmp_path / "missing")  # fails alone
    blocksize = 8 * SMALL_BLOCKSIZE  # 512 KiB
    assert len(texts["i-big.log"]) > blocksize > len(texts["h-long.log"]) > detect.SAMPLE_BYTES
    opened = _counting(monkeypatch, read, "_open")
    headed = _counting(monkeypatch, detect, "_head")
    monkeypatch.setattr(detect, "DETECT_THREADS", 1)  # the counters are not thread-safe
    result = run_ingest(
        str(tmp_path),
        ExecutionSettings(mode="sync"),
        IngestOptions(blocksize=blocksize, field=["latency=took"]),
    )
    document = result.to_dict()

    # reference: the plain detector over the lines that end in each file's first 256 KiB
    def start(text: str) -> str:
        data = text.encode()[: detect.SAMPLE_BYTES]
        return data[: data.rfind(b"\n") + 1].decode() if len(data) == detect.SAMPLE_BYTES else text

    expected = Counter(ref_detect(start(text)).name for text in texts.values())
    assert ref_detect(start(texts["h-long.log"])).name != ref_detect(texts["h-long.log"]).name
    assert document["inputs"]["formats"] == dict(sorted(expected.items()))
    extras = {ref_detect(t).name for t in texts.values() if has_extra_fields(t, ref_detect(t))}
    assert extras == {"combined"}
    assert [note for note in document["notes"] if "more fields" in note] == [
        f"lines read as {name!r} carry more fields after the format's last one (ignored); if "
        "they hold a latency, pass your server's format string, e.g. --log-format "
        "'<log_format string>'"
        for name in sorted(extras)
    ]
    assert [f["path"] for f in document["inputs"]["failed"]] == [
        str(tmp_path / "f-junk.log"),
        str(tmp_path / "h-long.log"),  # read as default: no line matches
        str(tmp_path / "k-unreadable.log"),
    ]
    assert document["latency_ms"]["max"] >= 7.0  # --field reached the JSON file detected in-task
    small = [str(tmp_path / n) for n in texts if n not in ("i-big.log", "j-zipped.log.gz")]
    assert all(opened[path] == 1 for path in small), opened
    assert not any(headed[path] for path in small), headed
    assert headed[str(tmp_path / "i-big.log")] == headed[str(tmp_path / "j-zipped.log.gz")] == 1


def test_a_thousand_small_files_are_one_task_that_detects_them(tmp_path: Path) -> None:
    from pipeline.ingest import job
    from pipeline.ingest.aggregate.filters import build_filters
    from pipeline.ingest.formats.presets import LogFormat
    from pipeline.ingest.inputs.files import expand_path, plan_tasks

    for index in range(1000):
        (tmp_path / f"{index:04}.log").write_text(GOOD)
    files = expand_path(str(tmp_path))
    tasks = plan_tasks(files, DEFAULT_BLOCKSIZE)
    known = job._known_formats(files, tasks, None, detect_all=False)
    assert set(known.values()) == {None}  # detected in the task, not here
    formats: dict[str, LogFormat | None] = {name: None for name in files}
    graph = dict(job._graph(formats, tasks, False, build_filters(), False, ()).dask)
    calls = [key for key in graph if str(key).startswith("files_partial-")]
    assert len([key for key in calls if not str(key).endswith(("-blocks", "-formats"))]) == 1
