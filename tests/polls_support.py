"""Helpers for the poll conversations: a bot without quiet hours or holidays, members, polls."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from handlers.polls_ballots import refresher_of
from handlers.polls_jobs import queue_ballots
from models.audiences import Audience
from models.base import utcnow
from models.members import Member
from models.outbox import OutboxMessage
from models.polls import Poll, open_poll
from models.polls_results import poll_results
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot, running_bot

OPTIONS = ["3 დეკემბერი", "5 დეკემბერი", "10 დეკემბერი"]
QUESTION = "რომელი თარიღი გაწყობთ ტრენინგისთვის?"


@contextlib.asynccontextmanager
async def polls_bot(db_url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[RunningBot]:
    """The whole bot, with no SMS quiet hours and no holidays, so any time of day is a test day."""
    holidays = tmp_path / "no-holidays.toml"
    holidays.write_text("fixed = []\ndated = []\n", encoding="utf-8")
    values: dict[str, Any] = {
        "sms_quiet_weekdays": "00:00-00:00",
        "sms_quiet_weekends": "00:00-00:00",
        "holidays_file": holidays,
    }
    values.update(overrides)
    async with running_bot(db_url, **values) as bot:
        refresher = refresher_of(bot.rt)
        refresher.delay, refresher.spacing = 0.2, 0.5
        yield bot


async def add_member(
    bot: RunningBot, user: VirtualUser | None = None, *, phone: bool | str = True, **fields: Any
) -> Member:
    """A registered member: on Telegram as `user` (None: SMS only)."""
    async with bot.rt.db.session() as session:
        return await make_member(
            session, telegram=user.id if user is not None else False, phone=phone, **fields
        )


async def send_poll(
    bot: RunningBot,
    *,
    options: list[str] | None = None,
    question: str = QUESTION,
    anonymous: bool = False,
    multiple: bool = False,
    live: bool = False,
    to_voters: bool = True,
    closes_in: timedelta = timedelta(days=3),
    audience: Audience | None = None,
    now: datetime | None = None,
    versions: dict[str, tuple[str, list[str]]] | None = None,
) -> Poll:
    """Open a poll as /newpoll's Send does, and let the delivery engine send the ballots."""
    now = now or utcnow()
    async with bot.rt.db.session() as session:
        poll, members = await open_poll(
            session=session,
            question=question,
            options=options or OPTIONS,
            multiple=multiple,
            anonymous=anonymous,
            audience=audience or Audience(),
            closes_at=now + closes_in,
            results_live=live,
            results_to_voters=to_voters,
            created_by=None,
            youth_ages=(14, 29),
            now=now,
            versions=versions,
        )
        await queue_ballots(bot.rt, session, poll, members, now)
    bot.rt.delivery.wake()
    return poll


async def tick(bot: RunningBot, now: datetime) -> int:
    """One scheduler tick at `now` (the reminder and the close are decided there)."""
    assert bot.rt.scheduler is not None
    return await bot.rt.scheduler.tick(now=now)


async def outbox(bot: RunningBot, **where: Any) -> list[OutboxMessage]:
    async with bot.rt.db.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await session.execute(query)).scalars())


async def reload(bot: RunningBot, poll: Poll) -> Poll:
    async with bot.rt.db.session() as session:
        fresh = await session.get(Poll, poll.id)
    assert fresh is not None
    return fresh


@pytest.fixture
async def bot(db_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The whole bot for a poll test (import it into the test module)."""
    async with polls_bot(db_url, tmp_path) as running:
        yield running


async def counts(bot: RunningBot, poll: Poll) -> list[int]:
    """The poll's vote counts now, option by option."""
    async with bot.rt.db.session() as session:
        return (await poll_results(session=session, poll=await reload(bot, poll))).counts
