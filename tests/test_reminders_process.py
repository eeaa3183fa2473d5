"""Real `lagbot run` processes: restarts, downtime, two processes and a killed leader.

The reminders are one-off notices stored in the database (models.reminders.ScheduledNotice),
delivered by SMS through the fake Twilio; quiet hours and holidays are switched off so the
tests do not depend on the hour they run at.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.db import Database
from bot.settings import PACKAGE_DATA
from models.base import utcnow
from models.communities import sync_communities
from models.members import Member
from models.reminders import schedule_notice
from tests.factories import make_member
from tests.fakes.twilio_api import FakeTwilio
from tests.process import LagbotProcess, process_env

pytestmark = pytest.mark.e2e


def sms_env(db_url: str, tw: FakeTwilio, tmp_path: Path) -> dict[str, str]:
    holidays = tmp_path / "no-holidays.toml"
    holidays.write_text("fixed = []\ndated = []\n", encoding="utf-8")
    return process_env(
        db_url,
        twilio_account_sid=tw.account_sid,
        twilio_auth_token=tw.auth_token,
        twilio_from="LAG",
        twilio_api_base_url=tw.base_url,
        sms_quiet_weekdays="00:00-00:00",
        sms_quiet_weekends="00:00-00:00",
        sms_rate_per_second=0,
        holidays_file=holidays,
    )


def full_log(proc: LagbotProcess) -> str:
    return proc.log_path.read_text(encoding="utf-8", errors="replace")


async def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    """Wait until `check()` holds; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def villagers(db: Database, count: int) -> list[Member]:
    async with db.session() as session:
        await sync_communities(session=session, path=PACKAGE_DATA / "communities.toml")
    async with db.session() as session:
        return [await make_member(session, telegram=False, language="ka") for _ in range(count)]


async def notice(db: Database, member: Member, key: str, *, due_in: float, grace: float) -> None:
    now = utcnow()
    assert member.id is not None
    async with db.session() as session:
        await schedule_notice(
            session=session, key=key, member_id=member.id, text=f"შეხსენება {key}",
            due_at=now + timedelta(seconds=due_in), not_after=now + timedelta(seconds=grace),
        )  # fmt: skip


async def test_reminders_due_while_lagbot_was_down_go_once_or_are_skipped(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    try:
        useful, stale = await villagers(db, 2)
        with FakeTwilio() as tw:
            lagbot = LagbotProcess(sms_env(db_url, tw, tmp_path))
            lagbot.start()
            await eventually(lambda: "is now the active scheduler" in full_log(lagbot), "leader")
            assert lagbot.terminate() == 0

            # While lagbot is down, both come due; one is still useful an hour later, the
            # other only for three seconds (say, "the meeting starts now").
            await notice(db, useful, "useful", due_in=1, grace=3600)
            await notice(db, stale, "stale", due_in=1, grace=3)
            await asyncio.sleep(4)

            lagbot.start()
            await eventually(lambda: len(tw.messages_to(useful.phone or "")) == 1, "late SMS")
            await eventually(lambda: "skipped notice:stale" in full_log(lagbot), "skip logged")
            assert lagbot.terminate() == 0

            lagbot.start()  # and once more: nothing goes twice
            await asyncio.sleep(3)
            assert lagbot.terminate() == 0
            (sent,) = tw.messages_to(useful.phone or "")
            assert sent.body.startswith("შეხსენება useful")
            assert tw.messages_to(stale.phone or "") == []
            assert full_log(lagbot).count("skipped notice:stale") == 1
    finally:
        await db.dispose()


async def test_two_processes_never_both_send_and_a_killed_leader_hands_over(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    try:
        group = await villagers(db, 12)
        late_comer = group.pop()
        with FakeTwilio() as tw:
            second = LagbotProcess(sms_env(db_url, tw, tmp_path))
            with LagbotProcess(sms_env(db_url, tw, tmp_path)) as first:
                await eventually(lambda: "is now the active scheduler" in full_log(first), "lead")
                second.start()
                try:
                    await eventually(lambda: "stands by" in full_log(second), "standby")

                    for member in group:
                        await notice(db, member, f"n{member.id}", due_in=1, grace=3600)
                    await eventually(
                        lambda: all(tw.messages_to(m.phone or "") for m in group), "all 11 SMS"
                    )
                    await asyncio.sleep(3)  # both keep ticking: still one SMS each
                    assert [len(tw.messages_to(m.phone or "")) for m in group] == [1] * 11
                    assert "scheduler: queued" in full_log(first)
                    assert "scheduler: queued" not in full_log(second)

                    first.kill()  # no clean shutdown: the standby must notice by itself
                    took = await eventually(
                        lambda: "is now the active scheduler" in full_log(second), "takeover", 60
                    )
                    assert took < 60
                    await notice(db, late_comer, "after", due_in=0, grace=3600)
                    await eventually(
                        lambda: bool(tw.messages_to(late_comer.phone or "")), "handover"
                    )
                    assert second.terminate() == 0
                finally:
                    if second.proc is not None and second.proc.poll() is None:
                        second.kill()
    finally:
        await db.dispose()
