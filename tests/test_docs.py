"""The docs document every feature and option, name only modules that exist, and stay reference.

The README is for users and gives the commands CI runs; ``docs/*.md`` is the reference. Together
they must mention every registered feature and every option of the CLI (the group's, each
feature's and the utility commands'); every ``pipeline/...py`` path and backticked
``pipeline.x.y`` name they give must exist; the README stays short; and neither keeps a lab
notebook (history belongs in git).
"""

from __future__ import annotations

import importlib
import re

import click
import pytest

from pipeline import registry
from pipeline.cli import cli
from tests.conftest import REPO_ROOT

README_PATH = REPO_ROOT / "README.md"
README = README_PATH.read_text()
DOC_PATHS = sorted((REPO_ROOT / "docs").glob("*.md"))
DOCS = {path.relative_to(REPO_ROOT).as_posix(): path.read_text() for path in DOC_PATHS}
#: The README and every docs page, by path.
ALL_DOCS = {"README.md": README, **DOCS}
EVERYTHING = "\n".join(ALL_DOCS.values())

#: The README answers "what is it, how do I run it, what does it give me" in a few screens.
README_MAX_LINES = 350

#: Phrases of a lab notebook: what was tried, when, in which session. History lives in git.
HISTORY_PHRASES = (
    "tried and not kept",
    "not kept",
    "this session",
    "earlier session",
    "previous session",
    "last session",
    "before this round",
    "this round",
    "earlier run",
)

#: ``pipeline/...py`` file paths and ``pipeline/.../`` directories named anywhere in the docs.
MODULE_PATH = re.compile(r"(?<![\w./-])pipeline/(?:[A-Za-z_]\w*/)*(?:[A-Za-z_]\w*\.py\b)?")
#: Any ``.py`` path, also relative ones such as ``aggregate/partial.py`` in a diagram.
ANY_PY_PATH = re.compile(r"(?<![\w./-])((?:[A-Za-z_][\w-]*/)*[A-Za-z_]\w*\.py)\b")
#: Where the project's Python files live (not .venv, which make creates in the checkout).
PY_ROOTS = ("pipeline", "tests", "benchmarks")
#: Inline code spans, and the dotted ``pipeline.x.y`` names inside them.
CODE_SPAN = re.compile(r"`([^`\n]+)`")
DOTTED_NAME = re.compile(r"(?<![\w./])pipeline(?:\.[A-Za-z_]\w*)+")


def _flags(command: click.Command) -> list[str]:
    """Every long flag of a command, the ``--no-...`` halves of switches included."""
    return [
        flag
        for param in command.params
        for flag in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
        if flag.startswith("--")
    ]


def _commands() -> dict[str, click.Command]:
    """The group's subcommands: the registered features and the utility commands."""
    context = click.Context(cli)
    names = cli.list_commands(context)
    commands = {name: cli.get_command(context, name) for name in names}
    return {name: command for name, command in commands.items() if command is not None}


def test_quick_start_commands() -> None:
    assert "make demo" in README and "make test" in README and "make check" in README
    assert "conda env create -f environment.yml" in README
    assert "pip install -e ." in README


@pytest.mark.parametrize("name", sorted(registry.features()))
def test_every_feature_and_its_options_are_documented(name: str) -> None:
    assert f"python cli.py {name}" in README
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    for flag in _flags(command):
        assert f"`{flag}" in EVERYTHING, f"{flag} of {name} is in neither README.md nor docs/"


def test_every_command_and_option_is_documented() -> None:
    """The group's own options and every subcommand's, generate-logs' included."""
    missing = [f"{flag} (the group)" for flag in _flags(cli) if f"`{flag}" not in EVERYTHING]
    for name, command in _commands().items():
        assert f"python cli.py {name}" in README, f"{name} is not in the README"
        missing += [f"{flag} of {name}" for flag in _flags(command) if f"`{flag}" not in EVERYTHING]
    assert not missing, f"not in README.md or docs/*.md: {', '.join(missing)}"


def test_utility_commands_are_documented() -> None:
    for name in cli.commands:
        assert f"python cli.py {name}" in README


def test_builtin_features_are_registered() -> None:
    assert {"ingest", "prime"} <= set(registry.features())


def test_the_reference_pages_exist() -> None:
    for page in ("formats", "scaling", "design", "benchmarks"):
        assert f"docs/{page}.md" in DOCS, f"docs/{page}.md is missing"
        assert f"(docs/{page}.md" in README, f"the README does not link docs/{page}.md"


