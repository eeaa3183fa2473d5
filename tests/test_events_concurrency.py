"""200 villagers text `YES E12` at the same moment for 50 seats.

Exactly 50 must be going and 150 waitlisted, with waitlist places 1…150 each given once, on a
SQLite file and on PostgreSQL (run the file with DATABASE_URL=postgresql+asyncpg://… for the
latter). The seat is taken under the seat pool's row lock (models.seats): SELECT … FOR UPDATE on
PostgreSQL, and the database write lock that BEGIN IMMEDIATE takes at the start of every SQLite
transaction (bot.db).

`test_without_the_lock_the_count_goes_wrong` is the control: it removes that locking and shows
the same burst going wrong —
- PostgreSQL: `models.seats._for_update` is monkeypatched to return the query unchanged (no
  FOR UPDATE), so concurrent answers count the same free seats and more than 50 get one;
- SQLite: `bot.db._serialize_sqlite_writers` is monkeypatched to open transactions with a plain
  (deferred) BEGIN instead of BEGIN IMMEDIATE, so concurrent answers fail on the write lock or
  take seats others already counted.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

import bot.db
from models import seats
from models.seats import Seat, SeatStatus
from tests.conftest import ON_POSTGRES
from tests.events_support import DAYTIME, published
from tests.factories import make_member
from tests.fakes.twilio_api import inbound_sms_params, twilio_signature
from tests.harness import LAG_NUMBER, RunningBot, running_bot

SEATS, PEOPLE = 50, 200


async def burst(bot: RunningBot) -> tuple[list[str], int, int, int]:
    """Publish a 50-seat event, then 200 signed `YES E<id>` webhooks at once.

    Returns (phones, seated, waiting, failed webhooks)."""
    event = await published(bot.rt, capacity=SEATS)
    async with bot.rt.db.session() as session:  # in the audience, not announced to: no SMS yet
        members = [
            await make_member(session, telegram=False, name=f"მონაწილე {i}") for i in range(PEOPLE)
        ]
    phones = [m.phone or "" for m in members]
    url = bot.base_url + "/sms/inbound"
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=None)) as client:

        async def webhook(phone: str) -> httpx.Response:
            params = inbound_sms_params(
                account_sid=bot.tw.account_sid, from_=phone, to=LAG_NUMBER, body=f"YES E{event.id}"
            )
            signature = twilio_signature(url, params, bot.tw.auth_token)
            return await client.post(url, data=params, headers={"X-Twilio-Signature": signature})

        responses = await asyncio.gather(
            *(webhook(phone) for phone in phones), return_exceptions=True
        )
    failed = sum(1 for r in responses if isinstance(r, BaseException) or r.status_code != 200)
    async with bot.rt.db.session() as session:
        rows = (
            await session.execute(select(Seat.status, func.count()).group_by(Seat.status))
        ).all()
        counts: dict[str, int] = {str(status): int(n) for status, n in rows}
    return phones, counts.get(SeatStatus.SEATED, 0), counts.get(SeatStatus.WAITING, 0), failed


async def test_200_simultaneous_yes_for_50_seats(db_url: str) -> None:
    async with running_bot(db_url, **DAYTIME) as bot:
        phones, seated, waiting, failed = await burst(bot)
        assert (failed, seated, waiting) == (0, SEATS, PEOPLE - SEATS)
        replies = [(await bot.sms_replies(phone, 1, timeout=60))[0] for phone in phones]
    going = [r for r in replies if r.startswith("გელოდებით")]
    places = sorted(
        int(m[1]) for r in replies if (m := re.search(r"მოლოდინის სიაში ხართ №(\d+)", r))
    )
    assert len(going) == SEATS
    assert places == list(range(1, PEOPLE - SEATS + 1))  # every place in line given exactly once


def _deferred_sqlite_writers(engine: AsyncEngine) -> None:
    """bot.db's SQLite set-up, but with a plain BEGIN: the write lock is taken only at the
    first write, after the free seats were counted."""

    @sa_event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa_event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


async def test_without_the_lock_the_count_goes_wrong(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if ON_POSTGRES:
        monkeypatch.setattr(seats, "_for_update", lambda query, session: query)
    else:
        monkeypatch.setattr(bot.db, "_serialize_sqlite_writers", _deferred_sqlite_writers)
    async with running_bot(db_url, **DAYTIME) as running:
        _, seated, waiting, failed = await burst(running)
    assert (failed, seated, waiting) != (0, SEATS, PEOPLE - SEATS)
    if ON_POSTGRES:
        assert seated > SEATS  # oversold
