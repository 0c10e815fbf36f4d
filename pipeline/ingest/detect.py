"""``--log-format auto``: which preset each file is written in, judged from its first lines.

The rule (``docs/formats.md``, "Detection"): the first :data:`SAMPLE_LINES` non-empty lines of a
file that do not start with ``#`` (read from at most :data:`SAMPLE_BYTES` of its decompressed
start; ``#`` lines there, W3C directives such as ``#Fields:``, go to the parse too, but are not
sample lines) are parsed with every preset of the table
(:data:`~pipeline.ingest.formats.presets.DETECTION_ORDER`). The preset that parses the most
sample lines wins; on a tie, the one that fills more meaningful fields (:data:`MEANINGFUL`,
counted over the parsed lines: a format that reads the same lines more fully describes them
better), then the earlier row of the table. When most sample lines carry a container wrapper
(:mod:`pipeline.ingest.parsing.wrappers`), the lines inside are judged the same way, and the
wrapped format wins when it parses more sample lines than any plain one.

A sample that no preset parses gets the first preset (``default``, read so that its lines still
count as malformed) with the two presets closest to it (:attr:`Detection.closest`), which name the
file's failure (:func:`no_match_error`) instead of ``default``.

Cost: a parse costs about a millisecond however short its input, so the samples of many files
are joined and judged together (:data:`BATCH_BYTES`), and a preset is parsed only when a cheap
vectorised test (its whole-line pattern without captures; ``{`` for JSON) says that some sample
line may be its: with ~20 presets, a batch costs one match per preset plus one parse per preset
that can win.

Where it runs: a file that is split into blocks, or compressed, is detected in the client before
the graph is built (:func:`detect_formats`: one small read per file, in a thread pool), so every
block task of the file knows its format. A small uncompressed file, read whole by its group task
(:mod:`pipeline.ingest.group`), is detected inside that task from the text the task reads anyway
(:func:`head_of_text`, :func:`detect_samples`): each small file is opened once, not twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Final

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.aggregate.partial import Partial
from pipeline.ingest.formats.presets import DETECTION_ORDER, LogFormat, preset, wrapped
from pipeline.ingest.inputs.files import compression_of, is_special_file
from pipeline.ingest.parsing.own_grammar import PY_WHITESPACE
from pipeline.ingest.parsing.parse import parse_text
from pipeline.ingest.parsing.sampled import SampleLines, may_parse, sample_scores
from pipeline.ingest.parsing.wrappers import WRAPPER_MARKS, unwrap

#: Non-empty, non-directive lines judged per file. More lines resist a few odd first lines
#: better; 100 costs a few milliseconds per file. Legal range: >= 1.
SAMPLE_LINES: Final[int] = 100

#: Most bytes read from the (decompressed) start of a file to find those lines. Legal range:
#: >= 4 KiB; lines longer than SAMPLE_BYTES / SAMPLE_LINES simply mean fewer lines are judged.
SAMPLE_BYTES: Final[int] = 256 * 1024

#: Files sampled at once (I/O bound: threads overlap the reads). Legal range: >= 1.
DETECT_THREADS: Final[int] = 8

#: Bytes of samples judged together: many small files' samples are joined and parsed once per
#: candidate, since a parse costs about a millisecond however short its input. Larger batches
#: amortise more and hold more memory. Legal range: >= SAMPLE_BYTES.
BATCH_BYTES: Final[int] = 8 * 2**20

#: The fields a tie between presets is broken on, as tested on a parsed line (a field counts when
#: the line has it): status (0 is "no status"), path, latency, time, user agent, bytes (> 0) and
#: host.
MEANINGFUL: Final[tuple[str, ...]] = (
    "status",
    "path",
    "latency",
    "time",
    "user_agent",
    "bytes",
    "host",
)

#: Presets whose lines may carry more fields (``extras``) that detection looks at: a bare
#: trailing number after them may be ``%D`` (us), ``%T`` (s) or ``%O`` (bytes).
_EXTRA_CHECKED: Final[tuple[str, ...]] = ("common", "combined")


@dataclass(frozen=True)
class Detection:
    """The format chosen for one file.

    Attributes
    ----------
    format
        The format it is read with.
    extra
        "" ; ``"fields"`` when most of its lines carry fields after the format's last one
        (``common``/``combined`` ignore them), ``"number"`` when that is one bare number (a
        latency or a size: never guessed).
    closest
        When no preset parses a sample line: the two presets whose patterns match the most
        sample lines (their values may still not convert), as ``(name, percent)``.
    """

    format: LogFormat
    extra: str = ""
    closest: tuple[tuple[str, int], ...] = ()

    @property
    def extra_fields(self) -> bool:
        return bool(self.extra)

    @property
    def unknown(self) -> bool:
        """No preset parses any of the sample's lines."""
        return bool(self.closest)


