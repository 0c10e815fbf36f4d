"""Every file a run writes: checked before computing, written whole or not at all.

Two jobs, one module, because they share the notion of "the file this path really names":

* :func:`check_outputs` runs before any task is built. It refuses (with
  :class:`~pipeline.errors.OutputError`, exit 2) an output that is one of the inputs (same resolved
  path or same device and inode: ``ingest --path a.log --output a.log`` would replace the log with
  the report), two outputs that are the same file, a missing or unwritable directory, and a
  directory given as a file. An output that would be created inside an input directory gets one
  WARNING: the next run over that directory would read it.
* :func:`atomic_binary`, :func:`atomic_text` and :func:`atomic_path` write a regular file through
  a temporary file in the same directory (hidden, so a directory walk skips it), flushed and
  ``fsync``-ed, then renamed over the target: a failure (disk full, an exception half way, a
  concurrent run) never leaves a truncated or mixed file, and the previous content survives until
  the new one is complete. The new file gets the permissions a plain ``open`` would give: the
  existing file's mode, or ``0o666`` minus the umask. Writing through a symbolic link replaces the
  file it points to and keeps the link. Anything that is not a regular file (``/dev/full``,
  ``/dev/null``, a FIFO, ``/dev/stdout`` and the other ``/proc``/``/dev/fd`` links to open
  descriptors) is written directly, in append mode, and never replaced.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "report.txt"
>>> with atomic_text(target, what="report") as handle:
...     _ = handle.write("done\\n")
>>> target.read_text()
'done\\n'
"""

from __future__ import annotations

import contextlib
import glob
import io
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Final, TextIO

from pipeline.errors import OutputError
from pipeline.reporting import temporaries
from pipeline.reporting.display import escape_text

log = logging.getLogger(__name__)

_GLOB_CHARS: Final[frozenset[str]] = frozenset("*?[")

#: ``--path -`` and ``--output -``: standard input and standard output.
STREAM_PATH: Final[str] = "-"
STDOUT_LABEL: Final[str] = "standard output"

#: Symbolic links followed at most when deciding whether a path names an open descriptor
#: (the kernel's own limit is 40).
_MAX_LINKS: Final[int] = 40

#: Outputs already warned about as lying inside an input directory (one WARNING per process).
_WARNED: set[str] = set()

#: Outputs refused, not only warned about, inside an input directory even before they exist:
#: the run reads them back next time (``ingest --state``), and the next walk of the directory
#: would read them as a log.
REFUSED_INSIDE_INPUTS: Final[frozenset[str]] = frozenset({"--state"})


