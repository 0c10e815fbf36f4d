"""Inputs named by URL (``s3://bucket/prefix/``, ``s3://bucket/**/*.log.gz``, any fsspec URL).

A URL is listed here, in the client; its objects are read by the tasks
(:mod:`pipeline.ingest.read`), in ``distributed`` mode by the workers themselves, which need
the same file system package (s3fs for ``s3://``) and credentials. A prefix (a URL that names a
"directory") is walked like a local directory: every object below it, skipping names that start
with ``.``; a URL with ``*``, ``?`` or ``[`` is a glob pattern (``**`` crosses ``/``).

Object stores fail in their own words (botocore's exceptions for S3, which are not
``OSError``). What a user can fix becomes one :class:`~pipeline.errors.InputError` line saying
what to set: s3fs missing (the ``s3`` extra), no credentials, an endpoint that cannot be
reached, a bucket that does not exist, a pattern that matches no object. A read that fails in
a task is a failed input like a local file (:func:`read_errors` lets the reader catch them).

>>> bucket_of("s3://logs/alb/2026/")
'logs'
"""

from __future__ import annotations

import sys
import zipfile
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import fsspec

from pipeline.errors import InputError

#: The command that installs what ``s3://`` needs (s3fs), named by every error about it.
S3_EXTRA: Final[str] = "pip install 'mini-orchestrator[s3]'"

_GLOB_CHARS: Final[frozenset[str]] = frozenset("*?[")


def bucket_of(url: str) -> str:
    """The first component after the protocol: an object store's bucket."""
    return url.split("://", 1)[-1].split("/", 1)[0]


#: An object's size and modification time (ns) as its listing gave them; None where unknown.
Stat = tuple[int | None, int | None]


def list_url(url: str) -> dict[str, Stat]:
    """Every object ``url`` names (full URLs, sorted) with its :data:`Stat` from the listing;
    raises InputError when there is none or the store cannot be listed.

    The listing's sizes spare the planner one call per object (about 1 ms each through fsspec's
    event loop: 10 s for 10,000 ALB objects). The file system's cached listings are dropped
    first (fsspec keeps one instance per protocol and options, s3fs caches listings in it), so a
    second run in the same process sees the objects written since the first.
    """
    try:
        fs, stripped = fsspec.core.url_to_fs(url)
        fs.invalidate_cache()
        if fs.isdir(stripped):
            found = {
                name: info
                for name, info in fs.find(stripped, detail=True).items()
                if not any(part.startswith(".") for part in name[len(stripped) :].split("/"))
            }
        elif _GLOB_CHARS & set(stripped):
            found = fs.glob(stripped, detail=True)
        else:
            found = {stripped: fs.info(stripped)} if fs.exists(stripped) else {}
        found = {name: info for name, info in found.items() if info.get("type") != "directory"}
        if not found and _is_bucket_store(fs) and not fs.exists(bucket_of(stripped)):
            raise InputError(f"no such bucket: {bucket_of(url)!r} ({url})")
    except zipfile.BadZipFile:
        return {url: (None, None)}  # one input that fails in its task (exit 3), like a bad gzip
    except InputError:
        raise
    except Exception as exc:  # the store's own errors, translated or named in one line
        raise listing_error(url, exc) from exc
    if not found:
        raise InputError(f"no such file or no files match: {url}")
    return {fs.unstrip_protocol(name): stat_of(found[name]) for name in sorted(found)}


def stat_of(details: dict[str, Any]) -> Stat:
    """Size and modification time (ns) from an fsspec ``info`` record, under the names fsspec
    file systems give them (local and sftp ``mtime``, s3 ``LastModified``, memory ``created``).

    >>> from datetime import datetime, timezone
    >>> stat_of({"size": 3, "LastModified": datetime(2026, 1, 1, tzinfo=timezone.utc)})
    (3, 1767225600000000000)
    """
    size = details.get("size")
    modified = next(
        (details[name] for name in ("mtime", "LastModified", "created") if name in details), None
    )
    if isinstance(modified, datetime):
        mtime_ns: int | None = int(modified.timestamp() * 1e9)
    elif isinstance(modified, int | float) and not isinstance(modified, bool):
        mtime_ns = int(modified * 1e9)
    else:
        mtime_ns = None
    return (int(size) if isinstance(size, int | float) else None), mtime_ns


def _is_bucket_store(fs: Any) -> bool:
    """Whether the file system's first path component is a bucket (S3, GCS, Azure)."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return bool({"s3", "s3a", "gs", "gcs", "az", "abfs"} & set(protocols))


def listing_error(url: str, exc: Exception) -> InputError:
    """The one line for a URL that cannot be listed, saying what to set where we know it."""
    name = type(exc).__name__
    if isinstance(exc, ImportError) and url.startswith(("s3://", "s3a://")):
        return InputError(f"s3:// paths need s3fs, which is not installed: {S3_EXTRA}")
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return InputError(
            f"no AWS credentials found for {url}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile in ~/.aws/credentials)"
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        endpoint = _endpoint(exc)
        return InputError(
            f"cannot reach the S3 endpoint {endpoint} for {url}: set AWS_ENDPOINT_URL to the "
            "endpoint of an S3-compatible store (MinIO, moto), or unset it for AWS"
        )
    text = str(exc).splitlines()[0] if str(exc) else name
    return InputError(f"cannot list {url}: {text}")


def _endpoint(exc: Exception) -> str:
    """``scheme://host:port`` of the URL a botocore connection error names (else "?")."""
    kwargs = getattr(exc, "kwargs", None)
    full = kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None
    if not isinstance(full, str):
        return "?"
    parts = urlsplit(full)
    return f"{parts.scheme}://{parts.netloc}"


def read_errors(*others: type[BaseException]) -> tuple[type[BaseException], ...]:
    """``others`` and the object stores' own exceptions that a read may raise besides
    ``OSError``: botocore's, when it is loaded (a read that did not load it cannot have raised
    them). Called in the ``except`` clause, so it is evaluated once the error is raised.

    >>> read_errors(OSError)[0]
    <class 'OSError'>
    """
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return others
    return (*others, exceptions.BotoCoreError, exceptions.ClientError)
