"""pipeline.ingest.inputs.files: what --path means, and line-aligned blocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.ingest.inputs import files as ingest_files
from pipeline.ingest.inputs.files import compression_of, expand_path, plan_blocks, plan_tasks
from pipeline.ingest.options import DEFAULT_BLOCKSIZE


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ["b.log", "a.log.gz", "sub/c.log", "sub/deeper/d.txt", ".hidden", ".dir/e.log"]:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
    return tmp_path


def test_directory_is_walked_sorted_skipping_hidden(tree: Path) -> None:
    found = [Path(p).relative_to(tree).as_posix() for p in expand_path(str(tree))]
    assert found == ["a.log.gz", "b.log", "sub/c.log", "sub/deeper/d.txt"]


def test_explicit_hidden_file_and_file_url(tree: Path) -> None:
    assert expand_path(str(tree / ".hidden")) == [str(tree / ".hidden")]
    assert expand_path(f"file://{tree / 'b.log'}") == [str(tree / "b.log")]


def test_glob(tree: Path) -> None:
    found = expand_path(str(tree / "**" / "*.log"))
    assert [Path(p).name for p in found] == ["b.log", "c.log"]


def test_symlinks_are_followed_and_each_file_is_found_once(tree: Path) -> None:
    os.symlink(tree / "sub", tree / "link")  # the same directory under a second name
    outside = tree.parent / f"{tree.name}-outside"
    outside.mkdir()
    (outside / "e.log").write_bytes(b"")
    os.symlink(outside, tree / "elsewhere")
    found = [Path(p).relative_to(tree).as_posix() for p in expand_path(str(tree))]
    assert found == ["a.log.gz", "b.log", "elsewhere/e.log", "sub/c.log", "sub/deeper/d.txt"]


@pytest.mark.parametrize(
    "links",
    [
        [("me", ".")],
        [("self", "../loopdir"), ("sub/up", "..")],
        [("sub/deeper/top", "../.."), ("sub/again", "../sub")],
    ],
)
def test_symlink_loops_end_and_count_each_file_once(
    tmp_path: Path, links: list[tuple[str, str]]
) -> None:
    root = tmp_path / "loopdir"
    for name in ["a.log", "sub/b.log", "sub/deeper/c.log"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    for name, target in links:
        os.symlink(target, root / name)
    found = expand_path(str(root))
    # reference: the regular files of the tree, found without following any link
    expected = sorted(
        str(Path(d) / f) for d, _, files in os.walk(root) for f in files
        if not (Path(d) / f).is_symlink()
    )  # fmt: skip
    assert sorted(found) == expected


@pytest.mark.parametrize(
    ("suffix", "message"),
    [("missing.log", "no such file or directory: "), ("*.nothing", "no files match: ")],
)
def test_nothing_matches(tree: Path, suffix: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        expand_path(str(tree / suffix))
    assert str(info.value) == message + str(tree / suffix)


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / ".only-hidden").write_text("x")
    with pytest.raises(InputError, match="no input files in directory"):
        expand_path(str(tmp_path))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.gz", "gzip"), ("a.LOG.GZ", "gzip"), ("a.Bz2", "bz2"), ("a.xz", "xz"), ("a.log", None)],
)
def test_compression_of(name: str, expected: str | None) -> None:
    assert compression_of(name) == expected


def test_blocks_cover_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"x" * 1000)
    blocks = plan_blocks([str(path)], 300)
    assert [(b.offset, b.length) for b in blocks] == [(0, 300), (300, 300), (600, 300), (900, 100)]
    gz = tmp_path / "x.log.gz"
    gz.write_bytes(b"y" * 1000)
    assert [(b.length, b.compression) for b in plan_blocks([str(gz)], 300)] == [(None, "gzip")]


def _groups(paths: list[str], blocksize: int, most: int) -> list[int]:
    """Reference: a plain loop closing a group as soon as its bytes reach the blocksize or it
    holds ``most`` files."""
    groups, current, total = [], 0, 0
    for path in paths:
        current += 1
        total += os.path.getsize(path)
        if total >= blocksize or current >= most:
            groups.append(current)
            current, total = 0, 0
    return groups + ([current] if current else [])


def test_a_thousand_tiny_files_share_a_few_tasks(tmp_path: Path) -> None:
    paths = []
    for index in range(1000):
        path = tmp_path / f"{index:04}.log"
        path.write_bytes(b"x" * (index % 97 + 1) + b"\n")
        paths.append(str(path))
    blocksize = 4096
    tasks = plan_tasks(paths, blocksize)
    assert [len(task) for task in tasks] == _groups(paths, blocksize, ingest_files.MAX_GROUP_FILES)
    with pytest.MonkeyPatch.context() as patch:  # the cap on files per task
        patch.setattr(ingest_files, "MAX_GROUP_FILES", 7)
        capped = [len(task) for task in plan_tasks(paths, blocksize)]
    assert capped == _groups(paths, blocksize, 7) != _groups(paths, blocksize, 1000)
    size = sum(map(os.path.getsize, paths))
    assert size // blocksize - 1 <= len(tasks) <= size // blocksize + 1  # not 1,000 tasks
    assert [block.path for task in tasks for block in task] == paths  # input order, each once
    assert len(plan_tasks(paths, DEFAULT_BLOCKSIZE)) == 1


def test_a_large_blocksize_reads_no_more_than_a_chunk_whole(tmp_path: Path) -> None:
    """Issue 22: a group task holds its files' texts at once (1 GiB blocks read a 350 MB file
    whole: 2.8 GB). Above STREAM_CHUNK, a file is split into blocks of the blocksize (read in
    pieces) and groups close at STREAM_CHUNK bytes."""
    sizes = [300, 40, 50, 700, 20, 999, 1001, 30]
    paths = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"{index}.log"
        path.write_bytes(b"x" * (size - 1) + b"\n")
        paths.append(str(path))
    chunk, blocksize = 100, 10_000
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest_files, "STREAM_CHUNK", chunk)
        tasks = plan_tasks(paths, blocksize)
    # reference: files above the chunk are one block each (smaller than the blocksize), the
    # others grouped until their bytes reach the chunk
    want: list[list[tuple[int, int | None]]] = []
    group: list[tuple[int, int | None]] = []
    for index, size in enumerate(sizes):
        if size > chunk:
            want += [group] if group else []
            want.append([(index, size)])
            group = []
            continue
        group.append((index, None))
        if sum(sizes[i] for i, _ in group) >= chunk:
            want.append(group)
            group = []
    want += [group] if group else []
    got = [[(paths.index(b.path), b.length) for b in task] for task in tasks]
    assert got == want
    with pytest.MonkeyPatch.context() as patch:  # a blocksize under the chunk rules as before
        patch.setattr(ingest_files, "STREAM_CHUNK", chunk)
        small = plan_tasks(paths, 60)
    assert small == plan_tasks(paths, 60)  # the chunk changes nothing
    assert len(small) > len(sizes)  # split into blocks of 60 bytes


def test_split_files_and_unknown_sizes_are_tasks_of_their_own(tmp_path: Path) -> None:
    for name, size in [("a.log", 10), ("big.log", 1000), ("b.log", 10), ("c.log", 10)]:
        (tmp_path / name).write_bytes(b"x" * (size - 1) + b"\n")
    paths = [str(tmp_path / n) for n in ("a.log", "big.log", "b.log")]
    paths += [f"zip://x::file://{tmp_path / 'c.log'}", str(tmp_path / "c.log")]
    shape = [[(Path(b.path).name, b.offset, b.length) for b in t] for t in plan_tasks(paths, 400)]
    assert shape == [
        [("a.log", 0, None)],
        [("big.log", 0, 400)],
        [("big.log", 400, 400)],
        [("big.log", 800, 200)],
        [("b.log", 0, None)],
        [("c.log", 0, None)],  # the zip:// URL: its size is unknown
        [("c.log", 0, None)],
    ]
