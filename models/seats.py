"""Capacity and an ordered waitlist: ONE mechanism for everything people can join.

Events ("Going" answers) and youth initiatives (participants and their reserve list) both
use these functions with their own `kind` ("event", "youth", ...) and item id; nothing here
knows what is being joined, and the caller passes the current capacity (None: unlimited).

Seat status::

    (none) ──take, a seat is free──> seated ──release──> released
    (none) ──take, full────────────> waiting ──release──> released
                                     waiting ──a seat frees up / capacity grows──> seated
    released ──take──> seated | waiting (at the back of the line)

The waitlist is ordered by `position`, handed out from the pool's counter when someone joins
it, so "first come, first promoted" holds however the answers interleave.

Concurrency: every change first takes the pool row's lock — SELECT … FOR UPDATE on
PostgreSQL; on SQLite every write transaction already holds the database write lock from
BEGIN IMMEDIATE (bot.db) — so counting free seats and taking one is a single atomic step.
200 simultaneous "Going" answers for 50 seats give exactly 50 seated and 150 waiting
(tests/test_events_concurrency.py, which also shows the oversell when the lock is removed).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel, col, select

from models.base import UTCDateTime, insert_if_absent, utcnow


class SeatStatus(enum.StrEnum):
    SEATED = "seated"
    WAITING = "waiting"
    RELEASED = "released"


class SeatPool(SQLModel, table=True):
    """One per joinable thing; its row is the lock that serializes seat changes."""

    __tablename__ = "seat_pool"
    __table_args__ = (UniqueConstraint("kind", "item_id", name="uq_seat_pool_item"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # event | youth | ...
    item_id: int
    next_position: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Seat(SQLModel, table=True):
    __tablename__ = "seat"
    __table_args__ = (
        UniqueConstraint("pool_id", "member_id", name="uq_seat_member"),
        Index("ix_seat_line", "pool_id", "status", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pool_id: int = Field(foreign_key="seat_pool.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    status: str = Field(max_length=10)
    position: int = 0  # order of joining; the waitlist is served lowest first
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class SeatOutcome:
    status: str | None  # the member's seat status after the change (None: never joined)
    place: int | None = None  # 1-based place on the waitlist when waiting
    changed: bool = False
    promoted: list[int] = field(default_factory=list)  # member ids given a seat by this change


@dataclass(frozen=True)
class SeatCounts:
    seated: int
    waiting: int

    def free(self, capacity: int | None) -> int | None:
        return None if capacity is None else max(0, capacity - self.seated)


def _for_update(query: Select[tuple[SeatPool]], session: AsyncSession) -> Select[tuple[SeatPool]]:
    """The row lock (PostgreSQL). SQLite ignores FOR UPDATE: BEGIN IMMEDIATE covers it."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return query.with_for_update()
    return query


async def _locked_pool(session: AsyncSession, kind: str, item_id: int) -> SeatPool:
    """The pool row, locked for the rest of this transaction; created on first use."""
    query = (
        select(SeatPool)
        .where(SeatPool.kind == kind, SeatPool.item_id == item_id)
        .execution_options(populate_existing=True)
    )
    pool = (await session.execute(_for_update(query, session))).scalars().first()
    if pool is not None:
        return pool
    # Created by a concurrent transaction meanwhile: nothing inserted, and that one is locked.
    values = {"kind": kind, "item_id": item_id, "next_position": 0, "created_at": utcnow()}
    await insert_if_absent(session, SeatPool, values, ["kind", "item_id"])
    pool = (await session.execute(_for_update(query, session))).scalars().one()
    return pool


async def ensure_pool(*, session: AsyncSession, kind: str, item_id: int) -> SeatPool:
    """Create the pool up front (e.g. when an event is published), so takes never race on it."""
    return await _locked_pool(session, kind, item_id)


