"""models.seats — the one capacity + waitlist mechanism (events now, youth initiatives later)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from models.communities import sync_communities
from models.members import Member
from models.seats import (
    SeatStatus,
    release_seat,
    seat_counts,
    seat_of,
    seats_in,
    set_capacity,
    take_seat,
)
from tests.conftest import make_settings
from tests.factories import make_member

KIND, ITEM = "event", 7


@pytest.fixture
async def people(db: Database, db_url: str) -> AsyncIterator[tuple[Database, list[Member]]]:
    async with db.session() as session:
        await sync_communities(session=session, path=make_settings(db_url).communities_file)
        members = [await make_member(session, name=f"member {i}") for i in range(6)]
    yield db, members


async def take(
    session: AsyncSession, member: Member, capacity: int | None = 2
) -> tuple[str | None, int | None, bool]:
    assert member.id is not None
    outcome = await take_seat(
        session=session, kind=KIND, item_id=ITEM, member_id=member.id, capacity=capacity
    )
    return outcome.status, outcome.place, outcome.changed


async def test_first_come_first_seated_then_an_ordered_waitlist(
    people: tuple[Database, list[Member]],
) -> None:
    db, (a, b, c, d, *_) = people
    async with db.session() as session:
        assert await take(session, a) == (SeatStatus.SEATED, None, True)
        assert await take(session, b) == (SeatStatus.SEATED, None, True)
        assert await take(session, c) == (SeatStatus.WAITING, 1, True)
        assert await take(session, d) == (SeatStatus.WAITING, 2, True)
        assert await take(session, c) == (SeatStatus.WAITING, 1, False)  # asking again: same place
        counts = await seat_counts(session=session, kind=KIND, item_id=ITEM)
    assert (counts.seated, counts.waiting, counts.free(2)) == (2, 2, 0)


async def test_a_freed_seat_goes_to_the_head_of_the_line(
    people: tuple[Database, list[Member]],
) -> None:
    db, (a, b, c, d, *_) = people
    async with db.session() as session:
        for member in (a, b, c, d):
            await take(session, member)
        assert a.id is not None and c.id is not None and d.id is not None
        released = await release_seat(
            session=session, kind=KIND, item_id=ITEM, member_id=a.id, capacity=2
        )
        assert released.promoted == [c.id]
        assert (
            await seat_of(session=session, kind=KIND, item_id=ITEM, member_id=c.id)
        ).status == SeatStatus.SEATED
        assert (await seat_of(session=session, kind=KIND, item_id=ITEM, member_id=d.id)).place == 1


async def test_leaving_the_waitlist_promotes_nobody_and_rejoining_goes_to_the_back(
    people: tuple[Database, list[Member]],
) -> None:
    db, (a, b, c, d, e, _) = people
    async with db.session() as session:
        for member in (a, b, c, d, e):
            await take(session, member)
        assert c.id is not None
        released = await release_seat(
            session=session, kind=KIND, item_id=ITEM, member_id=c.id, capacity=2
        )
        assert released.promoted == []
        assert await take(session, c) == (SeatStatus.WAITING, 3, True)  # behind d and e now
        line = await seats_in(session=session, kind=KIND, item_id=ITEM, status=SeatStatus.WAITING)
    assert [s.member_id for s in line] == [d.id, e.id, c.id]


async def test_more_capacity_seats_the_waitlist_in_order_and_less_takes_no_seat_back(
    people: tuple[Database, list[Member]],
) -> None:
    db, (a, b, c, d, e, _) = people
    async with db.session() as session:
        for member in (a, b, c, d, e):
            await take(session, member)
        promoted = await set_capacity(session=session, kind=KIND, item_id=ITEM, capacity=4)
        assert promoted == [c.id, d.id]
        assert await set_capacity(session=session, kind=KIND, item_id=ITEM, capacity=1) == []
        counts = await seat_counts(session=session, kind=KIND, item_id=ITEM)
        assert (counts.seated, counts.waiting) == (4, 1)
        assert await set_capacity(session=session, kind=KIND, item_id=ITEM, capacity=None) == [e.id]


async def test_pools_of_different_kinds_are_separate(people: tuple[Database, list[Member]]) -> None:
    db, (a, b, *_) = people
    async with db.session() as session:
        assert a.id is not None and b.id is not None
        await take_seat(session=session, kind="event", item_id=1, member_id=a.id, capacity=1)
        youth = await take_seat(
            session=session, kind="youth", item_id=1, member_id=b.id, capacity=1
        )
    assert youth.status == SeatStatus.SEATED


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    capacity=st.integers(min_value=1, max_value=4),
    steps=st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=5)), max_size=25),
)
async def test_no_free_seat_while_someone_waits_and_never_over_capacity(
    people: tuple[Database, list[Member]], capacity: int, steps: list[tuple[bool, int]]
) -> None:
    """Any mix of joins and leaves: seated ≤ capacity, and a waitlist only when full."""
    db, members = people
    item = hash((capacity, tuple(steps))) % 1_000_000  # a fresh pool per example
    async with db.session() as session:
        for joins, index in steps:
            member_id = members[index].id
            assert member_id is not None
            if joins:
                await take_seat(
                    session=session,
                    kind="prop",
                    item_id=item,
                    member_id=member_id,
                    capacity=capacity,
                )
            else:
                await release_seat(
                    session=session,
                    kind="prop",
                    item_id=item,
                    member_id=member_id,
                    capacity=capacity,
                )
            counts = await seat_counts(session=session, kind="prop", item_id=item)
            assert counts.seated <= capacity
            assert counts.waiting == 0 or counts.seated == capacity
        await session.rollback()
