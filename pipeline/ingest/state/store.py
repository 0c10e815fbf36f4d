"""The ``--state`` file: read and checked before a run, locked during it, replaced after it.

Layout (all lengths big-endian, 8 bytes)::

    MAGIC                         b"mini-orchestrator ingest state\\n"
    header length, header         JSON: state_version, schema_version, the options that change
                                  the partial, the caps, the number of runs, the cursors
    partial length, partial       pipeline.ingest.state.codec.encode_partial (no pickle)
    BLAKE2b-256 of all the above  (32 bytes)

Nothing in it runs code when loaded: JSON and the codec's arrays. A file that is not a state
file, is truncated or corrupt (its digest), is from another state or report schema version, or
was written with other options (:func:`state_options`) raises :class:`~pipeline.errors.StateError`
(exit 2, one line) and is never reset or overwritten.

Writing (:meth:`StateFile.save`) goes through a hidden temporary file in the same directory,
``fsync``-ed and renamed over the state (:func:`~pipeline.reporting.outputs.atomic_binary`), so a
run killed at any moment, SIGKILL included, leaves the previous state whole. Two runs on one
state: the second fails with "state in use" (an exclusive ``flock`` on the hidden sibling
``.NAME.lock``, held from before the state is read until it is replaced; a lock on the state
file itself would not do, as the rename gives the state a new inode).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipeline.errors import StateError
from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.partial import Partial
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.state.codec import decode_partial, encode_partial
from pipeline.ingest.state.cursors import Cursor, cursor_from_json
from pipeline.reporting.display import escape_text
from pipeline.reporting.outputs import atomic_binary
from pipeline.reporting.text import SCHEMA_VERSION

#: The first bytes of every state file.
MAGIC: Final[bytes] = b"mini-orchestrator ingest state\n"

#: Version of this layout (header keys, cursor fields); another one is refused.
STATE_VERSION: Final[int] = 2

_LENGTH: Final[int] = 8
_DIGEST: Final[int] = 32

#: What each recorded option is called on the command line (for the exit-2 message).
OPTION_FLAGS: Final[dict[str, str]] = {
    "log_format": "--log-format",
    "field": "--field",
    "since": "--since",
    "until": "--until",
    "status": "--status",
    "method": "--method",
    "path_regex": "--path-regex",
    "raw_paths": "--raw-paths",
    "anonymize_ip": "--anonymize-ip",
}

#: Recorded options newer than some states: the value a state without the key was written with.
_ADDED_OPTIONS: Final[dict[str, Any]] = {"anonymize_ip": False}


def state_options(options: IngestOptions) -> dict[str, Any]:
    """The options that change the partial, as recorded in the header (``--top`` and
    ``--bucket`` only shape the report and are not recorded). Filters are recorded as given,
    whitespace trimmed."""
    return {
        "log_format": options.log_format.strip(),
        "field": list(options.field),
        "since": options.since,
        "until": options.until,
        "status": options.status,
        "method": options.method,
        "path_regex": options.path_regex,
        "raw_paths": options.raw_paths,
        # the partial holds masked addresses and no malformed text: never merged with one
        # that holds raw ones
        "anonymize_ip": bool(options.anonymize_ip),
    }


def caps() -> dict[str, Any]:
    """The caps of :mod:`pipeline.ingest.aggregate.limits` (they change what a partial keeps)."""
    return {
        "latency": [limits.LATENCY.cap, limits.LATENCY.alpha],
        "path_latency": [limits.PATH_LATENCY.cap, limits.PATH_LATENCY.alpha],
        "timeline_latency": [limits.TIMELINE_LATENCY.cap, limits.TIMELINE_LATENCY.alpha],
        "paths": limits.PATHS,
        "error_paths": limits.ERROR_PATHS,
        "agents": limits.AGENTS,
        "timeline_slots": limits.TIMELINE_SLOTS,
        "clients": limits.CLIENTS,
        "client_latency": [limits.CLIENT_LATENCY.cap, limits.CLIENT_LATENCY.alpha],
        "vhosts": limits.VHOSTS,
        "vhost_latency": [limits.VHOST_LATENCY.cap, limits.VHOST_LATENCY.alpha],
        "referrer_sites": limits.REFERRER_SITES,
        "referrer_urls": limits.REFERRER_URLS,
        "visitors_exact": limits.VISITORS_EXACT,
        "visitor_lg_k": limits.VISITOR_LG_K,
        "bandwidth_intervals": limits.BANDWIDTH_INTERVALS,
        "panel_days": limits.PANEL_DAYS,
    }


@dataclass(frozen=True)
class Saved:
    """What a state file holds: the merged partial of every run, the cursors, the run count."""

    partial: Partial
    cursors: tuple[Cursor, ...]
    runs: int


class StateFile:
    """One ``--state`` path: locked by :meth:`lock`, read by :meth:`load`, replaced by
    :meth:`save`, unlocked by :meth:`release` (also a context manager)."""

    def __init__(self, path: str, options: IngestOptions) -> None:
        self.path = path
        self.shown = escape_text(path)
        self.options = state_options(options)
        self._lock: int | None = None

    def __enter__(self) -> StateFile:
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def locked(self) -> bool:
        return self._lock is not None

    @property
    def lock_path(self) -> str:
        directory, name = os.path.split(os.path.realpath(self.path))
        return os.path.join(directory, f".{name}.lock")

    def lock(self) -> None:
        """Take the state's lock, or raise StateError "state in use" at once."""
        try:
            descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise StateError(
                f"cannot lock --state {self.shown}: {exc.strerror or exc} ({self.lock_path})"
            ) from exc
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(descriptor)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise StateError(
                    f"--state {self.shown}: state in use by another run; "
                    "try again when it has finished"
                ) from exc
            raise StateError(f"cannot lock --state {self.shown}: {exc.strerror}") from exc
        self._lock = descriptor
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Remove the temporary files of earlier runs killed while saving (SIGKILL): with the
        lock held, no other run is writing one."""
        directory, name = os.path.split(os.path.realpath(self.path))
        for stale in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.tmp")):
            with contextlib.suppress(OSError):
                os.unlink(stale)

    def release(self) -> None:
        """Let the next run in (the lock file stays: removing it would race with a waiter)."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock)
            self._lock = None

    def load(self) -> Saved | None:
        """The saved state, None when the file does not exist yet (a first run)."""
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read --state {self.shown}: {exc.strerror or exc}") from exc
        return self._decode(data)

    def _refuse(self, why: str) -> StateError:
        return StateError(
            f"--state {self.shown} {why}; it was left as it is (move it away to start over)"
        )

    def _decode(self, data: bytes) -> Saved:
        if not data.startswith(MAGIC):
            return _raise(self._refuse("is not an ingest state file"))
        body, digest = data[:-_DIGEST], data[-_DIGEST:]
        if len(data) < len(MAGIC) + 2 * _LENGTH + _DIGEST or _digest(body) != digest:
            return _raise(self._refuse("is truncated or corrupt (its checksum does not match)"))
        position = len(MAGIC)
        header_bytes, position = _chunk(body, position)
        partial_bytes, position = _chunk(body, position)
        if header_bytes is None or partial_bytes is None or position != len(body):
            return _raise(self._refuse("is truncated or corrupt (bad section lengths)"))
        try:
            header = json.loads(header_bytes.decode("utf-8"))
            if not isinstance(header, dict):
                raise TypeError("the header is not an object")
        except (UnicodeError, ValueError, TypeError) as exc:
            raise self._refuse(f"is corrupt (header: {exc})") from exc
        self._check_header(header)
        try:
            cursors = tuple(cursor_from_json(item) for item in header["cursors"])
            runs = header["runs"]
            if not isinstance(runs, int):
                raise TypeError("runs")
        except (KeyError, TypeError) as exc:
            raise self._refuse(f"is corrupt (header: {exc})") from exc
        except StateError as exc:
            raise self._refuse(f"is corrupt ({exc})") from exc
        try:
            partial = decode_partial(partial_bytes)
        except StateError as exc:
            raise self._refuse(f"is corrupt (partial: {exc})") from exc
        return Saved(partial, cursors, runs)

    def _check_header(self, header: Mapping[str, Any]) -> None:
        """Refuse another layout, another report schema, other caps or other options."""
        if header.get("state_version") != STATE_VERSION:
            raise self._refuse(
                f"has state format version {header.get('state_version')!r}; this version "
                f"reads {STATE_VERSION}"
            )
        if header.get("schema_version") != SCHEMA_VERSION:
            raise self._refuse(
                f"was written for report schema version {header.get('schema_version')!r}; "
                f"this version writes {SCHEMA_VERSION}"
            )
        if header.get("caps") != caps():
            raise self._refuse(
                "was written with other caps (pipeline/ingest/aggregate/limits.py): "
                "its figures cannot be merged with this version's"
            )
        recorded = header.get("options")
        if not isinstance(recorded, dict):
            raise self._refuse("is corrupt (no options in its header)")
        for name, flag in OPTION_FLAGS.items():
            written = recorded.get(name, _ADDED_OPTIONS.get(name))
            if written != self.options[name]:
                raise StateError(
                    f"--state {self.shown} was written with {_shown(flag, written)}; "
                    f"this run has {_shown(flag, self.options[name])}: give the same "
                    f"{flag} or another --state file"
                )

    def save(self, saved: Saved) -> None:
        """Replace the state atomically (see the module docstring); OutputError on failure."""
        header = {
            "state_version": STATE_VERSION,
            "schema_version": SCHEMA_VERSION,
            "options": self.options,
            "caps": caps(),
            "runs": saved.runs,
            "cursors": [cursor.to_json() for cursor in saved.cursors],
        }
        header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
        partial_bytes = encode_partial(saved.partial)
        body = b"".join(
            [
                MAGIC,
                len(header_bytes).to_bytes(_LENGTH, "big"),
                header_bytes,
                len(partial_bytes).to_bytes(_LENGTH, "big"),
                partial_bytes,
            ]
        )
        with atomic_binary(self.path, what="state") as handle:
            handle.write(body + _digest(body))
        _sync_directory(os.path.dirname(os.path.realpath(self.path)))


def _raise(error: StateError) -> Saved:
    raise error


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_DIGEST).digest()


def _chunk(body: bytes, position: int) -> tuple[bytes | None, int]:
    """The length-prefixed section at ``position`` and the position after it (None: short)."""
    if position + _LENGTH > len(body):
        return None, position
    length = int.from_bytes(body[position : position + _LENGTH], "big")
    start = position + _LENGTH
    if start + length > len(body):
        return None, position
    return body[start : start + length], start + length


def _shown(flag: str, value: Any) -> str:
    """``--status '5xx'``, ``no --status``, ``--raw-paths``, ``--field [...]``."""
    if value in (None, False, [], ""):
        return f"no {flag}"
    if value is True:
        return flag
    if isinstance(value, Sequence) and not isinstance(value, str):
        return " ".join(f"{flag} {escape_text(str(item))!r}" for item in value)
    return f"{flag} {escape_text(str(value))!r}"


def _sync_directory(directory: str) -> None:
    """Make the rename durable (best effort: some file systems refuse a directory fsync)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
