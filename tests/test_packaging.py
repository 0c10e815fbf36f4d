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
    # the one addition: installing the browser of the HTML report test, only under CI=true
    setup = commands[:-1]
    assert commands[-1] == "make test"
    assert not setup or (
        setup[0].startswith('if [[ "${CI:-}" == "true" ]]')
        and setup[-1] == "fi"
        and all(line.startswith(("apt-get", "DEBIAN_FRONTEND=")) for line in setup[1:-1])
    )


def test_every_public_name_resolves() -> None:
    import pipeline

    assert sorted(pipeline._EXPORTS) == sorted(pipeline.__all__)
    for name in pipeline.__all__:
        assert getattr(pipeline, name).__name__ == name
