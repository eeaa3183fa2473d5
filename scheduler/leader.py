"""Exactly one active scheduler among the lagbot processes sharing a database.

PostgreSQL: the holder of a session-level advisory lock on a dedicated connection schedules.
The lock lives as long as that connection: when the process dies (even kill -9) the server
drops it, and a standby, retrying every few seconds, takes over. A leader whose connection
breaks stops scheduling at once (it may no longer hold the lock).

SQLite (one machine): a lease row (`scheduler_lease`) renewed every few seconds; a standby
takes it over when it has not been renewed for three intervals.

Either way the once-only guarantee does not depend on this: every item's key is claimed in
`reminder_log` before it is queued. Leadership only keeps the others from doing the work.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from models.base import utcnow
from models.reminders import release_lease, take_lease

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
# A fixed 64-bit key for pg_try_advisory_lock (advisory locks are per database).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"lagbot.scheduler").digest()[:8], "big", signed=True)


def holder_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def election_interval(tick_seconds: float) -> float:
    """How often standbys retry and the leader renews: at most 15 s (takeover within a minute)."""
    return max(0.5, min(15.0, tick_seconds))


class Leadership:
    """Who schedules. `refresh()` acquires, renews or checks; `release()` steps down."""

    kind = "none"

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.is_leader = False

    async def refresh(self) -> bool:
        raise NotImplementedError

    async def release(self) -> None:
        raise NotImplementedError

    def _became(self, leader: bool) -> bool:
        if leader and not self.is_leader:
            log.info("scheduler: %s is now the active scheduler (%s)", self.holder, self.kind)
        elif not leader and self.is_leader:
            log.warning("scheduler: %s is no longer the active scheduler", self.holder)
        self.is_leader = leader
        return leader


class AdvisoryLockLeadership(Leadership):
    kind = "postgresql advisory lock"

    def __init__(self, url: str, holder: str) -> None:
        super().__init__(holder)
        self.engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)
        self._conn: AsyncConnection | None = None
        self._standby_logged = False

    async def _connect(self) -> AsyncConnection:
        conn = await self.engine.connect()
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("SELECT set_config('application_name', 'lagbot scheduler', false)"))
        return conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # the connection is already gone
                log.debug("closing the scheduler lock connection failed", exc_info=True)

    async def refresh(self) -> bool:
        for attempt in (1, 2):
            had_connection = self._conn is not None
            try:
                return self._became(await self._hold_or_try())
            except Exception as exc:
                await self._drop()
                self._became(False)
                if attempt == 1 and had_connection:
                    continue  # the connection broke: try once more on a fresh one
                log.warning("scheduler: the lock connection failed (%s); standing by", exc)
        return False

    async def _hold_or_try(self) -> bool:
        if self._conn is None:
            self._conn = await self._connect()
        if self.is_leader:
            await self._conn.execute(text("SELECT 1"))  # still connected: still holding it
            return True
        result = await self._conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
        )
        got = bool(result.scalar())
        if not got and not self._standby_logged:
            log.info("scheduler: another process schedules; %s stands by", self.holder)
            self._standby_logged = True
        return got

    async def release(self) -> None:
        if self._conn is not None and self.is_leader:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            except Exception:
                log.debug("unlocking the scheduler lock failed", exc_info=True)
        self.is_leader = False
        await self._drop()
        await self.engine.dispose()


class LeaseLeadership(Leadership):
    kind = "database lease"

    def __init__(self, rt: Runtime, holder: str, ttl: timedelta) -> None:
        super().__init__(holder)
        self.rt = rt
        self.ttl = ttl
        self._standby_logged = False

    async def refresh(self) -> bool:
        try:
            async with self.rt.db.session() as session:
                got = await take_lease(
                    session=session, name=LEASE_NAME, holder=self.holder, now=utcnow(), ttl=self.ttl
                )
        except Exception as exc:
            log.warning("scheduler: could not renew the lease (%s); standing by", exc)
            got = False
        if not got and not self._standby_logged:
            log.info("scheduler: another process schedules; %s stands by", self.holder)
            self._standby_logged = True
        return self._became(got)

    async def release(self) -> None:
        if self.is_leader:
            try:
                async with self.rt.db.session() as session:
                    await release_lease(session=session, name=LEASE_NAME, holder=self.holder)
            except Exception:
                log.debug("releasing the scheduler lease failed", exc_info=True)
        self.is_leader = False


def leadership_for(rt: Runtime, holder: str | None = None) -> Leadership:
    holder = holder or holder_id()
    interval = election_interval(rt.settings.scheduler_tick_seconds)
    if rt.db.dialect == "postgresql":
        return AdvisoryLockLeadership(rt.db.url, holder)
    return LeaseLeadership(rt, holder, ttl=timedelta(seconds=max(3.0, 3 * interval)))
