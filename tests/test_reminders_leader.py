"""Exactly one active scheduler per database; a standby takes over when the leader goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.settings import Settings
from scheduler.leader import AdvisoryLockLeadership, LeaseLeadership, leadership_for
from scheduler.providers import DueItem
from tests.conftest import ON_POSTGRES, make_settings
from tests.reminders_helpers import ListProvider


class CountingProvider(ListProvider):
    """Counts the ticks that asked it: only the active scheduler's ticks do."""

    def __init__(self) -> None:
        super().__init__("counting")
        self.calls = 0

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        self.calls += 1
        return []


@pytest.fixture
async def pair(db_url: str) -> AsyncIterator[tuple[Runtime, Runtime]]:
    """Two lagbot runtimes (as two processes would have) on one database."""
    settings = make_settings(db_url, scheduler_tick_seconds=0.2)
    first, second = Runtime(settings), Runtime(settings)
    await first.prepare_data()
    yield first, second
    for runtime in (first, second):
        assert runtime.scheduler is not None
        await runtime.scheduler.stop()
        await runtime.db.dispose()


async def test_only_one_of_two_candidates_leads_until_it_steps_down(
    pair: tuple[Runtime, Runtime],
) -> None:
    first, second = leadership_for(pair[0], "a"), leadership_for(pair[1], "b")
    try:
        assert await first.refresh() is True
        assert await second.refresh() is False
        assert await first.refresh() is True  # renewing keeps it
        await first.release()
        assert await second.refresh() is True
        assert await first.refresh() is False
    finally:
        await first.release()
        await second.release()


@pytest.mark.skipif(ON_POSTGRES, reason="the lease is SQLite's mechanism")
async def test_on_sqlite_a_dead_leaders_lease_is_taken_over_when_it_expires(
    pair: tuple[Runtime, Runtime],
) -> None:
    ttl = timedelta(seconds=1)
    dead, standby = LeaseLeadership(pair[0], "dead", ttl), LeaseLeadership(pair[1], "standby", ttl)
    assert await dead.refresh()  # then the process is killed: no release, no renewal
    assert not await standby.refresh()
    await asyncio.sleep(1.2)
    assert await standby.refresh()
    assert not await dead.refresh()  # back from the dead, it stands by


@pytest.mark.skipif(not ON_POSTGRES, reason="the advisory lock is PostgreSQL's mechanism")
async def test_on_postgresql_losing_the_lock_connection_ends_leadership(
    pair: tuple[Runtime, Runtime],
) -> None:
    leader, standby = leadership_for(pair[0], "a"), leadership_for(pair[1], "b")
    assert isinstance(leader, AdvisoryLockLeadership)
    try:
        assert await leader.refresh() and not await standby.refresh()
        # The server drops the leader's connection (a crash, a network cut, an admin).
        async with pair[1].db.session() as session:
            await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'lagbot scheduler' AND pid <> pg_backend_pid() "
                    "AND datname = current_database()"
                )
            )
        await asyncio.sleep(0.2)
        # Both lock connections were cut: each notices and reconnects; one leads, never both.
        results = [await leader.refresh(), await standby.refresh()]
        assert sorted(results) == [False, True]
    finally:
        await leader.release()
        await standby.release()


async def test_only_the_active_scheduler_ticks_and_a_standby_takes_over(
    pair: tuple[Runtime, Runtime],
) -> None:
    counters = []
    for runtime in pair:
        assert runtime.scheduler is not None
        counter = CountingProvider()
        runtime.scheduler.register(counter)
        counters.append(counter)
        await runtime.scheduler.start()
        await asyncio.sleep(0.3)  # the first one elects itself before the second starts
    await asyncio.sleep(1.5)
    assert counters[0].calls >= 3
    assert counters[1].calls == 0
    assert pair[0].scheduler is not None
    await pair[0].scheduler.stop()  # a clean shutdown hands over at once
    for _ in range(40):
        if counters[1].calls:
            break
        await asyncio.sleep(0.1)
    assert counters[1].calls > 0
