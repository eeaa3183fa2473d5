"""SQLite under aiosqlite: every statement is a trip to the driver's thread, so the
connection pool skips the rollback after a committed transaction — but never after a BEGIN
whose caller was cancelled while it waited for the write lock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

from bot.db import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/lagbot.sqlite3")
    async with database.session() as session:
        await session.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
    yield database
    await database.dispose()


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every rollback sent to an aiosqlite connection."""
    seen: list[object] = []
    original = AsyncAdapt_aiosqlite_connection.rollback

    def counted(self: AsyncAdapt_aiosqlite_connection) -> Any:
        seen.append(self)
        return original(self)

    monkeypatch.setattr(AsyncAdapt_aiosqlite_connection, "rollback", counted)
    return seen


async def test_a_committed_session_hands_its_connection_back_without_a_rollback(
    sqlite_db: Database, rollbacks: list[object]
) -> None:
    async with sqlite_db.session() as session:
        await session.execute(text("INSERT INTO note (body) VALUES ('first')"))
    assert rollbacks == []

    with pytest.raises(RuntimeError):
        async with sqlite_db.session() as session:
            await session.execute(text("INSERT INTO note (body) VALUES ('lost')"))
            raise RuntimeError("the handler failed")
    assert len(rollbacks) == 1  # the failed one is rolled back, once

    async with sqlite_db.session() as session:
        bodies = (await session.execute(text("SELECT body FROM note"))).scalars().all()
    assert bodies == ["first"]


async def test_a_begin_cancelled_while_waiting_for_the_lock_is_rolled_back(
    sqlite_db: Database,
) -> None:
    holder = sqlite_db.sessionmaker()
    await holder.execute(text("INSERT INTO note (body) VALUES ('held')"))  # holds the lock

    async def waits_for_the_lock() -> None:
        async with sqlite_db.session() as session:
            await session.execute(text("INSERT INTO note (body) VALUES ('never')"))

    waiting = asyncio.create_task(waits_for_the_lock())
    await asyncio.sleep(0.3)  # its BEGIN IMMEDIATE is queued in aiosqlite's thread
    waiting.cancel()
    await holder.commit()
    await holder.close()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting

    # The cancelled BEGIN went through once the lock was free: had its connection gone back
    # to the pool inside that transaction, these writers would wait on it, then fail.
    async def write(body: str) -> None:
        async with sqlite_db.session() as session:
            await session.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": body})

    await asyncio.wait_for(asyncio.gather(*(write(f"after {i}") for i in range(4))), 10)
    async with sqlite_db.session() as session:
        bodies = (await session.execute(text("SELECT body FROM note"))).scalars().all()
    assert sorted(bodies) == ["after 0", "after 1", "after 2", "after 3", "held"]