def test_readme_is_short() -> None:
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; at most {README_MAX_LINES}"


@pytest.mark.parametrize("doc", sorted(ALL_DOCS))
def test_module_paths_exist(doc: str) -> None:
    missing = sorted(
        {path for path in MODULE_PATH.findall(ALL_DOCS[doc]) if not (REPO_ROOT / path).exists()}
    )
    assert not missing, f"{doc} names paths that do not exist: {', '.join(missing)}"


def _python_files() -> set[str]:
    files = {path.name for path in REPO_ROOT.glob("*.py")}
    for root in PY_ROOTS:
        files |= {
            path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / root).rglob("*.py")
        }
    return files


PYTHON_FILES = _python_files()


@pytest.mark.parametrize("doc", sorted(ALL_DOCS))
def test_relative_module_paths_exist(doc: str) -> None:
    """A ``.py`` path given relative to a package (``report/result.py`` in the dataflow diagram)
    must be the end of a real file's path."""
    missing = sorted(
        {
            path
            for path in ANY_PY_PATH.findall(ALL_DOCS[doc])
            if not any(known == path or known.endswith("/" + path) for known in PYTHON_FILES)
        }
    )
    assert not missing, f"{doc} names files that do not exist: {', '.join(missing)}"


def _resolves(dotted: str) -> bool:
    """Whether ``pipeline.a.b.c`` is a module, or an attribute chain of the longest module."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("doc", sorted(ALL_DOCS))
def test_dotted_module_names_exist(doc: str) -> None:
    names = {
        name for span in CODE_SPAN.findall(ALL_DOCS[doc]) for name in DOTTED_NAME.findall(span)
    }
    missing = sorted(name for name in names if not _resolves(name))
    assert not missing, f"{doc} names modules that do not exist: {', '.join(missing)}"


@pytest.mark.parametrize("doc", sorted(ALL_DOCS))
def test_no_lab_notebook(doc: str) -> None:
    text = ALL_DOCS[doc].lower()
    found = [phrase for phrase in HISTORY_PHRASES if phrase in text]
    assert not found, f"{doc} keeps history (belongs in git): {', '.join(found)}"


def test_the_checks_see_what_they_check() -> None:
    """The patterns find what the docs name, so a passing check is not an empty one."""
    paths = {path for text in ALL_DOCS.values() for path in MODULE_PATH.findall(text)}
    relative = {path for text in ALL_DOCS.values() for path in ANY_PY_PATH.findall(text)}
    names = {name for span in CODE_SPAN.findall(EVERYTHING) for name in DOTTED_NAME.findall(span)}
    assert len(paths) >= 20 and names and relative - paths
    assert MODULE_PATH.findall("see `pipeline/no_such.py` and pipeline/x/") == [
        "pipeline/no_such.py",
        "pipeline/x/",
    ]
    assert ANY_PY_PATH.findall("read.py -> report/result.py") == ["read.py", "report/result.py"]
    assert DOTTED_NAME.findall("pipeline.ingest.job.run_ingest(path)") == [
        "pipeline.ingest.job.run_ingest"
    ]
    assert _resolves("pipeline.ingest.options.IngestOptions")
    assert not _resolves("pipeline.no_such_module")
    assert not _resolves("pipeline.engine.settings.NO_SUCH_NAME")


#: ``test_file.py``, ``test_file.py::test_name`` or ``test_name`` as the docs cite a test.
_CITED_TEST = re.compile(r"`(?:(test_\w+\.py)(?:::(test_\w+))?|(test_\w+))`")

#: The source of every test module, by file name.
_TEST_SOURCES = {path.name: path.read_text() for path in (REPO_ROOT / "tests").glob("test_*.py")}


@pytest.mark.parametrize("page", sorted(ALL_DOCS))
def test_every_cited_test_exists(page: str) -> None:
    """A rule in the docs that names its test names one that exists (reliability.md lists a test
    per guarantee; a renamed test must not leave the guarantee untested on paper)."""
    for match in _CITED_TEST.finditer(ALL_DOCS[page]):
        module, name, bare = match.groups()
        if module is not None:
            assert module in _TEST_SOURCES, (page, module)
        sources = [_TEST_SOURCES[module]] if module is not None else _TEST_SOURCES.values()
        wanted = name or bare
        if wanted is not None:
            found = any(re.search(rf"^def {wanted}\(", text, re.M) for text in sources)
            assert found, (page, match.group())
