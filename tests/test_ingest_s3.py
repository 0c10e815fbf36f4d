"""Logs in S3 (issue 23, "Object storage"): ``--path s3://...`` against a real S3 API.

moto's server runs on 127.0.0.1 in this process (threads), on a free port, for the whole module;
the tests talk to it over HTTP through s3fs exactly as they would to AWS, with dummy credentials
and ``AWS_ENDPOINT_URL`` in the environment (which process and distributed workers inherit). The
objects are uploaded with boto3, not with the s3fs code under test. The oracle of every figure
is the same files read from disk: the JSON reports must be equal but for the execution facts
and the inputs' names (``s3://logs/...`` against the local folder).
"""

from __future__ import annotations

import functools
import gzip
import importlib
import json
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import fsspec
import pytest
from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from pipeline.cli import cli
from pipeline.ingest import detect, read
from pipeline.ingest.inputs import files
from pipeline.ingest.inputs.files import Block, list_inputs, plan_tasks
from pipeline.loggen.generate import generate_logs

BUCKET = "logs"
MIB = 2**20
#: The smallest --blocksize; the big object is over twice as large, so it makes 3 blocks.
BLOCKSIZE = 4 * MIB
GOOD_LINE = b"[GET] /x, status=200, time=5ms user-agent=curl/8\n"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's S3 API on 127.0.0.1, on a free port, for this module; stopped after."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Dummy credentials and the endpoint in the environment (inherited by every process the
    test starts), nothing from the user's own AWS configuration, and no s3fs instance cached by
    an earlier test with other settings (fsspec caches file systems by their arguments, which
    do not include the environment)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no 1 s probe of 169.254.169.254
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    fsspec.filesystem("s3").clear_instance_cache()
    return endpoint


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def gzipped_logs(folder: Path) -> None:
    """Gzipped access logs to upload: generated ``combined`` (no latency) and ``json`` (with
    latency) files, some lines malformed, plus :func:`add_alb_samples`."""
    generate_logs(
        folder / "web", lines=3000, files=3, gzip=True, log_format="combined", malformed_rate=0.01
    )
    generate_logs(folder / "api", lines=2000, files=2, gzip=True, log_format="json", seed=1)
    add_alb_samples(folder / "alb")


#: Genuine AWS ALB logs to upload beside the generated ones, each gzipped as ALB writes its
#: objects to S3. Empty until the ``alb`` preset exists (issue 23, "Presets"); then:
#: ``tuple(sorted((REPO_ROOT / "tests/data/formats/alb").glob("*.log")))``. No count below
#: needs changing: they are taken from the local tree.
ALB_SAMPLES: tuple[Path, ...] = ()


def add_alb_samples(folder: Path, samples: Sequence[Path] = ALB_SAMPLES) -> None:
    """Gzip each of ``samples`` into ``folder`` (``<name>.gz``), as ALB stores its logs."""
    for sample in samples:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{sample.name}.gz").write_bytes(gzip.compress(sample.read_bytes()))


def plain_logs(folder: Path) -> None:
    """Uncompressed objects: one over 8 MiB (split into blocks), a small one in a sub-prefix, and
    a hidden object that a prefix walk skips, as a directory walk does."""
    generate_logs(folder / "big.log", lines=48_000, log_format="combined", seed=2)
    generate_logs(folder / "app" / "small.log", lines=500, log_format="json", seed=3)
    (folder / ".hidden.log").write_text("not a log line\n")


