"""pipeline.ingest.inputs.stream: blocks share no line and miss none; long lines are cut, never
held."""

from __future__ import annotations

import io
import random
import tracemalloc
from collections.abc import Iterator
from typing import IO, cast

import pytest

from pipeline.ingest.inputs.stream import Overlong, line_pieces, seek_line_start


def _reference_lines(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, line with its newline) by a plain loop."""
    lines, start = [], 0
    for index, byte in enumerate(data):
        if byte == ord("\n"):
            lines.append((start, data[start : index + 1]))
            start = index + 1
    if start < len(data):
        lines.append((start, data[start:]))
    return lines


def _read(data: bytes, blocksize: int | None, chunk: int, cap: int) -> list[bytes | Overlong]:
    handle = io.BytesIO(data)
    if blocksize is None:
        return list(line_pieces(handle, chunk_size=chunk, max_line=cap))
    out: list[bytes | Overlong] = []
    for offset in range(0, max(len(data), 1), blocksize):
        start = seek_line_start(handle, offset)
        stop = offset + blocksize
        if start < stop:
            out.extend(line_pieces(handle, start=start, stop=stop, chunk_size=chunk, max_line=cap))
    return out


def _random_data(rng: random.Random) -> bytes:
    lengths = [rng.choice([0, 1, 5, 30, 200]) for _ in range(rng.randint(0, 60))]
    data = b"\n".join(bytes(rng.choice(b"abc") for _ in range(n)) for n in lengths)
    return data + (b"\n" if rng.random() < 0.5 else b"")


@pytest.mark.parametrize("seed", range(40))
def test_blocks_and_streams_match_a_plain_split(seed: int) -> None:
    rng = random.Random(seed)
    data = _random_data(rng)
    cap = rng.choice([10, 50, 1000])
    want: list[bytes | Overlong] = [
        Overlong(offset, len(line)) if len(line) > cap else line
        for offset, line in _reference_lines(data)
    ]
    for blocksize in (None, 1, 7, 64, 1000):
        got = _read(data, blocksize, rng.choice([1, 3, 16, 4096]), cap)
        lines: list[bytes | Overlong] = []
        for piece in got:  # pieces hold whole lines; split them for the comparison
            if isinstance(piece, Overlong):
                lines.append(piece)
            else:
                lines.extend(line for _, line in _reference_lines(piece))
        assert lines == want, (blocksize, data)


class _Endless(io.RawIOBase):
    """``size`` bytes of ``x`` without a newline, produced on demand (like /dev/zero)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = b"x" * count
        self.left -= count
        return count


def _drain(pieces: Iterator[bytes | Overlong]) -> list[bytes | Overlong]:
    return list(pieces)


def test_an_endless_line_is_skipped_in_bounded_memory() -> None:
    size = 64 * 2**20
    tracemalloc.start()
    try:
        endless = cast(IO[bytes], _Endless(size))  # a raw binary stream, read like any file
        got = _drain(line_pieces(endless, chunk_size=2**20, max_line=2**20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [Overlong(0, size)]
    assert peak < 8 * 2**20  # a few chunks, never the 64 MiB line


def test_a_block_is_one_piece_whatever_its_last_line() -> None:
    # a piece is parsed and aggregated on its own: a block read as its bulk plus its last line
    # would cost a second parse, aggregation and merge for one line
    rng = random.Random(7)
    data = b"".join(b"x" * rng.randint(20, 200) + b"\n" for _ in range(20_000))
    blocksize = 50_000
    for offset in range(0, len(data), blocksize):
        handle = io.BytesIO(data)
        start = seek_line_start(handle, offset)
        stop = offset + blocksize
        pieces = list(line_pieces(handle, start=start, stop=stop, chunk_size=blocksize))
        if start < offset + blocksize:
            assert len(pieces) == 1, offset
            end = data.find(b"\n", offset + blocksize - 1)
            expected = data[start : end + 1] if end >= 0 else data[start:]
            assert pieces[0] == expected


@pytest.mark.parametrize("cap", [8, 10, 64])
def test_one_line_just_over_the_cap_is_found_wherever_it_starts(cap: int) -> None:
    # a piece larger than the cap is checked by windows first; one line of cap + 1 to 2 * cap
    # bytes among short ones, at every alignment, is where a loose window would miss it
    for long in range(cap + 1, 2 * cap + 1):
        for before in range(2 * cap):
            short = max(1, cap // 4)
            lengths = [1] * before + [long] + [short] * (4 * cap // short)
            data = b"".join(b"y" * (n - 1) + b"\n" for n in lengths)
            want: list[bytes | Overlong] = [
                Overlong(offset, len(line)) if len(line) > cap else line
                for offset, line in _reference_lines(data)
            ]
            got = _read(data, None, len(data) + 1, cap)  # one chunk: the input is one piece
            lines: list[bytes | Overlong] = []
            for piece in got:
                if isinstance(piece, Overlong):
                    lines.append(piece)
                else:
                    lines.extend(line for _, line in _reference_lines(piece))
            assert lines == want, (long, before)
