"""Many small files in one task: read each, parse and aggregate them together.

Parsing and aggregating cost a few milliseconds per call whatever the size of the input (pyarrow
and pandas set-up), so 10,000 one-line files handled one by one cost tens of seconds even in one
task. :func:`files_partial` reads the files of a group
(:func:`~pipeline.ingest.inputs.files.plan_tasks`) one by one, so a file that cannot be read fails
alone, then parses the texts of the files that share a log format in one call
(:mod:`pipeline.ingest.parsing.joined`) and aggregates them once. Every file still gets its own
line counts, its own ``--malformed-out`` records, its own "no line matches" failure, and counts
once in ``files``.

With ``--log-format auto``, the format of each uncompressed file of a group is detected here,
from the text the task has just read (the same rules as in the client,
:mod:`pipeline.ingest.detect`), so a small file is opened once, not once to detect and once
to read.

Compressed files (whose text may be much larger than their size on disk; streamed, with their
format detected in the client), runs with filters (which count filtered lines per file: one parse
per file, of the text already read), and any group where the boundary lines do not all come back
as expected take the plain path: one parse and one aggregation per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipeline.engine.memory import releasing_memory
from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.partial import (
    MALFORMED_SAMPLES,
    FileReport,
    MalformedSample,
    Partial,
    aggregate_partition,
    merge_file,
    merge_partials,
    sample,
)
from pipeline.ingest.aggregate.windows import Request
from pipeline.ingest.detect import Detection, detect_samples, head_of_text, with_detections
from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.inputs.files import Block
from pipeline.ingest.inputs.stream import Overlong
from pipeline.ingest.parsing.joined import malformed_per_text, parsed_counts
from pipeline.ingest.parsing.parse import DEFAULT_FORMAT, parse_text
from pipeline.ingest.read import (
    READ_ERRORS,
    block_partial,
    block_texts,
    describe_error,
)
from pipeline.reporting.display import escape_text
from pipeline.reporting.text import FailedInput

#: ``--field`` overrides, ``(canonical, key, unit)``, applied to files detected as JSON lines.
JsonFields = tuple[tuple[str, str, str | None], ...]


@releasing_memory
def files_partial(
    blocks: Sequence[Block],
    keep_malformed: bool = False,
    formats: Sequence[LogFormat | None] | None = None,
    filters: Filters | None = None,
    raw_paths: bool = False,
    json_fields: JsonFields = (),
    refine: Request | None = None,
) -> Partial:
    """Several whole files read by one task: each still counts, and fails, on its own.

    ``formats`` gives each file's log format (default: the default grammar for all); None for a
    file means "detect it here" (``--log-format auto``), from the text this task reads anyway
    (:func:`~pipeline.ingest.detect.head_of_text`, same rules as in the client); a file
    detected as JSON lines gets ``json_fields``. ``filters``, ``raw_paths`` and ``refine`` as
    in :func:`~pipeline.ingest.read.block_partial`.
    """
    fmts: list[LogFormat | None] = (
        list(formats) if formats is not None else [DEFAULT_FORMAT] * len(blocks)
    )
    filtering = filters is not None and filters.active
    # compressed files with a known format are streamed by block_partial; others are read whole
    texts = [
        _read(block) if block.compression is None or fmt is None else None
        for block, fmt in zip(blocks, fmts, strict=True)
    ]
    detected = _detect_missing(fmts, texts, json_fields)
    parts: list[Partial] = []
    run: list[tuple[Block, str]] = []  # consecutive readable files, one format
    run_format = DEFAULT_FORMAT

    def flush() -> None:
        if run:
            together = _together(run, run_format, keep_malformed, raw_paths, filters, refine)
            if together is None:
                runs = [block for block, _ in run]
                fmts = [run_format] * len(run)
                together = _one_by_one(runs, fmts, keep_malformed, filters, raw_paths, refine)
            parts.append(together)
            run.clear()

    for block, fmt, read in zip(blocks, fmts, texts, strict=True):  # input order throughout
        assert fmt is not None  # _detect_missing filled in every readable file's format
        if isinstance(read, FailedInput):
            flush()
            parts.append(Partial(files=1, failed=[read]))
            continue
        if read is None or read[1]:
            # compressed (streamed), or a file with overlong lines, which the read text lacks:
            # block_partial reads it again and puts those lines where they were (rare)
            flush()
            parts.append(_one_by_one([block], [fmt], keep_malformed, filters, raw_paths, refine))
            continue
        if filtering:
            flush()
            parts.append(
                _text_partial(block, read[0], fmt, keep_malformed, filters, raw_paths, refine)
            )
            continue
        if run and fmt != run_format:
            flush()
        run_format = fmt
        run.append((block, read[0]))
    flush()
    total = merge_partials(parts) if parts else Partial()
    if detected:
        found = {block.path: detected[i] for i, block in enumerate(blocks) if i in detected}
        total = with_detections(total, found)
    return total


def _read(block: Block) -> tuple[str, list[Overlong]] | FailedInput:
    """The whole decoded text of a file (and its skipped overlong lines), or why it failed."""
    overlong: list[Overlong] = []
    try:
        return "".join(block_texts(block, overlong)), overlong
    except READ_ERRORS as exc:
        return FailedInput(block.path, describe_error(exc))


def _detect_missing(
    fmts: list[LogFormat | None],
    texts: Sequence[tuple[str, list[Overlong]] | FailedInput | None],
    json_fields: JsonFields,
) -> dict[int, Detection]:
    """Fill in the formats left None from the files' texts (in place); the detections, by
    index of the file."""
    missing = [i for i, fmt in enumerate(fmts) if fmt is None]
    samples = []
    for i in missing:
        read = texts[i]
        samples.append(head_of_text(read[0]) if isinstance(read, tuple) else "")
    found = dict(zip(missing, detect_samples(samples), strict=True))
    for i, detection in found.items():
        fmt = detection.format
        fmts[i] = replace(fmt, json_fields=json_fields) if fmt.keyed else fmt
    return found


def _text_partial(
    block: Block,
    text: str,
    fmt: LogFormat,
    keep_malformed: bool,
    filters: Filters | None,
    raw_paths: bool,
    refine: Request | None = None,
) -> Partial:
    """One file's partial from its text already read (as :func:`block_partial` would give)."""
    part = aggregate_partition(
        parse_text(text, fmt),
        escape_text(block.path),
        keep_malformed=keep_malformed,
        filters=filters,
        raw_paths=raw_paths,
        refine=refine,
    )
    return merge_file([part], block.path, fmt.name)


