"""pipeline.prime.sieve.cache_dir.drop_stale: a change to any sieve module retires the cached
kernel, since numba keys a function's cache on its own file only and the driver's cached code
holds the functions it calls from the sibling modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.prime.sieve import cache_dir


def _fake_cache(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    names = [
        "kernel._sieve-120.py311.nbi",
        "kernel._sieve-120.py311.1.nbc",
        "crossing.cross_small-40.py311.nbi",
        "counting._scan-88.py311.2.nbc",
    ]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "other.f-1.py311.nbi").write_bytes(b"x")  # not a sieve module: kept
    return [folder / name for name in names]


def test_the_folder_is_numbas_own() -> None:
    from numba.core.caching import _CacheLocator

    kernel = str(cache_dir.SIEVE_DIR / "kernel.py")
    want = _CacheLocator.get_suitable_cache_subpath(kernel)
    assert cache_dir.numba_cache_folder("/somewhere").name == want
    assert cache_dir.numba_cache_folder(str(cache_dir.PACKAGE_CACHE)) == cache_dir.PACKAGE_CACHE


def test_changed_sources_drop_the_cached_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = cache_dir.numba_cache_folder(str(tmp_path))
    cached = _fake_cache(folder)
    assert cache_dir.drop_stale(str(tmp_path)) == 4  # no digest yet: nothing is trusted
    assert not any(path.exists() for path in cached)
    assert (folder / "other.f-1.py311.nbi").exists()
    assert (folder / cache_dir.SOURCES_STAMP).read_text() == cache_dir.sources_digest()
    for path in cached:  # compiled again from these sources: kept
        path.write_bytes(b"x")
    assert cache_dir.drop_stale(str(tmp_path)) == 0
    assert all(path.exists() for path in cached)
    monkeypatch.setattr(cache_dir, "sources_digest", lambda: "another")  # a module changed
    assert cache_dir.drop_stale(str(tmp_path)) == 4
    assert not any(path.exists() for path in cached)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left


def test_the_digest_covers_every_sieve_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("kernel.py", "crossing.py"):
        (tmp_path / name).write_text("a = 1\n")
    monkeypatch.setattr(cache_dir, "SIEVE_DIR", tmp_path)
    before = cache_dir.sources_digest()
    (tmp_path / "crossing.py").write_text("a = 2\n")
    assert cache_dir.sources_digest() != before


def test_a_stale_stamp_is_not_a_cached_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    folder = cache_dir.numba_cache_folder(str(tmp_path))
    folder.mkdir(parents=True)
    source = cache_dir.SIEVE_DIR / "kernel.py"
    lines = source.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("def _sieve("))
    while lines[at - 1].startswith("@"):
        at -= 1
    (folder / f"kernel._sieve-{at + 1}.py311.nbi").write_bytes(b"x")  # newer than the source
    (folder / f"kernel._sieve-{at + 1}.py311.1.nbc").write_bytes(b"x")
    (folder / cache_dir.SOURCES_STAMP).write_text(cache_dir.sources_digest())
    assert cache_dir.kernel_cached(source, "_sieve")
    (folder / cache_dir.SOURCES_STAMP).write_text("another")  # a sibling module changed
    assert not cache_dir.kernel_cached(source, "_sieve")
