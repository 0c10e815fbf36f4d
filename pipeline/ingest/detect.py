"""``--log-format auto``: which preset each file is written in, judged from its first lines.

The first :data:`SAMPLE_LINES` non-empty lines of a file (read from at most
:data:`SAMPLE_BYTES` of its decompressed start) are parsed with every candidate of
:data:`~pipeline.ingest.formats.presets.DETECTION_ORDER`; the candidate that parses the most of them
wins, ties going to the earlier candidate. A file that is empty or cannot be read gets
``default``: reading it again in its task reports the error as usual.

Where it runs: a file that is split into blocks, or compressed, is detected in the client before
the graph is built (:func:`detect_formats`: one small read per file, in a thread pool), so every
block task of the file knows its format. A small uncompressed file, read whole by its group task
(:mod:`pipeline.ingest.group`), is detected inside that task from the text the task reads anyway
(:func:`head_of_text`, :func:`detect_samples`): each small file is opened once, not twice. Either
way the report says which format each file was read with.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final

import fsspec

from pipeline.ingest.formats.presets import DETECTION_ORDER, LogFormat, preset
from pipeline.ingest.inputs.files import compression_of, is_special_file
from pipeline.ingest.parsing.joined import parsed_counts
from pipeline.ingest.parsing.parse import parse_text

#: Non-empty lines judged per file. More lines resist a few odd first lines better; 100 is what
#: the issue asks for and costs a few milliseconds per file. Legal range: >= 1.
SAMPLE_LINES: Final[int] = 100

#: Most bytes read from the (decompressed) start of a file to find those lines. Legal range:
#: >= 4 KiB; lines longer than SAMPLE_BYTES / SAMPLE_LINES simply mean fewer lines are judged.
SAMPLE_BYTES: Final[int] = 256 * 1024

#: Files sampled at once (I/O bound: threads overlap the reads). Legal range: >= 1.
DETECT_THREADS: Final[int] = 8


@dataclass(frozen=True)
class Detection:
    """The format chosen for one file, and whether its lines carry fields beyond that format's
    last one (``common``/``combined`` ignore them; they often hold a latency)."""

    format: LogFormat
    extra_fields: bool = False


#: Bytes of samples judged together: many small files' samples are joined and parsed once per
#: candidate (:func:`pipeline.ingest.parsing.joined.parsed_counts`), since a parse costs about a
#: millisecond however short its input. Larger batches amortise more and hold more memory.
#: Legal range: >= SAMPLE_BYTES.
BATCH_BYTES: Final[int] = 8 * 2**20


def detect_formats(paths: Sequence[str]) -> list[Detection]:
    """The detected format of each file, in the order given."""
    if len(paths) <= 1:
        candidates = [preset(name) for name in DETECTION_ORDER]
        return [detect_format(path, candidates) for path in paths]
    with ThreadPoolExecutor(DETECT_THREADS) as pool:
        samples = list(pool.map(_head, paths))
    return detect_samples(samples)


def detect_samples(samples: Sequence[str]) -> list[Detection]:
    """:func:`detect_sample` of each sample (the first lines of a file, :func:`head_lines` or
    :func:`head_of_text`), judged in batches of about :data:`BATCH_BYTES`."""
    candidates = [preset(name) for name in DETECTION_ORDER]
    detections: list[Detection] = []
    batch: list[str] = []
    size = 0
    for sample in samples:
        batch.append(sample)
        size += len(sample)
        if size >= BATCH_BYTES:
            detections.extend(_detect_batch(batch, candidates))
            batch, size = [], 0
    detections.extend(_detect_batch(batch, candidates))
    return detections


def _best(scores: Sequence[int]) -> int:
    """The index of the highest score, ties going to the earlier candidate."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def _detect_batch(samples: Sequence[str], candidates: Sequence[LogFormat]) -> list[Detection]:
    """:func:`detect_sample` of each sample, with one parse per candidate for the whole batch
    (falls back to one sample at a time when the joined parse cannot attribute lines)."""
    if len(samples) <= 1:
        return [detect_sample(sample, candidates) for sample in samples]
    scores = []
    for fmt in candidates:
        found = parsed_counts(samples, fmt)
        if found is None:
            return [detect_sample(sample, candidates) for sample in samples]
        scores.append(found[0])
    chosen = [_best([score[j] for score in scores]) for j in range(len(samples))]
    strict: dict[int, list[int]] = {}
    for index in sorted(set(chosen)):
        fmt = candidates[index]
        if fmt.name in ("common", "combined"):
            pattern = fmt.pattern.removesuffix("(?: .*)?$") + "$"
            found = parsed_counts(samples, replace(fmt, pattern=pattern))
            if found is None:
                return [detect_sample(sample, candidates) for sample in samples]
            strict[index] = found[0]
    out = []
    for j, sample in enumerate(samples):
        if not sample:
            out.append(Detection(candidates[0]))
            continue
        best = chosen[j]
        score = scores[best][j]
        extra = best in strict and score > 0 and strict[best][j] * 2 < score
        out.append(Detection(candidates[best], extra))
    return out


