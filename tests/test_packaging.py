"""Packaging facts the quick start relies on: dependency lists agree, entry points exist, CI."""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tests.conftest import REPO_ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;:\[ ]", requirement.strip(), maxsplit=1)[0].lower()


def _environment_packages() -> set[str]:
    """Top-level conda dependencies of environment.yml (a deliberately simple reader)."""
    names: set[str] = set()
    in_deps = False
    for raw in (REPO_ROOT / "environment.yml").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and re.match(r"^  - [A-Za-z]", line):
            names.add(_name(line.removeprefix("  - ")))
    return names - {"python", "pip"}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_runtime_dependencies_match_environment_yml() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    runtime = {_name(req) for req in project["dependencies"]}
    assert runtime == {
        "dask",
        "distributed",
        "pandas",
        "numpy",
        "numba",
        "pyarrow",
        "click",
        "bokeh",
        "ua-parser",
        "datasketches",
    }
    extras = project["optional-dependencies"]
    notebook_extra = {_name(req) for req in extras.get("notebooks", [])}
    assert _environment_packages() == runtime | notebook_extra


def test_console_script_is_the_cli() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert project["scripts"] == {"mini-orchestrator": "pipeline.cli:main"}


def test_ci_runs_exactly_make_test() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text()
    commands = [
        line.strip()
        for line in script.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "set ", "cd "))
    ]
    assert commands[-1] == "make test"
    # the one addition: under CI=true only, installing the Debian packages the tests need
    setup = commands[:-1]
    assert setup[0] == 'if [[ "${CI:-}" == "true" ]]; then' and setup[-1] == "fi"
    assert [line for line in setup if re.search(r"\bmake\b|pip|curl|wget", line)] == []
    installs = [line for line in setup if "apt-get install" in line]
    assert installs == [
        'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null'
    ]
    # the browser of the HTML report test, the primesieve of the prime benchmark's cross-check,
    # the logrotate that rotates logs between --state runs (tests/test_ingest_state_logrotate.py),
    # the goaccess of the ingest benchmark's peers
    (packages,) = [line for line in setup if line.startswith("for package_command in ")]
    assert {pair.split(":")[0] for pair in packages.split()[3:-1]} == {
        "chromium",
        "chromium-driver",
        "primesieve",
        "logrotate",
        "goaccess",
    }


def test_make_test_installs_the_benchmark_peers() -> None:
    """tests/test_benchmarks.py needs DuckDB and Polars (the bench extra) under CI=true."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    (target,) = re.findall(r"^test: (.*)$", makefile, flags=re.MULTILINE)
    assert target.split() == ["$(VENV)/.stamp-test", "$(VENV)/.stamp-bench"]
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    bench = {_name(req) for req in project["optional-dependencies"]["bench"]}
    assert {"duckdb", "polars"} <= bench


def test_every_public_name_resolves() -> None:
    import pipeline

    assert sorted(pipeline._EXPORTS) == sorted(pipeline.__all__)
    for name in pipeline.__all__:
        assert getattr(pipeline, name).__name__ == name
