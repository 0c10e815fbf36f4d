"""pipeline.reporting.outputs: outputs checked before computing, written whole or not at all."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from pipeline.errors import OutputError
from pipeline.reporting.display import escape_text, escape_undecodable
from pipeline.reporting.outputs import atomic_binary, atomic_path, atomic_text, check_outputs


def _siblings(path: Path) -> list[str]:
    return sorted(os.listdir(path.parent))


def test_a_failure_half_way_keeps_the_old_content_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError), atomic_text(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("boom")
    assert target.read_text() == "previous\n"
    assert _siblings(target) == ["report.txt"]


def test_content_appears_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("previous\n")
    with atomic_text(target) as handle:
        handle.write("new\n")
        handle.flush()
        assert target.read_text() == "previous\n"  # a reader never sees a partial file
    assert target.read_text() == "new\n"
    assert _siblings(target) == ["report.txt"]


def test_new_file_gets_the_umask_permissions_of_plain_open(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with atomic_binary(tmp_path / "new.bin") as handle:
            handle.write(b"x")
        with open(tmp_path / "plain.bin", "wb") as plain:
            plain.write(b"x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.bin").st_mode) == 0o640


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("old")
    target.chmod(0o604)
    with atomic_text(target) as handle:
        handle.write("new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o604


def test_a_symlink_is_written_through_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with atomic_text(link) as handle:
        handle.write("new")
    assert link.is_symlink() and real.read_text() == "new"


def test_devices_are_written_directly_and_errors_are_output_errors() -> None:
    with atomic_text("/dev/null") as handle:
        handle.write("ignored")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # not replaced by a regular file
    full = pytest.raises(OutputError, match=r"^cannot write report to /dev/full: No space left")
    with full, atomic_text("/dev/full", what="report") as handle:
        handle.write("x" * 100_000)


def test_a_fifo_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with atomic_text(fifo) as handle:
            handle.write("through the pipe\n")
        assert os.read(reader, 100) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_atomic_path_moves_a_third_party_file_into_place(tmp_path: Path) -> None:
    target = tmp_path / "profile.html"
    with atomic_path(target) as scratch:
        Path(scratch).write_text("<html/>")
        assert not target.exists()
    assert target.read_text() == "<html/>"
    assert _siblings(target) == ["profile.html"]


@pytest.mark.parametrize("spec", ["{d}/a.log", "file://{d}/a.log", "{d}/*.log", "{d}"])
def test_an_input_is_never_an_output(tmp_path: Path, spec: str) -> None:
    (tmp_path / "a.log").write_text("log\n")
    with pytest.raises(OutputError, match="is one of the inputs"):
        check_outputs({"--output": tmp_path / "a.log"}, [spec.format(d=tmp_path)])
    assert (tmp_path / "a.log").read_text() == "log\n"


def test_a_hard_link_to_the_input_is_the_input(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("log\n")
    os.link(tmp_path / "a.log", tmp_path / "other-name.txt")
    with pytest.raises(OutputError, match="is one of the inputs"):
        check_outputs({"--output": tmp_path / "other-name.txt"}, [str(tmp_path / "a.log")])


def test_two_outputs_on_one_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^--output and --malformed-out are the same file"):
        check_outputs({"--output": tmp_path / "x", "--malformed-out": f"{tmp_path}/./x"}, [])


def test_new_output_inside_an_input_directory_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.log").write_text("log\n")
    with caplog.at_level(logging.WARNING):
        check_outputs({"--output": tmp_path / "report.txt"}, [str(tmp_path)])
        check_outputs({"malformed_out": tmp_path / "report.txt"}, [str(tmp_path)])
    assert [r.getMessage().split(" is inside")[0] for r in caplog.records] == [
        f"--output {tmp_path / 'report.txt'}"
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("missing/x.txt", "no such directory"), ("file/x.txt", "not a directory"), (".", "it is a")],
)
def test_unwritable_outputs_are_refused_up_front(tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match=f"^cannot write --output to .*: {reason}"):
        check_outputs({"--output": tmp_path / name}, [])


def test_escapes_match_a_plain_reference() -> None:
    name = os.fsdecode(b"bad\xff\x1b[31m\tx\n\x7f.gz")
    reference = "".join(
        {"\t": "\\t", "\n": "\\n"}.get(c)
        or (f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else None)
        or (f"\\x{ord(c):02x}" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else c)
        for c in name
    )
    assert escape_text(name) == reference == "bad\\xff\\x1b[31m\\tx\\n\\x7f.gz"
    assert escape_undecodable(name) == "bad\\xff\x1b[31m\tx\n\x7f.gz"
    escape_text(name).encode("ascii")  # nothing left that a UTF-8 writer could choke on
