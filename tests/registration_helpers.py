"""Shared by the registration and membership tests: patience on a busy machine.

The fake Telegram user waits 5 s by default for a reply or a button; with the whole suite
running on two shared cores that is sometimes too short for the first answer of a freshly
started bot. These tests wait up to PATIENCE instead (what they assert is unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot

PATIENCE = 20.0


@pytest.fixture
def patient_fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(VirtualUser.press, "__kwdefaults__", {"timeout": PATIENCE})
    monkeypatch.setattr(VirtualUser.vote, "__kwdefaults__", {"timeout": PATIENCE})
    monkeypatch.setattr(VirtualUser.reply, "__defaults__", (PATIENCE,))
    monkeypatch.setattr(VirtualUser.replies, "__defaults__", (PATIENCE,))
    monkeypatch.setattr(FakeTelegram.wait_until, "__defaults__", (PATIENCE, "a condition"))
    monkeypatch.setattr(RunningBot.sms, "__kwdefaults__", {"expect": 1, "timeout": PATIENCE})
    monkeypatch.setattr(RunningBot.sms_replies, "__kwdefaults__", {"timeout": PATIENCE})
    yield