def _one_by_one(
    blocks: Sequence[Block],
    fmts: Sequence[LogFormat],
    keep_malformed: bool,
    filters: Filters | None = None,
    raw_paths: bool = False,
    refine: Request | None = None,
) -> Partial:
    return merge_partials(
        [
            merge_file(
                [block_partial(b, keep_malformed, fmt, filters, raw_paths, refine)],
                b.path,
                fmt.name,
            )
            for b, fmt in zip(blocks, fmts, strict=True)
        ]
    )


def _together(
    files: Sequence[tuple[Block, str]],
    fmt: LogFormat,
    keep_malformed: bool,
    raw_paths: bool,
    filters: Filters | None = None,
    refine: Request | None = None,
) -> Partial | None:
    """One parse and one aggregation for all ``files`` (same format); None if the boundary
    lines did not all come back as malformed lines. ``filters`` filter no line here (files
    with active filters are read one by one): only their ``anonymize_ip`` applies."""
    if fmt.kind == "w3c":  # each file starts with no directive in force: not one text
        return None
    found = parsed_counts([text for _, text in files], fmt)
    if found is None:
        return None
    counts, parsed = found
    per_file = malformed_per_text(parsed, len(files))
    total = aggregate_partition(parsed, "", filters=filters, raw_paths=raw_paths, refine=refine)
    anonymize = filters is not None and filters.anonymize_ip
    reports: list[FileReport] = []
    failed: list[FailedInput] = []
    samples: list[MalformedSample] = []
    records: list[str] = []
    for (block, _), bad, good in zip(files, per_file, counts, strict=True):
        source = escape_text(block.path)
        kept = 0 if anonymize else MALFORMED_SAMPLES - len(samples)
        quoted = [sample(line, text) for line, text in bad[:kept]]
        samples.extend(replace(one, file=block.path) for one in quoted)
        if keep_malformed:
            records.extend(f"{source}\t{text}" for _, text in bad)
        first = bad[0][1] if bad and not anonymize else None
        if good == 0 and bad:  # "no line matches": merge_file words it (rare: its cost is fine)
            stub = Partial(
                malformed=len(bad), malformed_samples=[] if anonymize else [sample(*bad[0])]
            )
            failed.extend(merge_file([stub], block.path, fmt.name).failed)
        reports.append(FileReport(block.path, fmt.name, good, len(bad), 0, first))
    return replace(
        total,
        files=len(files),
        malformed=total.malformed - (len(files) - 1),
        malformed_samples=samples,
        lines_seen=0,
        malformed_lines=records,
        failed=failed,
        file_reports=reports,
    )
