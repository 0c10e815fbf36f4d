"""Where numba caches the compiled sieve, and whether the kernel is already cached there.

This module does not import numba, so the client of a run can decide (and say) whether the
first task will compile the kernel before anything starts numba.
:mod:`pipeline.prime.sieve.compiled` uses :func:`choose_cache_dir` before it imports numba; the
order of preference is documented there and in docs/design.md.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

PACKAGE_CACHE = Path(__file__).resolve().parent / "__pycache__"
SIEVE_DIR = Path(__file__).resolve().parent
#: The file beside the cached kernel that names the sieve sources it was compiled from.
SOURCES_STAMP = "sieve-sources.sha256"


def _writable(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (made if missing); root-proof, by trying."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        return False
    return True


def user_cache_dir() -> Path:
    """The documented fallback: ``$XDG_CACHE_HOME/mini-orchestrator/numba``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mini-orchestrator" / "numba"


def choose_cache_dir() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` when the package cannot cache in place; the directory used.

    Returns None when nothing is writable (then the kernel is not cached).
    """
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given and _writable(Path(given)):
        return given
    if not given and _writable(PACKAGE_CACHE):
        return str(PACKAGE_CACHE)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    for candidate in (
        user_cache_dir(),
        Path(tempfile.gettempdir()) / f"mini-orchestrator-numba-{uid}",
    ):
        if _writable(candidate):
            os.environ["NUMBA_CACHE_DIR"] = str(candidate)
            return str(candidate)
    os.environ.pop("NUMBA_CACHE_DIR", None)
    return None


def kernel_cached(source: Path, function: str) -> bool:
    """Whether numba's cache holds ``function`` of ``source`` compiled after its last change.

    Numba names a cache index ``<module>.<function>-<line>.py<version>.nbi``, where ``line`` is
    the first line of the (decorated) definition, and its compiled code
    ``<same name>.<n>.nbc``, next to the source or under ``NUMBA_CACHE_DIR/<folder>_<hash>/``.
    An index older than the source is stale: numba will compile again. Numba writes the index
    first and the code second (``numba.core.caching.IndexDataCacheFile.save``, each file through
    a temporary file and ``os.replace``), so a compile stopped between the two leaves an index
    without code, which numba treats as a miss: both must be there. A heuristic (numba also
    checks the source's size), used only to decide whether to start the background compile.
    """
    directory = choose_cache_dir()
    if directory is None or not _stamp_matches(directory):
        return False
    lines = source.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(f"def {function}(")]
    if not starts:
        return False
    at = starts[0]
    while at > 0 and lines[at - 1].startswith("@"):
        at -= 1
    name = f"{source.stem}.{function}-{at + 1}.py*.nbi"
    changed = source.stat().st_mtime
    root = Path(directory)
    for index in (*root.glob(name), *root.glob(f"*/{name}")):
        code = index.parent.glob(index.name.removesuffix(".nbi") + ".*.nbc")
        try:
            if index.stat().st_mtime >= changed and any(
                data.stat().st_mtime >= changed for data in code
            ):
                return True
        except OSError:
            continue
    return False


def sources_digest() -> str:
    """SHA-256 of every module of the sieve package (names and contents, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(SIEVE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def numba_cache_folder(directory: str) -> Path:
    """Where numba caches this package's functions under ``directory``.

    The package's own ``__pycache__``, or for another directory numba's subfolder for the
    sources' folder: ``<folder name>_<sha1 of its full path>``
    (``numba.core.caching._CacheLocator.get_suitable_cache_subpath``; a test checks they agree).
    """
    if Path(directory) == PACKAGE_CACHE:
        return PACKAGE_CACHE
    parent = str(SIEVE_DIR)
    return Path(directory) / f"{SIEVE_DIR.name}_{hashlib.sha1(parent.encode()).hexdigest()}"


def _stamp_matches(directory: str, digest: str | None = None) -> bool:
    """Whether the cached sieve was compiled from the sieve's current sources, whose
    :func:`sources_digest` is ``digest`` (computed when None; see :func:`drop_stale`); False when
    no digest was written yet."""
    try:
        stamp = numba_cache_folder(directory) / SOURCES_STAMP
        return stamp.read_text(encoding="ascii") == (digest or sources_digest())
    except OSError:
        return False


def drop_stale(directory: str | None) -> int:
    """Remove the cached sieve code when any sieve module changed since it was compiled.

    Why: numba keys a function's cache on its own file only, but the kernel's driver
    (``kernel._sieve``) compiles the functions it calls from the sibling modules (``crossing``,
    ``buckets``, ``counting``, ``presieve``) into its own cached code, so a change to one of
    them alone would leave stale machine code in use. The digest of all the sieve's sources is
    kept beside the cache; when it differs, every cached function of the package is removed
    (numba then compiles again) and the new digest written. Returns the files removed. Called
    before numba is imported (:mod:`pipeline.prime.sieve.compiled`).
    """
    if directory is None:
        return 0
    digest = sources_digest()
    if _stamp_matches(directory, digest):
        return 0
    folder = numba_cache_folder(directory)
    stamp = folder / SOURCES_STAMP
    removed = 0
    for stem in sorted(path.stem for path in SIEVE_DIR.glob("*.py")):
        for cached in (*folder.glob(f"{stem}.*.nbi"), *folder.glob(f"{stem}.*.nbc")):
            try:
                cached.unlink()
                removed += 1
            except OSError:
                continue
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{SOURCES_STAMP}.{os.getpid()}"
        partial.write_text(digest, encoding="ascii")
        os.replace(partial, stamp)
    except OSError:
        pass
    return removed
