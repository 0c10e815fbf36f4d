"""The README documents every feature and option, and gives the commands CI runs."""

from __future__ import annotations

import click
import pytest

from pipeline import registry
from pipeline.cli import cli
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_quick_start_commands() -> None:
    assert "make demo" in README and "make test" in README
    assert "conda env create -f environment.yml" in README
    assert "pip install -e ." in README


@pytest.mark.parametrize("name", sorted(registry.features()))
def test_every_feature_and_its_options_are_documented(name: str) -> None:
    assert f"python cli.py {name}" in README
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    for param in command.params:
        for flag in getattr(param, "opts", []):
            if flag.startswith("--"):
                assert f"`{flag}" in README, f"{flag} of {name} is not in the README"


def test_utility_commands_are_documented() -> None:
    for name in cli.commands:
        assert f"python cli.py {name}" in README


def test_builtin_features_are_registered() -> None:
    assert {"ingest", "prime"} <= set(registry.features())
