"""Where numba caches the compiled sieve, and whether the kernel is already cached there.

This module does not import numba, so the client of a run can decide (and say) whether the
first task will compile the kernel before anything starts numba.
:mod:`pipeline.prime.sieve.compiled` uses :func:`choose_cache_dir` before it imports numba; the
order of preference is documented there and in docs/design.md.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PACKAGE_CACHE = Path(__file__).resolve().parent / "__pycache__"


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
    if directory is None:
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