def no_match_error(closest: Sequence[tuple[str, int]], shown: str) -> str:
    """The failure of a file that no preset parses (``shown``: its first line, quoted), naming
    the presets whose patterns match the most sample lines, or saying that none matches any.

    >>> no_match_error([("combined", 40), ("common", 0)], "'x'")
    "no known log format matches; first line: 'x'; closest: combined (40% of sample lines), \
common (0%); pass --log-format with the server's own format string"
    >>> no_match_error([("default", 0), ("combined", 0)], "'x'").split("; ")[2]
    'no preset matches any sample line'
    """
    if not closest or closest[0][1] == 0:
        names = "no preset matches any sample line"
    else:
        names = "closest: " + ", ".join(
            f"{name} ({share}%{' of sample lines' if i == 0 else ''})"
            for i, (name, share) in enumerate(closest)
        )
    return (
        f"no known log format matches; first line: {shown}; {names}; "
        "pass --log-format with the server's own format string"
    )


def candidates() -> list[LogFormat]:
    """Every preset, in detection tie-break order."""
    return [preset(name) for name in DETECTION_ORDER]


def detect_formats(paths: Sequence[str]) -> list[Detection]:
    """The detected format of each file, in the order given."""
    if len(paths) <= 1:
        return detect_samples([_head(path) for path in paths])
    with ThreadPoolExecutor(DETECT_THREADS) as pool:
        samples = list(pool.map(_head, paths))
    return detect_samples(samples)


def detect_samples(samples: Sequence[str]) -> list[Detection]:
    """:func:`detect_sample` of each sample (the first lines of a file, :func:`head_lines` or
    :func:`head_of_text`), judged in batches of about :data:`BATCH_BYTES`."""
    tried = candidates()
    detections: list[Detection] = []
    batch: list[str] = []
    size = 0
    for sample in samples:
        batch.append(sample)
        size += len(sample)
        if size >= BATCH_BYTES:
            detections.extend(_detect_batch(batch, tried))
            batch, size = [], 0
    detections.extend(_detect_batch(batch, tried))
    return detections


def detect_format(path: str, tried: Sequence[LogFormat] | None = None) -> Detection:
    """The detection of one file, judged alone."""
    return detect_sample(_head(path), tried)


def detect_sample(sample: str, tried: Sequence[LogFormat] | None = None) -> Detection:
    """The detection of one sample (standard input is read once, by the job)."""
    return _detect_batch([sample], candidates() if tried is None else tried)[0]


