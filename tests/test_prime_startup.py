"""Start-up of the prime job: which modules a run imports, and where numba caches its code.

Both run in fresh subprocesses, because what matters is a new process as a user starts it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

IMPORTS_AFTER_RUN = """
import runpy, sys
sys.argv = ["cli.py", "prime", "--format", "json", *sys.argv[1:]]
try:
    runpy.run_path("cli.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
heavy = {"pandas", "distributed", "numba", "dask"}
print("\\n" + " ".join(sorted({m.split(".")[0] for m in sys.modules} & heavy)), code)
"""


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("args", "count", "expected"),
    [
        (["--range", "0:100"], 25, []),
        (["--range", "0:1e7"], 664_579, ["numba"]),
        (["--range", "0:1e7", "--segment-size", "4e6"], 664_579, ["dask", "numba"]),
    ],
    ids=["trivial-plain-sieve", "one-task-compiled-kernel", "three-tasks"],
)
def test_a_prime_run_imports_dask_only_for_more_than_one_task(
    args: list[str], count: int, expected: list[str], tmp_path: Path
) -> None:
    # no Dask configuration to check (no DASK_* variable, no ~/.config/dask): a one-task run
    # then never imports Dask; the numba cache stays where it was
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    env["XDG_CACHE_HOME"] = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER_RUN, *args, "--worker", "2"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    *report, modules_line = done.stdout.strip().splitlines()
    *modules, code = modules_line.split(" ")
    assert code == "0", done.stderr
    assert json.loads("\n".join(report))["total_primes"] == count
    assert [m for m in modules if m] == expected  # never pandas nor distributed


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory any user can enter (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="mo-numba-cache-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                Path(root, name).chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def read_only_copy(base: Path) -> Path:
    """A copy of the ``pipeline`` package that cannot cache next to its sources.

    The tree is made read-only; for root, whom permission bits do not stop, every
    ``__pycache__`` is also pre-empted by a plain file, which stops anyone.
    """
    root = base / "site"
    shutil.copytree(
        REPO_ROOT / "pipeline", root / "pipeline", ignore=shutil.ignore_patterns("__pycache__")
    )
    for folder, dirs, _ in os.walk(root):
        for name in dirs:
            Path(folder, name, "__pycache__").write_text("not a directory\n")
    for folder, _, files in os.walk(root):
        for name in files:
            Path(folder, name).chmod(0o444)
        Path(folder).chmod(0o555)
    return root


COMPILE_SMALL = (
    "from pipeline.prime.sieve.kernel import base_primes; "
    "from pipeline.prime.sieve import compiled; "
    "print(compiled.CACHE_DIR); print(base_primes(100)[-1])"
)


def run_from(site: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(env_extra, PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-c", COMPILE_SMALL],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.nbi"))


@pytest.mark.subprocess
def test_read_only_package_caches_in_the_user_cache_dir(shared_tmp: Path) -> None:
    site = read_only_copy(shared_tmp)
    user_cache = shared_tmp / "cache"
    done = run_from(site, {"XDG_CACHE_HOME": str(user_cache)})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning from numba or from us
    where, last = done.stdout.split()
    assert last == "97"
    assert Path(where) == user_cache / "mini-orchestrator" / "numba"
    assert cache_files(Path(where))  # the compiled code was cached there
    assert not any(p.is_dir() for p in site.rglob("__pycache__"))
    again = run_from(site, {"XDG_CACHE_HOME": str(user_cache)})  # a second process loads it
    assert again.returncode == 0 and again.stderr == ""


@pytest.mark.subprocess
def test_numba_cache_dir_wins_and_an_unwritable_home_falls_back_to_tmp(shared_tmp: Path) -> None:
    site = read_only_copy(shared_tmp)
    chosen = shared_tmp / "chosen"
    done = run_from(site, {"NUMBA_CACHE_DIR": str(chosen)})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.split()[0] == str(chosen) and cache_files(chosen)
    blocked = shared_tmp / "blocked-file"
    blocked.write_text("")
    blocked.chmod(stat.S_IRUSR)
    nowhere = run_from(
        site,
        {"XDG_CACHE_HOME": str(blocked), "HOME": str(blocked), "TMPDIR": str(blocked)},
    )
    assert nowhere.returncode == 0 and nowhere.stderr == "", nowhere.stderr
    where, last = nowhere.stdout.split()
    assert last == "97" and "mini-orchestrator-numba-" in where  # the temporary directory


def test_kernel_cached_follows_numbas_index_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.prime.sieve import cache_dir
    from pipeline.prime.sieve.cache_dir import kernel_cached

    # the sources' digest matches (tests/test_prime_cache_stale.py covers a stale one)
    monkeypatch.setattr(cache_dir, "_stamp_matches", lambda directory: True)
    source = tmp_path / "src" / "kernel.py"
    source.parent.mkdir()
    source.write_text("import x\n\n\n@njit\ndef _sieve(a):\n    return a\n")
    cache = tmp_path / "cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    assert not kernel_cached(source, "_sieve")  # nothing cached yet
    folder = cache / "src_0123abcd"  # numba's layout under NUMBA_CACHE_DIR
    folder.mkdir(parents=True)
    wrong_line = folder / "kernel._sieve-5.py311.nbi"  # the def line, not the decorator's
    wrong_line.write_text("")
    assert not kernel_cached(source, "_sieve")
    index = folder / "kernel._sieve-4.py311.nbi"
    index.write_text("")
    os.utime(source, (1_000_000, 1_000_000))
    assert not kernel_cached(source, "_sieve")  # an index without code: a stopped compile
    code = folder / "kernel._sieve-4.py311.1.nbc"
    code.write_text("")
    assert kernel_cached(source, "_sieve")
    assert not kernel_cached(source, "_other")
    os.utime(code, (999_999, 999_999))  # code older than the source: stale
    assert not kernel_cached(source, "_sieve")
    os.utime(code, (1_000_000, 1_000_000))
    os.utime(index, (999_999, 999_999))  # the source changed after the last compile
    assert not kernel_cached(source, "_sieve")


BACKGROUND = (
    "prime: compiling the sieve kernel with numba in the background (once after installing "
    "or upgrading); sieving with numpy meanwhile"
)
IN_TASKS = (
    "prime: compiling the sieve kernel with numba (once after installing or upgrading; "
    "about 10 s, cached for later runs)"
)


@pytest.mark.parametrize(
    ("cached", "can_start", "expected"),
    [(True, True, []), (False, True, [BACKGROUND]), (False, False, [IN_TASKS])],
    ids=["cached", "first-run", "first-run-nothing-writable"],
)
def test_a_run_says_when_it_compiles_the_kernel_and_starts_it_in_the_background(
    cached: bool,
    can_start: bool,
    expected: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pipeline.engine.settings import ExecutionSettings
    from pipeline.prime import job
    from pipeline.prime.options import PrimeOptions

    started: list[bool] = []

    def start() -> bool:
        started.append(True)
        return can_start

    monkeypatch.setattr(job, "_kernel_cached", lambda: cached)
    monkeypatch.setattr(job, "_start_warmup", start)
    caplog.set_level("INFO", logger="pipeline.prime.job")
    options = PrimeOptions(ranges=["1e9:1.01e9"])
    result = job.run_prime(None, ExecutionSettings(mode="sync"), options)  # compiled kernel
    notices = [r.message for r in caplog.records if "compiling the sieve kernel" in r.message]
    assert notices == expected
    assert started == ([] if cached else [True])
    assert result.total_primes == 482_449  # pi(1.01e9) - pi(1e9 - 1), both paths
