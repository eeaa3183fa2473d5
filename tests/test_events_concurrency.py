"""200 villagers text `YES E12` at the same moment for 50 seats.

Exactly 50 must be going and 150 waitlisted, with waitlist places 1…150 each given once, on a
SQLite file and on PostgreSQL (run this file with DATABASE_URL=postgresql+asyncpg://… for the
latter). The seat is taken under the seat pool's row lock (models.seats): SELECT … FOR UPDATE
on PostgreSQL, and on SQLite the database write lock that BEGIN IMMEDIATE takes at the start of
every transaction (bot.db).

All 200 signed webhooks are posted at once. On a heavily loaded machine the server may not
take some in time (the database pool's 30-second wait runs out: HTTP 500); those are re-sent
with the same MessageSid, as SMS providers retry, and the MessageSid de-duplication makes a
re-send safe — the answer counts once whatever happened to the first try.

Both tests widen the gap between counting the free seats and taking one (a 20 ms pause after
the count, `models.seats._count`), so the interleaving a busy server produces now and then
happens on every run whatever the machine's load.

`test_without_the_lock_seats_are_oversold` is the control: it removes that locking and shows
the same burst giving more than 50 seats —
- PostgreSQL: `models.seats._for_update` is monkeypatched to return the query unchanged (no
  FOR UPDATE), so concurrent answers count the same free seats;
- SQLite: `bot.db._serialize_sqlite_writers` is monkeypatched to open no transaction at all
  (no BEGIN IMMEDIATE: every statement commits on its own), so concurrent answers count the
  same free seats there too.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import func, select

import bot.db
from models import seats
from models.seats import Seat, SeatStatus
from tests.conftest import ON_POSTGRES
from tests.events_support import (
    DAYTIME,
    patient,  # noqa: F401  (a fixture, used by pytestmark)
    published,
)
from tests.factories import make_member
from tests.fakes.twilio_api import inbound_sms_params, new_sid, twilio_signature
from tests.harness import LAG_NUMBER, RunningBot, running_bot

SEATS, PEOPLE, RESENDS = 50, 200, 5

pytestmark = pytest.mark.usefixtures("patient")


async def burst(bot: RunningBot) -> tuple[list[str], int, int]:
    """Publish a 50-seat event, then 200 signed `YES E<id>` webhooks at once.

    Returns (phones, seated, waiting); fails if a webhook still failed after the re-sends."""
    event = await published(bot.rt, capacity=SEATS)
    async with bot.rt.db.session() as session:  # in the audience, not announced to: no SMS yet
        members = [
            await make_member(session, telegram=False, name=f"მონაწილე {i}") for i in range(PEOPLE)
        ]
    phones = [m.phone or "" for m in members]
    url = bot.base_url + "/sms/inbound"
    sids = {phone: new_sid("SM") for phone in phones}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=90, limits=limits) as client:

        async def webhook(phone: str) -> bool:
            params = inbound_sms_params(
                account_sid=bot.tw.account_sid, from_=phone, to=LAG_NUMBER,
                body=f"YES E{event.id}", message_sid=sids[phone],
            )  # fmt: skip
            headers = {"X-Twilio-Signature": twilio_signature(url, params, bot.tw.auth_token)}
            try:
                response = await client.post(url, data=params, headers=headers)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        pending = phones
        for _ in range(1 + RESENDS):
            results = await asyncio.gather(*(webhook(phone) for phone in pending))
            pending = [phone for phone, ok in zip(pending, results, strict=True) if not ok]
            if not pending:
                break
    assert not pending, f"{len(pending)} webhooks failed even after {RESENDS} re-sends"
    async with bot.rt.db.session() as session:
        rows = (
            await session.execute(select(Seat.status, func.count()).group_by(Seat.status))
        ).all()
    counts: dict[str, int] = {str(status): int(n) for status, n in rows}
    return phones, counts.get(SeatStatus.SEATED, 0), counts.get(SeatStatus.WAITING, 0)


def pause_after_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    count = seats._count

    async def counted_then_paused(session: AsyncSession, pool_id: int, status: str) -> int:
        free = await count(session, pool_id, status)
        await asyncio.sleep(0.02)
        return free

    monkeypatch.setattr(seats, "_count", counted_then_paused)


@pytest.mark.timeout(900)  # 200 webhooks on a busy 2-core machine take minutes, not seconds
async def test_200_simultaneous_yes_for_50_seats(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pause_after_counting(monkeypatch)
    async with running_bot(db_url, **DAYTIME) as bot:
        phones, seated, waiting = await burst(bot)
        assert (seated, waiting) == (SEATS, PEOPLE - SEATS)
        replies = [(await bot.sms_replies(phone, 1, timeout=90))[0] for phone in phones]
    assert all(len(bot.tw.messages_to(phone)) == 1 for phone in phones)  # one answer each
    going = [r for r in replies if r.startswith("გელოდებით")]
    waitlisted = [re.search(r"მოლოდინის სიაში ხართ №(\d+)", r) for r in replies]
    places = sorted(int(m[1]) for m in waitlisted if m)
    assert len(going) == SEATS
    assert places == list(range(1, PEOPLE - SEATS + 1))  # every place in line given exactly once


def _no_sqlite_transactions(engine: AsyncEngine) -> None:
    """bot.db's SQLite set-up without BEGIN IMMEDIATE: each statement commits on its own."""

    @sa_event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@pytest.mark.timeout(900)
async def test_without_the_lock_seats_are_oversold(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pause_after_counting(monkeypatch)
    if ON_POSTGRES:
        monkeypatch.setattr(seats, "_for_update", lambda query, session: query)
    else:
        monkeypatch.setattr(bot.db, "_serialize_sqlite_writers", _no_sqlite_transactions)
    async with running_bot(db_url, **DAYTIME) as running:
        _, seated, _ = await burst(running)
    assert seated > SEATS