def _detect_batch(
    samples: Sequence[str], tried: Sequence[LogFormat], *, unwrapping: bool = True
) -> list[Detection]:
    """The detection of each sample, with one parse per candidate that may win for the batch
    (one sample at a time when the joined parse cannot attribute lines)."""
    if not samples:
        return []
    lines = SampleLines(samples)
    found = _table(samples, lines, tried)
    if found is None:
        return [_detect_batch([one], tried, unwrapping=unwrapping)[0] for one in samples]
    parsed, fields, matched = found
    rank = np.arange(len(tried) - 1, -1, -1)[:, None]  # earlier rows win what remains tied
    best = np.argmax(parsed * 10**9 + fields * 10**3 + rank, axis=0)
    score = parsed[best, np.arange(len(samples))]
    extra = _extras(samples, lines, tried, best, score)
    wrappers = _wrappers(lines) if unwrapping else [""] * len(samples)
    out = []
    for j, sample in enumerate(samples):
        plain = Detection(tried[best[j]], extra[j])
        if wrappers[j]:
            plain = _wrapped(sample, wrappers[j], plain, int(score[j]), tried)
        if lines.sample_lines[j] and score[j] == 0 and not plain.format.wrapper:
            order = sorted(range(len(tried)), key=lambda i: (-matched[i, j], i))[:2]
            total = int(lines.sample_lines[j])
            share = tuple((tried[i].name, round(100 * matched[i, j] / total)) for i in order)
            plain = Detection(tried[0], closest=share)
        out.append(plain)
    return out


Table = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]


def _table(samples: Sequence[str], lines: SampleLines, tried: Sequence[LogFormat]) -> Table | None:
    """Per candidate (rows) and sample (columns): sample lines parsed, meaningful fields filled,
    and lines its pattern matches. A candidate whose cheap test matches no line is not parsed.
    None when a joined parse cannot attribute its lines (a lone sample: that candidate scores 0).
    """
    shape = (len(tried), len(samples))
    parsed, fields, matched = np.zeros(shape, np.int64), np.zeros(shape, np.int64), []
    for index, fmt in enumerate(tried):
        may = lines.per_sample(may_parse(fmt, lines.lines))
        matched.append(may)
        if not may.any():
            continue
        scored = sample_scores(samples, fmt, lines.sample_lines)
        if scored is None and len(samples) > 1:
            return None
        if scored is not None:
            parsed[index], fields[index] = scored
        if fmt.kind not in ("regex", "default"):  # its cheap test is no measure of closeness
            matched[-1] = parsed[index]
    return parsed, fields, np.array(matched, dtype=np.int64).reshape(shape)


def _extras(
    samples: Sequence[str],
    lines: SampleLines,
    tried: Sequence[LogFormat],
    best: np.ndarray[Any, Any],
    score: np.ndarray[Any, Any],
) -> list[str]:
    """Per sample: whether most lines read as ``common``/``combined`` carry more fields,
    ``"number"`` when that is one bare number, ``"fields"`` otherwise, "" when they do not (one
    parse of the batch per pattern and chosen preset)."""
    out = [""] * len(samples)
    for index in sorted(set(best.tolist())):
        fmt = tried[index]
        chosen = (best == index) & (score > 0)
        if fmt.name not in _EXTRA_CHECKED or not chosen.any():
            continue
        base = fmt.pattern.removesuffix("(?: .*)?$")
        exact = sample_scores(samples, replace(fmt, pattern=base + "$"), lines.sample_lines)
        number = sample_scores(samples, replace(fmt, pattern=base + _NUMBER), lines.sample_lines)
        for j in np.flatnonzero(chosen).tolist():
            if (exact is None or number is None) and len(samples) > 1:  # judge it alone
                one = [samples[j]]
                out[j] = _extras(one, SampleLines(one), tried, best[j : j + 1], score[j : j + 1])[0]
            elif exact is not None and number is not None and exact[0][j] * 2 < score[j]:
                out[j] = "number" if number[0][j] * 2 >= score[j] else "fields"
    return out


#: A bare trailing number after the format's last field (``%D``, ``%T`` or ``%O``).
_NUMBER: Final[str] = r" [0-9]+(?:\.[0-9]+)?$"


def _wrappers(lines: SampleLines) -> list[str]:
    """The container wrapper most sample lines of each sample carry ("" for none)."""
    found = [""] * lines.samples
    for name, mark in WRAPPER_MARKS:
        marked = lines.per_sample(_bool(pc.match_substring_regex(lines.lines, pattern=mark)))
        for j in np.flatnonzero(2 * marked > lines.sample_lines):
            found[j] = found[j] or name
    return found