async def _seat(session: AsyncSession, pool_id: int, member_id: int) -> Seat | None:
    query = (
        select(Seat)
        .where(Seat.pool_id == pool_id, Seat.member_id == member_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalars().first()


async def _count(session: AsyncSession, pool_id: int, status: str) -> int:
    query = select(func.count()).where(col(Seat.pool_id) == pool_id, col(Seat.status) == status)
    return int((await session.execute(query)).scalar_one())


async def _place(session: AsyncSession, seat: Seat) -> int | None:
    if seat.status != SeatStatus.WAITING:
        return None
    query = select(func.count()).where(
        col(Seat.pool_id) == seat.pool_id,
        col(Seat.status) == SeatStatus.WAITING,
        col(Seat.position) <= seat.position,
    )
    return int((await session.execute(query)).scalar_one())


async def _fill(session: AsyncSession, pool: SeatPool, capacity: int | None) -> list[int]:
    """Promote from the head of the waitlist while seats are free; returns member ids."""
    assert pool.id is not None
    free = None if capacity is None else capacity - await _count(session, pool.id, "seated")
    if free is not None and free <= 0:
        return []
    query = (
        select(Seat)
        .where(Seat.pool_id == pool.id, Seat.status == SeatStatus.WAITING)
        .order_by(col(Seat.position))
        .execution_options(populate_existing=True)
    )
    if free is not None:
        query = query.limit(free)
    promoted: list[int] = []
    now = utcnow()
    for seat in (await session.execute(query)).scalars():
        seat.status, seat.seated_at = SeatStatus.SEATED, now
        session.add(seat)
        promoted.append(seat.member_id)
    await session.flush()
    return promoted


async def take_seat(
    *, session: AsyncSession, kind: str, item_id: int, member_id: int, capacity: int | None
) -> SeatOutcome:
    """Ask for a seat: seated when one is free, else at the back of the waitlist.

    Asking again while seated or waiting changes nothing (and keeps the place in line).
    """
    pool = await _locked_pool(session, kind, item_id)
    assert pool.id is not None
    seat = await _seat(session, pool.id, member_id)
    if seat is not None and seat.status in (SeatStatus.SEATED, SeatStatus.WAITING):
        return SeatOutcome(seat.status, await _place(session, seat))
    seated = await _count(session, pool.id, SeatStatus.SEATED)
    has_room = capacity is None or seated < capacity
    pool.next_position += 1
    session.add(pool)
    now = utcnow()
    if seat is None:
        seat = Seat(pool_id=pool.id, member_id=member_id, status=SeatStatus.WAITING)
    seat.position, seat.requested_at, seat.released_at = pool.next_position, now, None
    seat.status = SeatStatus.SEATED if has_room else SeatStatus.WAITING
    seat.seated_at = now if has_room else None
    session.add(seat)
    await session.flush()
    return SeatOutcome(seat.status, await _place(session, seat), changed=True)


async def release_seat(
    *, session: AsyncSession, kind: str, item_id: int, member_id: int, capacity: int | None
) -> SeatOutcome:
    """Give up a seat or a place in line; a freed seat goes to the head of the waitlist."""
    pool = await _locked_pool(session, kind, item_id)
    assert pool.id is not None
    seat = await _seat(session, pool.id, member_id)
    if seat is None or seat.status == SeatStatus.RELEASED:
        return SeatOutcome(seat.status if seat else None)
    was_seated = seat.status == SeatStatus.SEATED
    seat.status, seat.released_at = SeatStatus.RELEASED, utcnow()
    session.add(seat)
    await session.flush()
    promoted = await _fill(session, pool, capacity) if was_seated else []
    return SeatOutcome(SeatStatus.RELEASED, None, changed=True, promoted=promoted)


async def set_capacity(
    *, session: AsyncSession, kind: str, item_id: int, capacity: int | None
) -> list[int]:
    """After the capacity grew (or was removed): promote whoever now fits, in order.

    A smaller capacity never takes a seat back from someone who has it; it only stops new
    seats until enough people have left.
    """
    pool = await _locked_pool(session, kind, item_id)
    return await _fill(session, pool, capacity)


async def seat_of(*, session: AsyncSession, kind: str, item_id: int, member_id: int) -> SeatOutcome:
    """This member's status and waitlist place, without changing anything."""
    query = (
        select(Seat)
        .join(SeatPool, col(SeatPool.id) == col(Seat.pool_id))
        .where(SeatPool.kind == kind, SeatPool.item_id == item_id, Seat.member_id == member_id)
    )
    seat = (await session.execute(query)).scalars().first()
    if seat is None:
        return SeatOutcome(None)
    return SeatOutcome(seat.status, await _place(session, seat))


async def seat_counts(*, session: AsyncSession, kind: str, item_id: int) -> SeatCounts:
    query = (
        select(Seat.status, func.count())
        .join(SeatPool, col(SeatPool.id) == col(Seat.pool_id))
        .where(SeatPool.kind == kind, SeatPool.item_id == item_id)
        .group_by(col(Seat.status))
    )
    counts = {status: int(n) for status, n in (await session.execute(query)).all()}
    return SeatCounts(counts.get(SeatStatus.SEATED, 0), counts.get(SeatStatus.WAITING, 0))


async def seats_in(*, session: AsyncSession, kind: str, item_id: int, status: str) -> list[Seat]:
    """Seated or waiting seats of one item, in line order."""
    query = (
        select(Seat)
        .join(SeatPool, col(SeatPool.id) == col(Seat.pool_id))
        .where(SeatPool.kind == kind, SeatPool.item_id == item_id, Seat.status == status)
        .order_by(col(Seat.position))
    )
    return list((await session.execute(query)).scalars())
