"""The README stays true: every setting is in its table, every `lagbot` command it shows
exists, and CI runs the README's own test command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.cli import build_parser
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in table]
    assert missing == []


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_lagbot_command_the_readme_shows_exists() -> None:
    blocks = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.DOTALL))
    shown = re.findall(r"^(?:\.venv/bin/)?lagbot ([a-z]+)(?: ([a-z]+))?", blocks, re.MULTILINE)
    assert len(shown) >= 6
    top = _commands(build_parser())
    for command, action in shown:
        assert command in top, command
        actions = _commands(top[command])
        if action and actions:
            assert action in actions, (command, action)


def test_ci_runs_the_readmes_test_command() -> None:
    top = README.split("---", 1)[0]
    assert "python3 dev.py test" in top and "python3 dev.py run" in top
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_a_scheduler_tick_of_zero_is_refused() -> None:
    """A tick of 0 would read every provider's tables in a busy loop."""
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="scheduler_tick_seconds"):
        Settings(_env_file=None, scheduler_tick_seconds=0)
    assert Settings(_env_file=None, scheduler_tick_seconds=0.2).scheduler_tick_seconds == 0.2