def detect_format(path: str, candidates: Sequence[LogFormat]) -> Detection:
    """The candidate that parses the most of the file's first lines (ties: the earlier one)."""
    return detect_sample(_head(path), candidates)


def detect_sample(sample: str, candidates: Sequence[LogFormat]) -> Detection:
    """:func:`detect_format` on lines already read (standard input is read once, by the job)."""
    if not sample:
        return Detection(candidates[0])
    scores = [len(parse_text(sample, fmt).frame) for fmt in candidates]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    chosen = candidates[best]
    extra = False
    if chosen.name in ("common", "combined") and scores[best]:
        strict = chosen.pattern.removesuffix("(?: .*)?$") + "$"
        exact = len(parse_text(sample, replace(chosen, pattern=strict)).frame)
        extra = exact * 2 < scores[best]
    return Detection(chosen, extra)


def _head(path: str) -> str:
    """The first SAMPLE_LINES non-empty lines of ``path`` (decompressed), or "" if unreadable
    or not a regular file (a FIFO can be read only once: its task reads it)."""
    if is_special_file(path):
        return ""
    try:
        with fsspec.open(path, "rb", compression=compression_of(path)) as handle:
            data = handle.read(SAMPLE_BYTES)
    except Exception:  # any failure: the block task reads the file again and reports it
        return ""
    return head_lines(data, cut=len(data) == SAMPLE_BYTES)


def head_lines(data: bytes, *, cut: bool) -> str:
    """The first SAMPLE_LINES non-empty lines of ``data``; ``cut``: the data may end mid-line."""
    return _first_lines(data.decode("utf-8", errors="replace"), cut=cut)


def head_of_text(text: str) -> str:
    """What :func:`_head` gives for a file whose whole decoded text is ``text``: its first
    SAMPLE_LINES non-empty lines within its first SAMPLE_BYTES bytes.

    Bytes are counted as the UTF-8 encoding of the decoded text, so a byte that was not valid
    UTF-8 (now U+FFFD) counts 3 instead of 1: with such bytes and very long lines, a line or two
    fewer may be judged than by reading the file's start.

    >>> head_of_text("a\\n\\n b \\nc")
    'a\\n b \\nc'
    """
    start = text[:SAMPLE_BYTES]
    data = start.encode("utf-8")
    if len(data) < SAMPLE_BYTES and len(start) == len(text):
        return _first_lines(start, cut=False)
    return head_lines(data[:SAMPLE_BYTES], cut=True)


def _first_lines(text: str, *, cut: bool) -> str:
    lines = [line for line in text.split("\n") if line.strip()]
    if cut and lines and not text.endswith("\n"):
        lines.pop()  # the last line may be cut in the middle
    return "\n".join(lines[:SAMPLE_LINES])
