"""Nothing read short in silence (issue 22): files that change while read, directories that cannot
be listed at any depth, trees deeper than Python's recursion limit, file names on stderr."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.ingest import read
from pipeline.ingest.inputs.files import Block
from pipeline.ingest.inputs.planned import ChangedInput, PlannedReader
from tests.conftest import SMALL_BLOCKSIZE

GOOD = "[GET] /x, status=200, time=5ms user-agent=curl/8\n"
OTHER = "[POST] /y, status=500, time=7ms user-agent=curl/8\n"
BLOCK = SMALL_BLOCKSIZE  # several blocks of a small file (the floor is lowered for tests)
pytestmark = pytest.mark.usefixtures("small_blocks")
DEPTH = 1100  # directories nested: beyond Python's recursion limit of 1,000


def _run(*args: str) -> tuple[int, dict[str, Any], str]:
    """The CLI in this process, sync scheduler, JSON report parsed."""
    result = CliRunner().invoke(cli, [*args, "--mode", "sync", "--format", "json"])
    return result.exit_code, json.loads(result.stdout), result.stderr


def _requests(lines: str) -> int:
    """The reference: the requests of well-formed lines, counted by hand."""
    return sum(1 for line in lines.splitlines() if line.startswith("["))


# --- files that change between planning and reading ------------------------------------------


def _before_block(
    monkeypatch: pytest.MonkeyPatch, path: Path, change: Callable[[], object], *, last: bool
) -> None:
    """Run ``change`` once, just before the reader opens ``path``'s last (or first) block."""
    original = read.block_bytes
    done: list[bool] = []

    def reader(block: Block, overlong: Any = None) -> Iterator[bytes]:
        is_last = block.length is None or block.offset + block.length >= (block.size or 0)
        if block.path == str(path) and not done and (is_last if last else block.offset == 0):
            done.append(True)
            change()
        return original(block, overlong)

    monkeypatch.setattr(read, "block_bytes", reader)