@pytest.fixture(scope="module")
def uploaded(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local tree and the same tree in bucket ``logs`` under ``tree/``: ``gz/`` (gzipped, in
    date folders) and ``plain/`` (uncompressed); returns the local root."""
    root = tmp_path_factory.mktemp("tree")
    gzipped_logs(root / "gz" / "2026" / "11" / "27")
    plain_logs(root / "plain")
    assert (root / "plain" / "big.log").stat().st_size > 2 * BLOCKSIZE
    client = _client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"tree/{path.relative_to(root).as_posix()}")
    return root


def _invoke(path: str, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    """The CLI in this process with a JSON report: exit code, parsed report (None if none)."""
    result = CliRunner().invoke(cli, ["ingest", "--path", path, "--format", "json", *args])
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, report, result.stderr


def _files(folder: Path) -> int:
    """How many files are below ``folder`` (none of them hidden)."""
    return sum(1 for path in folder.rglob("*") if path.is_file())


def _complaints(stderr: str) -> list[str]:
    """The lines of stderr above INFO (warnings and errors)."""
    return [line for line in stderr.splitlines() if not line.startswith("INFO ")]


def _comparable(report: dict[str, Any] | None, root: str) -> dict[str, Any]:
    """The report without its execution facts, every input's name made relative to ``root``.

    The ``hosts`` panel is left out: the genuine samples have more distinct clients than a
    partial keeps (``limits.CLIENTS``), so its counts are bounds whose width depends on how the
    partials were merged (flagged, docs/report.md); modes are compared on it in
    tests/test_ingest_panels.py, on inputs within the caps."""
    assert report is not None
    kept = {key: value for key, value in report.items() if key not in ("execution", "hosts")}
    for section in ("exact", "error_bounds"):
        kept[section] = {k: v for k, v in kept[section].items() if k != "hosts"}
    text = json.dumps(kept)
    return dict(json.loads(text.replace(json.dumps(root)[1:-1], "<root>")))


@pytest.fixture(scope="module")
def from_disk(uploaded: Path) -> Callable[[str], dict[str, Any]]:
    """The oracle: the report of a local folder of the tree (threading mode), computed once."""

    @functools.cache
    def report_of(folder: str) -> dict[str, Any]:
        code, report, _ = _invoke(str(uploaded / folder), "--mode", "threading")
        assert code == 0
        return _comparable(report, str(uploaded / folder).rstrip("/"))

    return report_of


GZ_PATTERN = f"s3://{BUCKET}/tree/gz/**/*.log.gz"


@pytest.mark.parametrize(
    "mode", ["threading", pytest.param("process", marks=pytest.mark.subprocess)]
)
def test_gzipped_objects_give_the_report_of_the_same_files_on_disk(
    s3_env: str, uploaded: Path, from_disk: Callable[[str], dict[str, Any]], mode: str
) -> None:
    code, report, _ = _invoke(GZ_PATTERN, "--mode", mode, "--workers", "2")
    assert code == 0
    assert report is not None and report["inputs"]["files"] == _files(uploaded / "gz")
    assert report["lines"]["malformed"] > 0 and report["latency_ms"]["count"] > 0
    assert _comparable(report, f"s3://{BUCKET}/tree/gz") == from_disk("gz")


@pytest.mark.parametrize(
    "mode", ["threading", pytest.param("process", marks=pytest.mark.subprocess)]
)
def test_a_prefix_of_uncompressed_objects_is_walked_and_split_into_blocks(
    s3_env: str, from_disk: Callable[[str], dict[str, Any]], mode: str
) -> None:
    code, report, stderr = _invoke(
        f"s3://{BUCKET}/tree/plain/", "--mode", mode, "--workers", "2", "--blocksize", "4MiB"
    )
    assert code == 0 and not _complaints(stderr)
    assert report is not None and report["inputs"]["files"] == 2  # .hidden.log skipped
    assert _comparable(report, f"s3://{BUCKET}/tree/plain") == from_disk("plain")


def test_a_big_object_is_planned_as_byte_ranges_like_a_local_file(
    s3_env: str, uploaded: Path
) -> None:
    files = list_inputs(f"s3://{BUCKET}/tree/plain").files
    assert files == [f"s3://{BUCKET}/tree/plain/app/small.log", f"s3://{BUCKET}/tree/plain/big.log"]
    size = (uploaded / "plain" / "big.log").stat().st_size
    small = (uploaded / "plain" / "app" / "small.log").stat().st_size
    tasks = plan_tasks(files, BLOCKSIZE)
    ranges = [[(b.path, b.offset, b.length, b.size) for b in task] for task in tasks]
    big = f"s3://{BUCKET}/tree/plain/big.log"
    assert ranges == [
        [(files[0], 0, None, small)],
        *([(big, offset, min(BLOCKSIZE, size - offset), size)] for offset in (0, 4 * MIB, 8 * MIB)),
    ]


def test_planning_takes_sizes_from_the_listing_not_a_request_per_object(
    s3_env: str, uploaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """About 1 ms per object through fsspec's event loop: 10 s for 10,000 ALB objects."""
    asked: list[str] = []
    original = files._stat

    def stat(path: str) -> tuple[int | None, int | None, tuple[int, int] | None]:
        asked.append(path)
        return original(path)

    monkeypatch.setattr(files, "_stat", stat)
    code, report, _ = _invoke(GZ_PATTERN, "--mode", "sync")
    assert code == 0 and report is not None and report["inputs"]["files"] == _files(uploaded / "gz")
    assert asked == []
    listing = list_inputs(f"s3://{BUCKET}/tree/plain/")
    monkeypatch.setattr(files, "_stat", original)
    assert plan_tasks(listing.files, BLOCKSIZE, listing.stats) == plan_tasks(
        listing.files, BLOCKSIZE
    )


@pytest.mark.subprocess
def test_distributed_workers_read_the_objects_and_the_client_only_lists(
    s3_env: str,
    uploaded: Path,
    from_disk: Callable[[str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The client's own readers record any call; the workers (other processes) import theirs."""
    expected = from_disk("")  # the whole tree: gzipped objects and split ones, one cluster
    client_reads: list[str] = []
    original_head, original_bytes = detect._head, read._block_bytes

    def head(path: str) -> str:
        client_reads.append(path)
        return original_head(path)

    def block_bytes(block: Block, overlong: Any) -> Iterator[bytes]:
        client_reads.append(block.path)
        return original_bytes(block, overlong)

    monkeypatch.setattr(detect, "_head", head)
    monkeypatch.setattr(read, "_block_bytes", block_bytes)
    code, report, _ = _invoke(
        f"s3://{BUCKET}/tree/",
        *("--mode", "distributed", "--workers", "2", "--blocksize", "4MiB"),
        *("--dashboard-address", "127.0.0.1:0"),
    )
    assert code == 0
    assert _comparable(report, f"s3://{BUCKET}/tree") == expected
    assert client_reads == []


# --- what cannot be read ---------------------------------------------------------------------


def test_a_bucket_that_does_not_exist_is_one_line(s3_env: str) -> None:
    code, report, stderr = _invoke("s3://no-such-bucket/alb/", "--mode", "sync")
    assert (code, report) == (2, None)
    assert stderr == "Error: no such bucket: 'no-such-bucket' (s3://no-such-bucket/alb/)\n"


def test_a_pattern_that_matches_no_object_is_one_line(s3_env: str, uploaded: Path) -> None:
    code, report, stderr = _invoke(f"s3://{BUCKET}/tree/gz/**/*.log.bz2", "--mode", "sync")
    assert (code, report) == (2, None)
    assert stderr == f"Error: no such file or no files match: s3://{BUCKET}/tree/gz/**/*.log.bz2\n"


def test_a_corrupt_object_is_a_failed_input(s3_env: str, uploaded: Path) -> None:
    good = (uploaded / "gz" / "2026" / "11" / "27" / "web" / "part-00000.log.gz").read_bytes()
    client = _client(s3_env)
    client.put_object(Bucket=BUCKET, Key="corrupt/a.log.gz", Body=good)
    client.put_object(Bucket=BUCKET, Key="corrupt/b.log.gz", Body=b"not gzip at all\n")
    code, report, _ = _invoke(f"s3://{BUCKET}/corrupt/", "--mode", "threading")
    assert code == 3
    assert report is not None
    assert report["inputs"]["failed"] == [
        {
            "path": f"s3://{BUCKET}/corrupt/b.log.gz",
            "error": "BadGzipFile: Not a gzipped file (b'no')",
        }
    ]
    expected_lines = len(gzip.decompress(good).splitlines())
    assert report["inputs"]["files"] == 2 and report["lines"]["total"] == expected_lines


def test_an_object_deleted_after_listing_is_a_failed_input(
    s3_env: str, uploaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(s3_env)
    for name in ("a.log", "b.log"):
        client.put_object(Bucket=BUCKET, Key=f"gone/{name}", Body=GOOD_LINE)
    original = read.block_bytes

    def delete_then_read(block: Block, overlong: Any = None) -> Iterator[bytes]:
        if block.path.endswith("/b.log"):
            client.delete_object(Bucket=BUCKET, Key="gone/b.log")
        return original(block, overlong)

    monkeypatch.setattr(read, "block_bytes", delete_then_read)
    code, report, _ = _invoke(f"s3://{BUCKET}/gone/", "--mode", "sync")
    assert code == 3
    assert report is not None
    assert report["inputs"]["failed"] == [
        {
            "path": f"s3://{BUCKET}/gone/b.log",
            "error": "FileNotFoundError: The specified key does not exist.",
        }
    ]
    assert report["requests"]["total"] == 1


def test_an_object_store_error_while_reading_is_a_failed_input(
    s3_env: str, uploaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's errors are not OSError: the store gone after listing fails the input."""
    client = _client(s3_env)
    for name in ("a.log", "b.log"):
        client.put_object(Bucket=BUCKET, Key=f"unreachable/{name}", Body=GOOD_LINE)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    original = read.block_bytes

    def read_from_a_dead_endpoint(block: Block, overlong: Any = None) -> Iterator[bytes]:
        if block.path.endswith("/b.log"):
            monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
            monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
            s3 = fsspec.get_filesystem_class("s3")
            monkeypatch.setattr(s3, "retries", 1)  # s3fs's own retries, 4 s of back-off
            s3.clear_instance_cache()
        return original(block, overlong)

    monkeypatch.setattr(read, "block_bytes", read_from_a_dead_endpoint)
    code, report, _ = _invoke(f"s3://{BUCKET}/unreachable/", "--mode", "sync")
    assert code == 3
    assert report is not None
    assert report["inputs"]["failed"] == [
        {
            "path": f"s3://{BUCKET}/unreachable/b.log",
            "error": "UnreadableObject: Could not connect to the endpoint URL: "
            f'"{dead}/{BUCKET}/unreachable/b.log"',
        }
    ]
    assert report["requests"]["total"] == 1


def test_a_second_listing_sees_the_objects_written_since_the_first(s3_env: str) -> None:
    """s3fs caches listings in its file system, which fsspec keeps for the whole process."""
    client = _client(s3_env)
    client.put_object(Bucket=BUCKET, Key="growing/a.log", Body=GOOD_LINE)
    assert list_inputs(f"s3://{BUCKET}/growing/").files == [f"s3://{BUCKET}/growing/a.log"]
    client.put_object(Bucket=BUCKET, Key="growing/b.log", Body=GOOD_LINE)
    assert list_inputs(f"s3://{BUCKET}/growing/").files == [
        f"s3://{BUCKET}/growing/a.log",
        f"s3://{BUCKET}/growing/b.log",
    ]


def test_no_credentials_is_one_line_saying_what_to_set(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, report, stderr = _invoke(f"s3://{BUCKET}/tree/gz/", "--mode", "sync")
    assert (code, report) == (2, None)
    assert stderr == (
        f"Error: no AWS credentials found for s3://{BUCKET}/tree/gz/: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile in ~/.aws/credentials)\n"
    )


def test_an_unreachable_endpoint_is_one_line_saying_what_to_set(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries take 5 s otherwise
    code, report, stderr = _invoke(f"s3://{BUCKET}/tree/gz/", "--mode", "sync")
    assert (code, report) == (2, None)
    assert stderr == (
        f"Error: cannot reach the S3 endpoint http://127.0.0.1:{port} for s3://{BUCKET}/tree/gz/: "
        "set AWS_ENDPOINT_URL to the endpoint of an S3-compatible store (MinIO, moto), "
        "or unset it for AWS\n"
    )


def test_missing_s3fs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if s3fs were not installed: its import fails, and fsspec has not loaded it before."""
    monkeypatch.setitem(sys.modules, "s3fs", None)
    loaded = importlib.import_module("fsspec.registry")._registry  # the classes fsspec imported
    for protocol in ("s3", "s3a"):
        monkeypatch.delitem(loaded, protocol, raising=False)
    code, report, stderr = _invoke("s3://logs/alb/", "--mode", "sync")
    assert (code, report) == (2, None)
    assert stderr == (
        "Error: s3:// paths need s3fs, which is not installed: "
        "pip install 'mini-orchestrator[s3]'\n"
    )
