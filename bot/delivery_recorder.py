"""Writing down what was sent: group commit, and a bound on what a crash can repeat.

Every successful send is recorded right after it (status, provider message id, segments)
without one transaction per row: the recorder's single write takes all outcomes that arrived
while the previous write ran, or within LINGER of the first. A sender first reserves a slot
(`reserve`); a key (one lane) may hold at most MAX_UNRECORDED slots for sends on the wire or
done but not yet written, so when the database lags, sending waits — and after kill -9 at
most that many rows of a lane can go twice. Each key has its own budget, so a broadcast's
backlog never holds up a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam

from bot.sms.providers import SendResult
from models.base import utcnow
from models.outbox import OutboxMessage, OutStatus

if TYPE_CHECKING:
    from bot.db import Database

log = logging.getLogger(__name__)

# At Telegram's 30 msg/s this is four seconds of sends; it binds only when the database
# falls behind (otherwise a write follows every LINGER).
MAX_UNRECORDED = 128
# A write costs about the same for one row as for many (its round trips to the database
# thread dominate), so the writer waits briefly for company unless half a budget is waiting.
FLUSH_AT = MAX_UNRECORDED // 2
LINGER = 0.02  # seconds


class Recorder:
    def __init__(self, db: Database, token: str) -> None:
        self.db = db
        self.token = token  # the claim holder: a row reclaimed by another process is not touched
        self._results: list[tuple[dict[str, Any], asyncio.Future[None], str]] = []
        self._waiting = asyncio.Event()
        self._enough = asyncio.Event()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="delivery-recorder")

    async def stop(self) -> None:
        """Stop the background writer and write what is left."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def reserve(self, key: str) -> None:
        # A semaphore per key wakes one waiter per freed slot (an Event would wake them all).
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(MAX_UNRECORDED)
        await slots.acquire()

    def release(self, key: str) -> None:
        self._slots[key].release()

    async def record(self, key: str, row: OutboxMessage, result: SendResult) -> None:
        """Write the outcome of a reserved send; returns once it is in the database."""
        now = utcnow()
        delivered = result.status == "delivered"
        values = {
            "b_id": row.id,
            "b_by": self.token,
            "b_status": OutStatus.DELIVERED if delivered else OutStatus.SENT,
            "b_pmid": result.provider_message_id or None,
            "b_segments": result.segments,
            "b_sent": now,
            "b_final": now if delivered else None,
        }
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._results.append((values, written, key))
        if self._task is None or self._task.done():
            await self.flush()  # no background writer (drain_once, shutting down)
        else:
            self._waiting.set()
            if len(self._results) >= FLUSH_AT:
                self._enough.set()
        await written

    async def _loop(self) -> None:
        while True:
            await self._waiting.wait()
            if len(self._results) < FLUSH_AT:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._enough.wait(), LINGER)
            self._waiting.clear()
            self._enough.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.5)
                self._waiting.set()

    async def flush(self) -> None:
        async with self._lock:
            pending, self._results = self._results, []
            if not pending:
                return
            table = OutboxMessage.__table__  # type: ignore[attr-defined]
            statement = (
                table.update()
                .where(
                    table.c.id == bindparam("b_id"),
                    table.c.status == OutStatus.SENDING,  # a callback may have moved it on
                    table.c.claimed_by == bindparam("b_by"),
                )
                .values(
                    status=bindparam("b_status"),
                    provider_message_id=bindparam("b_pmid"),
                    segments=bindparam("b_segments"),
                    sent_at=bindparam("b_sent"),
                    final_at=bindparam("b_final"),
                )
            )
            try:
                async with self.db.session() as session:
                    await session.execute(statement, [values for values, _, _ in pending])
            except Exception:
                log.exception("could not record %d sent rows; retrying", len(pending))
                self._results = pending + self._results
                raise
            for _, written, key in pending:
                if not written.done():
                    written.set_result(None)
                self.release(key)