def _wrapped(
    sample: str, wrapper: str, plain: Detection, score: int, tried: Sequence[LogFormat]
) -> Detection:
    """The format inside ``wrapper`` when it parses more sample lines than ``plain`` does
    (``score``), else ``plain``."""
    lines = pc.utf8_trim(
        pa.array([line for line in sample.split("\n") if line.strip()], pa.large_string()),
        characters=PY_WHITESPACE,
    )
    inner, _ = unwrap(lines, wrapper)
    text = "\n".join(str(line) for line in inner.to_pylist())
    found = _detect_batch([text], tried, unwrapping=False)[0]
    if found.unknown or len(parse_text(text, found.format).frame) <= score:
        return plain
    return Detection(wrapped(found.format, wrapper), found.extra)


def _head(path: str) -> str:
    """The sample of ``path`` (decompressed), or "" if unreadable or not a regular file (a FIFO
    can be read only once: its task reads it)."""
    if is_special_file(path):
        return ""
    try:
        with fsspec.open(path, "rb", compression=compression_of(path)) as handle:
            data = handle.read(SAMPLE_BYTES)
    except Exception:  # any failure: the block task reads the file again and reports it
        return ""
    return head_lines(data, cut=len(data) == SAMPLE_BYTES)


def head_lines(data: bytes, *, cut: bool) -> str:
    """The sample in ``data``; ``cut``: the data may end mid-line."""
    return _first_lines(data.decode("utf-8", errors="replace"), cut=cut)


def head_of_text(text: str) -> str:
    """What :func:`_head` gives for a file whose whole decoded text is ``text``: its sample
    within its first SAMPLE_BYTES bytes.

    Bytes are counted as the UTF-8 encoding of the decoded text, so a byte that was not valid
    UTF-8 (now U+FFFD) counts 3 instead of 1: with such bytes and very long lines, a line or two
    fewer may be judged than by reading the file's start.

    >>> head_of_text("#Fields: x\\na\\n\\n b \\nc")
    '#Fields: x\\na\\n b \\nc'
    """
    start = text[:SAMPLE_BYTES]
    data = start.encode("utf-8")
    if len(data) < SAMPLE_BYTES and len(start) == len(text):
        return _first_lines(start, cut=False)
    return head_lines(data[:SAMPLE_BYTES], cut=True)


def _first_lines(text: str, *, cut: bool) -> str:
    """The non-blank lines of ``text`` up to its SAMPLE_LINES-th that does not start with
    ``#`` (the ``#`` lines among them kept: a W3C parse needs its ``#Fields:``)."""
    lines = [line for line in text.split("\n") if line.strip()]
    if cut and lines and not text.endswith("\n"):
        lines.pop()  # the last line may be cut in the middle
    kept, counted = [], 0
    for line in lines:
        if counted == SAMPLE_LINES:
            break
        kept.append(line)
        counted += not line.strip().startswith("#")
    return "\n".join(kept)


def _bool(array: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def with_detections(total: Partial, detections: Mapping[str, Detection]) -> Partial:
    """``total`` with what detection found about its files: each file report's ``extra``, and
    the failure of a file no preset parses worded by :func:`no_match_error` (not as a failure
    of ``default``, the grammar its lines were counted with)."""
    reports = [
        replace(report, extra=detections[report.path].extra)
        if report.path in detections and detections[report.path].extra != report.extra
        else report
        for report in total.file_reports
    ]
    failed = []
    for failure in total.failed:
        found = detections.get(failure.path)
        head, mark, shown = failure.error.partition(_FIRST_LINE)
        if found is not None and found.unknown and mark and head.startswith(_NO_LINE):
            failure = replace(failure, error=no_match_error(found.closest, shown))
        failed.append(failure)
    return replace(total, file_reports=reports, failed=failed)


#: How :func:`pipeline.ingest.aggregate.partial.merge_file` words a file in which no line
#: matches its format (the part before, and the mark of, its first line).
_NO_LINE: Final[str] = "no line matches log format "
_FIRST_LINE: Final[str] = "; first line: "