def is_direct_target(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` must be written in place: it exists and is not a regular file, or it
    is a link into ``/proc`` or ``/dev/fd`` (``/dev/stdout``: an open descriptor, which may be a
    regular file the shell opened; replacing that file would lose the shell's other output).

    >>> is_direct_target("/dev/null"), is_direct_target("/dev/stdout")
    (True, True)
    """
    current = os.path.abspath(os.fspath(path))
    for _ in range(_MAX_LINKS):
        if current.startswith(("/proc/", "/dev/fd/")):
            return True
        if not os.path.islink(current):
            break
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_binary(path: str | os.PathLike[str], *, what: str = "output") -> Iterator[IO[bytes]]:
    """A binary handle whose content replaces ``path`` only when the block completes.

    Any ``OSError`` inside the block or while finishing becomes :class:`OutputError`
    ("cannot write WHAT to PATH: reason"); on any exception the temporary file is removed and the
    target is left as it was.
    """
    shown = escape_text(os.fspath(path))
    try:
        if is_direct_target(path):
            with open(path, "ab") as direct:
                yield direct
            return
        real = os.path.realpath(path)
        temp, handle = _open_temp(real)
        try:
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, real)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        finally:
            temporaries.release(temp)
    except OSError as exc:
        raise OutputError(f"cannot write {what} to {shown}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def atomic_text(
    path: str | os.PathLike[str],
    *,
    what: str = "output",
    encoding: str = "utf-8",
    errors: str = "strict",
) -> Iterator[TextIO]:
    """:func:`atomic_binary` with a text layer (``newline`` untranslated)."""
    with atomic_binary(path, what=what) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")
        try:
            yield text
            text.flush()
        finally:
            text.detach()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, what: str = "output") -> Iterator[str]:
    """A fresh temporary path for code that insists on opening a file name itself (bokeh,
    ``distributed.performance_report``); when the block completes its content goes to ``path``
    through :func:`atomic_binary`."""
    scratch = tempfile.mkdtemp(prefix="mini-orchestrator-")
    temporaries.register(scratch)
    try:
        name = os.path.join(scratch, os.path.basename(os.fspath(path)) or "output")
        yield name
        with atomic_binary(path, what=what) as out, open(name, "rb") as source:
            shutil.copyfileobj(source, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        temporaries.release(scratch)


def _open_temp(real: str) -> tuple[str, IO[bytes]]:
    """Create the hidden temporary sibling of ``real`` with plain ``open`` permissions."""
    directory, name = os.path.split(real)
    temp = os.path.join(directory, f".{name}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(temp, flags, 0o666)  # the kernel applies the umask, as open() would
    temporaries.register(temp)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(descriptor, stat.S_IMODE(os.stat(real).st_mode))
        return temp, os.fdopen(descriptor, "wb")
    except BaseException:
        os.close(descriptor)
        os.unlink(temp)
        temporaries.release(temp)
        raise


def check_outputs(
    outputs: Mapping[str, str | os.PathLike[str] | None],
    inputs: Sequence[str],
    *,
    stdout: bool = False,
) -> None:
    """Refuse unusable or dangerous outputs before anything is computed.

    Parameters
    ----------
    outputs
        Option name (``--output``) -> path, None for an option not given. ``-`` is refused:
        only the report goes to standard output (``--output -``, which the CLI turns into None).
    inputs
        The ``--path`` values of the run (files, directories, globs, ``file://`` URLs; remote
        URLs are not checked); ``-`` is standard input, checked when it is a regular file
        (``--path - --output in.log < in.log`` would replace the log with the report).
    stdout
        The report goes to standard output: when that is a regular file (``>> a.log``), it
        counts as one more output, compared by device and inode with the inputs and outputs.

    Raises
    ------
    OutputError
        An output is an input, two outputs are the same file, or an output cannot be written.
    """
    given = {label: os.fspath(path) for label, path in outputs.items() if path is not None}
    for label, path in given.items():
        if path == STREAM_PATH:
            raise OutputError(
                f"{label} cannot be '-': only the report (--output -) goes to standard output; "
                "give a file name"
            )
    local_inputs = [found for spec in inputs for found in _local_inputs(spec)]
    seen: dict[object, str] = {}
    streamed = _stream_file(sys.stdout) if stdout else None
    if streamed is not None:
        for source, from_stdin in local_inputs:
            _check_not_input(STDOUT_LABEL, streamed, source, from_stdin)
        seen[_identity(streamed)] = STDOUT_LABEL
    for label, path in given.items():
        _check_writable(label, path)
        for source, from_stdin in local_inputs:
            _check_not_input(label, path, source, from_stdin)
        if is_direct_target(path) and not stat.S_ISFIFO(_mode(path)):
            continue  # /dev/null twice is harmless
        key = _identity(path)
        if key in seen:
            raise OutputError(
                f"{seen[key]} and {label} are the same file: {escape_text(path)}; "
                "give each output its own file"
            )
        seen[key] = label


def _stream_file(stream: IO[str] | None) -> str | None:
    """A path naming the regular file behind a standard stream (``> a.log``), or None when it
    is not a regular file (a terminal, a pipe, ``/dev/null``) or not a descriptor at all.

    The path is the file's own (``/dev/fd/N`` resolved) when it still names the same device and
    inode, so that a file inside an input directory is recognised; else ``/dev/fd/N`` itself,
    which ``os.stat`` follows to the open file (a deleted file keeps its identity).
    """
    try:
        descriptor = stream.fileno() if stream is not None else -1
        info = os.fstat(descriptor)
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is a ValueError
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    link = f"/dev/fd/{descriptor}"
    real = os.path.realpath(link)
    try:
        same = os.stat(real)
    except OSError:
        return link
    return real if (same.st_dev, same.st_ino) == (info.st_dev, info.st_ino) else link


def _mode(path: str) -> int:
    try:
        return os.stat(path).st_mode
    except OSError:
        return 0


def _identity(path: str) -> object:
    """Device and inode of an existing file, else its resolved path."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (info.st_dev, info.st_ino)


def _check_writable(label: str, path: str) -> None:
    shown = escape_text(path)
    if os.path.isdir(path):
        raise OutputError(f"cannot write {label} to {shown}: it is a directory")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise OutputError(f"cannot write {label} to {shown}: permission denied")
        if is_direct_target(path):
            return
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.exists(directory):
        raise OutputError(f"cannot write {label} to {shown}: no such directory")
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {label} to {shown}: not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {label} to {shown}: permission denied")


def _check_not_input(label: str, path: str, source: str, from_stdin: bool = False) -> None:
    """Refuse ``path`` when it is the input ``source`` or a file that a walk of it would read;
    ``from_stdin``: ``source`` is the file on standard input (``--path - < in.log``)."""
    shown = escape_text(path)
    if os.path.isdir(source):
        root = os.path.realpath(source)
        real = os.path.realpath(path)
        if os.path.commonpath([root, real]) != root:
            return
        hidden = any(part.startswith(".") for part in Path(os.path.relpath(real, root)).parts)
        if hidden:
            return
        if os.path.exists(path):
            raise OutputError(
                f"{label} {shown} is one of the inputs (inside --path {escape_text(source)}); "
                f"{_refusal(label)}"
            )
        if label in REFUSED_INSIDE_INPUTS:
            raise OutputError(
                f"{label} {shown} is inside the input directory {escape_text(source)}: a later "
                "run would read it as a log; put it elsewhere"
            )
        if real in _WARNED:  # the CLI and then the job check the same output: warn once
            return
        _WARNED.add(real)
        log.warning(
            "%s %s is inside the input directory %s: the next run over it will read it",
            label,
            shown,
            escape_text(source),
        )
        return
    if _identity(path) == _identity(source) or os.path.realpath(path) == os.path.realpath(source):
        what = "the file on standard input" if from_stdin else "one of the inputs"
        raise OutputError(f"{label} {shown} is {what}; {_refusal(label)}")


def _refusal(label: str) -> str:
    """How a message about an output that is an input ends."""
    if label == STDOUT_LABEL:  # ``>> a.log``: the report would be appended to its own input
        return "refusing to write the report into it; redirect standard output elsewhere"
    return "refusing to overwrite it"


def _local_inputs(spec: str) -> list[tuple[str, bool]]:
    """The local files and directories an input spec names (``zip://a::file:///x`` -> x), each
    with whether it is standard input (``-``: the regular file on it, if any)."""
    if spec == STREAM_PATH:
        streamed = _stream_file(sys.stdin)
        return [] if streamed is None else [(streamed, True)]
    local = spec.rsplit("::", 1)[-1]
    if "://" in local:
        if not local.startswith("file://"):
            return []
        local = local.removeprefix("file://")
    if os.path.exists(local):
        return [(local, False)]
    if _GLOB_CHARS & set(local):
        return [(found, False) for found in glob.glob(local, recursive=True)]
    return []
