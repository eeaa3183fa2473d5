"""Claiming outbox rows: atomic with several senders (separate engines, as separate processes
would have), most urgent first, quiet hours respected, crashed holders' rows taken back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import col, select

from bot.db import Database
from models.base import utcnow
from models.outbox import (
    OutboxMessage,
    OutStatus,
    Priority,
    claim_batch,
    enqueue,
    release_claims,
    release_stale_claims,
    renew_claims,
)


async def queue(
    db: Database, count: int, *, priority: int = Priority.BULK, **fields: object
) -> None:
    async with db.session() as session:
        for i in range(count):
            row = await enqueue(
                session=session, channel="telegram", provider="telegram",
                address=str(5000 + i), text=f"message {i}", priority=priority,
            )  # fmt: skip
            for name, value in fields.items():
                setattr(row, name, value)


async def test_concurrent_senders_never_take_the_same_row(db: Database, db_url: str) -> None:
    await queue(db, 240)
    engines = [Database(db_url) for _ in range(4)]

    async def sender(database: Database, token: str) -> list[int]:
        taken: list[int] = []
        while True:
            async with database.session() as session:
                rows = await claim_batch(session=session, channel="telegram", limit=7,
                                         claimed_by=token)  # fmt: skip
            if not rows:
                return taken
            taken += [r.id for r in rows if r.id is not None]
            await asyncio.sleep(0)

    try:
        results = await asyncio.gather(*(sender(e, f"p{i}") for i, e in enumerate(engines)))
    finally:
        for engine in engines:
            await engine.dispose()
    everything = [row_id for taken in results for row_id in taken]
    assert len(everything) == len(set(everything)) == 240
    assert sum(1 for taken in results if taken) >= 2  # they really ran side by side
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert {(r.status, r.attempts) for r in rows} == {(OutStatus.SENDING, 1)}
    by_holder = {r.id: r.claimed_by for r in rows}
    for i, taken in enumerate(results):
        assert {by_holder[row_id] for row_id in taken} <= {f"p{i}"}


async def test_replies_are_claimed_before_a_broadcast(db: Database) -> None:
    await queue(db, 30)
    await queue(db, 2, priority=Priority.REPLY)
    async with db.session() as session:
        rows = await claim_batch(session=session, channel="telegram", limit=5)
    assert [r.priority for r in rows] == [0, 0, 10, 10, 10]


async def test_quiet_hours_leave_normal_bulk_sms_but_take_urgent_ones_and_replies(
    db: Database,
) -> None:
    async with db.session() as session:
        for priority, urgent in (
            (Priority.BULK, False),
            (Priority.BULK, True),
            (Priority.REPLY, False),
        ):
            await enqueue(
                session=session, channel="sms", provider="twilio", address="+995599000001",
                text=f"{priority}/{urgent}", priority=priority, urgent=urgent,
            )  # fmt: skip
    async with db.session() as session:
        rows = await claim_batch(session=session, channel="sms", limit=10, urgent_only_bulk=True)
    assert sorted(r.text for r in rows) == ["0/False", "10/True"]


async def test_a_crashed_holders_rows_go_back_but_a_live_holders_stay(db: Database) -> None:
    await queue(db, 4)
    async with db.session() as session:
        dead = await claim_batch(session=session, channel="telegram", limit=2, claimed_by="dead")
        alive = await claim_batch(session=session, channel="telegram", limit=2, claimed_by="alive")
    later = utcnow() + timedelta(minutes=3)
    async with db.session() as session:
        assert await renew_claims(session=session, ids=[r.id for r in alive if r.id],
                                  claimed_by="alive", now=later)  # fmt: skip
        released = await release_stale_claims(session=session, lease=timedelta(minutes=2),
                                               now=later + timedelta(seconds=1))  # fmt: skip
    assert released == 2
    async with db.session() as session:
        rows = (
            await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        ).scalars()
        states = {r.id: (r.status, r.claimed_by) for r in rows}
    assert {states[r.id] for r in dead} == {(OutStatus.QUEUED, None)}
    assert {states[r.id] for r in alive} == {(OutStatus.SENDING, "alive")}


async def test_a_clean_stop_gives_back_unsent_claims_and_their_attempt(db: Database) -> None:
    await queue(db, 3)
    async with db.session() as session:
        rows = await claim_batch(session=session, channel="telegram", limit=3, claimed_by="me")
        other = await release_claims(session=session, ids=[r.id for r in rows if r.id],
                                     claimed_by="someone else")  # fmt: skip
        mine = await release_claims(session=session, ids=[r.id for r in rows if r.id],
                                    claimed_by="me")  # fmt: skip
    assert (other, mine) == (0, 3)
    async with db.session() as session:
        states = {
            (r.status, r.attempts) for r in (await session.execute(select(OutboxMessage))).scalars()
        }
    assert states == {(OutStatus.QUEUED, 0)}