@pytest.fixture
def logs(tmp_path: Path) -> tuple[Path, Path]:
    """A file of four blocks (``big.log``) and a small one read whole (``small.log``)."""
    big = tmp_path / "big.log"
    big.write_text(GOOD * (3 * BLOCK // len(GOOD) + 100))
    small = tmp_path / "small.log"
    small.write_text(OTHER * 7)
    return big, small


@pytest.mark.parametrize("which", ["big", "small"])
def test_a_file_truncated_before_its_last_block_fails(
    logs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    big, small = logs
    target = big if which == "big" else small
    planned = target.stat().st_size
    keep = GOOD * 10 if which == "big" else OTHER * 2
    _before_block(monkeypatch, target, lambda: target.write_text(keep), last=True)
    code, report, _ = _run("ingest", "--path", str(target.parent), "--blocksize", str(BLOCK))
    assert code == 3
    assert report["inputs"]["failed"] == [
        {
            "path": str(target),
            "error": f"ChangedInput: file shrank while read: {planned} bytes planned, "
            f"{len(keep)} now",
        }
    ]
    other = small if which == "big" else big
    assert report["requests"]["total"] == _requests(other.read_text())


def test_a_file_truncated_while_a_block_is_read_fails(tmp_path: Path) -> None:
    """The file ends before the planned size while read: a short read is a failure."""
    path = tmp_path / "a.log"
    path.write_text(GOOD * 4)
    with open(path, "rb", buffering=0) as raw:  # as a large block reads: past any buffer
        reader = PlannedReader(raw, 4 * len(GOOD), str(path))
        assert reader.read(len(GOOD)) == GOOD.encode()
        os.truncate(path, 2 * len(GOOD))
        shrank = (
            f"file shrank while read: {4 * len(GOOD)} bytes planned, it ends at {2 * len(GOOD)}"
        )
        with pytest.raises(ChangedInput, match=shrank):
            reader.read()


@pytest.mark.parametrize("which", ["big", "small"])
def test_a_file_replaced_before_its_last_block_fails(
    logs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    """Renamed over with the same content and size: only its identity tells."""
    big, small = logs
    target = big if which == "big" else small

    def replace() -> None:
        fresh = target.with_name(".fresh")
        fresh.write_bytes(target.read_bytes())
        os.replace(fresh, target)

    _before_block(monkeypatch, target, replace, last=True)
    code, report, _ = _run("ingest", "--path", str(target.parent), "--blocksize", str(BLOCK))
    assert code == 3
    assert report["inputs"]["failed"] == [
        {
            "path": str(target),
            "error": "ChangedInput: file replaced while read (another file at its path)",
        }
    ]


@pytest.mark.parametrize("which", ["big", "small", "gzip"])
def test_growth_after_planning_is_ignored_with_a_note(
    logs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    big, small = logs
    target = big if which == "big" else small
    if which == "gzip":
        target = small.with_name("small.log.gz")
        target.write_bytes(gzip.compress(small.read_bytes()))
        small.unlink()
    expected = _requests(big.read_text()) + _requests(OTHER * 7)
    planned = target.stat().st_size
    added = b"".join([gzip.compress(GOOD.encode() * 5)] if which == "gzip" else [b"[GET] /z"])

    def grow() -> None:  # a line half written, or a whole gzip member
        with open(target, "ab") as handle:
            handle.write(added)

    _before_block(monkeypatch, target, grow, last=which == "big")
    code, report, _ = _run("ingest", "--path", str(target.parent), "--blocksize", str(BLOCK))
    assert code == 0
    assert report["inputs"]["failed"] == []
    assert report["requests"]["total"] == expected  # the new bytes were not read
    assert report["lines"]["malformed"] == 0
    now = planned + len(added)
    assert (
        f"{target} grew from {planned:,} to {now:,} bytes while it was read; only its first "
        f"{planned:,} bytes (its size when the run started) were read"
    ) in report["notes"]


def test_an_unchanged_file_reads_every_block(logs: tuple[Path, Path]) -> None:
    big, small = logs
    code, report, _ = _run("ingest", "--path", str(big.parent), "--blocksize", str(BLOCK))
    assert code == 0
    assert report["requests"]["total"] == _requests(big.read_text() + small.read_text())
    assert not any("grew" in note for note in report["notes"])


# --- directories that cannot be listed -------------------------------------------------------


def _unlistable(monkeypatch: pytest.MonkeyPatch, *denied: Path) -> None:
    """``os.scandir`` refuses ``denied`` with EACCES, as for a directory of mode 000 (root
    ignores modes, and the tests run as root in CI)."""
    original = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(os.fspath(path)) in denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return original(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_subdirectory_is_a_failed_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.log").write_text(GOOD * 3)
    deep = tmp_path / "x" / "locked"
    deep.mkdir(parents=True)
    (deep / "b.log").write_text(GOOD * 5)
    (tmp_path / "x" / "c.log").write_text(OTHER * 2)
    _unlistable(monkeypatch, deep)
    code, report, err = _run("ingest", "--path", str(tmp_path))
    assert code == 3
    assert report["inputs"]["files"] == 2
    assert report["inputs"]["failed"] == [
        {"path": str(deep), "error": "PermissionError: Permission denied"}
    ]
    assert report["requests"]["total"] == 3 + 2
    assert f"WARNING input failed: {deep}: PermissionError: Permission denied" in err


def test_an_unreadable_top_directory_is_a_failed_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.log").write_text(GOOD)
    _unlistable(monkeypatch, tmp_path)
    code, report, _ = _run("ingest", "--path", str(tmp_path))
    assert code == 3
    assert report["inputs"]["files"] == 0
    assert report["inputs"]["failed"] == [
        {"path": str(tmp_path), "error": "PermissionError: Permission denied"}
    ]
    assert report["requests"]["total"] == 0


# --- deep trees --------------------------------------------------------------------------------


def test_a_tree_1100_levels_deep_is_walked(tmp_path: Path) -> None:
    """Deeper than Python's recursion limit; short names keep the path below PATH_MAX."""
    (tmp_path / "top.log").write_text(GOOD)
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(DEPTH):
            os.mkdir("d", dir_fd=descriptor)
            inner = os.open("d", os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        bottom = os.open("bottom.log", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
        os.write(bottom, (OTHER * 2).encode())
        os.close(bottom)
    finally:
        os.close(descriptor)
    try:
        code, report, _ = _run("ingest", "--path", str(tmp_path))
    finally:
        _remove_deep(tmp_path / "d")
    assert code == 0
    assert (report["inputs"]["files"], report["requests"]["total"]) == (2, 3)
    assert report["requests"]["by_method"] == {"GET": 1, "POST": 2}


def _remove_deep(top: Path) -> None:
    """Remove a chain of ``d`` directories bottom up (pytest's clean-up recurses and would fail
    on it in a later session)."""
    chain = [os.open(top, os.O_RDONLY)]
    while os.path.isdir(f"/proc/self/fd/{chain[-1]}/d"):
        chain.append(os.open("d", os.O_RDONLY, dir_fd=chain[-1]))
    for name in os.listdir(chain[-1]):
        os.unlink(name, dir_fd=chain[-1])
    os.close(chain.pop())
    while chain:
        os.rmdir("d", dir_fd=chain[-1])
        os.close(chain.pop())
    top.rmdir()


# --- file names on stderr ----------------------------------------------------------------------


def test_file_names_on_stderr_escape_bidi_controls_and_separators(tmp_path: Path) -> None:
    """U+202E would show ``gol.exe`` as ``exe.log``; U+2028 may break the line."""
    bad = tmp_path / "bad\u202egol.exe\u2028x.gz"
    bad.write_bytes(b"not gzip")
    code, report, err = _run("ingest", "--path", str(bad))
    assert code == 3
    assert report["inputs"]["failed"][0]["path"] == str(bad)  # the JSON keeps the name
    shown = f"{tmp_path}/bad\\u202egol.exe\\u2028x.gz"
    assert [line for line in err.splitlines() if line.startswith("WARNING")] == [
        f"WARNING input failed: {shown}: BadGzipFile: Not a gzipped file (b'no')"
    ]
    assert "\u202e" not in err and "\u2028" not in err
    result = CliRunner().invoke(cli, ["ingest", "--path", str(tmp_path / "gone\u2029.log")])
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: no such file or directory: {tmp_path}/gone\\u2029.log\n",
    )
