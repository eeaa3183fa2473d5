"""The delivery engine: background senders that drain the outbox.

Rows go out through lanes (bot.delivery_lanes: fast and bulk per channel, SMS per
provider). A lane claims due rows (models.outbox.claim_batch: atomic, safe with several
processes), keeps a bounded number in hand, and sends them concurrently through the
channel's pacer (bot.pacing): Telegram's is shared with the handlers' own replies and
always serves the most urgent caller first, so an answer to a member waits at most one slot
behind a broadcast. Nothing is sent inside a database transaction; outcomes are
group-committed right after (bot.delivery_recorder), and no more than MAX_UNRECORDED sends
may be unwritten at once, so a kill -9 can repeat only that many. The claim is renewed while
a row is held, so another process only takes over rows whose holder died
(bot.delivery_outcomes has the error rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.delivery_lanes import Lane, lanes_for
from bot.delivery_outcomes import (
    MAX_ATTEMPTS,
    Flight,
    handle_failure,
    recheck_claimed,
    record_delivery_report,
)
from bot.delivery_recorder import MAX_UNRECORDED, Recorder
from bot.outbound import quiet_until
from bot.pacing import PriorityPacer
from bot.senders import SendAborted
from bot.sms.providers import SendError, SendResult
from models.base import utcnow
from models.outbox import (
    OutboxMessage,
    Priority,
    claim_batch,
    mark_stale_reports,
    release_claims,
    release_stale_claims,
    renew_claims,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

STALE_REPORT_AFTER = timedelta(days=1)
HOUSEKEEPING_EVERY = 0.2  # seconds
SMS_THROTTLE_RETRIES = 2  # Twilio 20429: wait and retry the same row in place


class ProviderGate(Protocol):
    async def admit(self, row: OutboxMessage) -> bool:
        """True: send the claimed row now. False: the gate has re-queued it for later."""
        ...


ProgressListener = Callable[[set[int]], Awaitable[None]]
__all__ = [
    "MAX_ATTEMPTS",
    "MAX_UNRECORDED",
    "DeliveryEngine",
    "ProviderGate",
    "record_delivery_report",
]


class _PacedByTheBot:
    """`rt.delivery.pacers["telegram"].wait()`: every Bot API call is already paced by the
    bot's rate limiter (bot.pacing.TelegramLimiter), so an explicit wait adds nothing."""

    async def wait(self) -> None:
        return None


class DeliveryEngine:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.token = f"{socket.gethostname()[:12]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=rt.settings.delivery_claim_lease_seconds)
        self.gates: dict[str, ProviderGate] = {}
        self.sms_pacers: dict[str, PriorityPacer] = {}
        self.pacers = {"telegram": _PacedByTheBot()}
        self.progress_listeners: list[ProgressListener] = []
        self.lanes: list[Lane] = []
        self.flights: dict[int, Flight] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Task[None]] = set()
        self.recorder = Recorder(rt.db, self.token)
        self._touched: set[int] = set()
        self._stopping = False
        self.running = False

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        async with self.rt.db.session() as session:
            released = await release_stale_claims(session=session, lease=self.lease)
        if released:
            log.warning("re-queued %d outbox rows left in flight by a stopped process", released)
        self.lanes = lanes_for(self.rt.settings, self.rt.sms_providers)
        for lane in self.lanes:
            self._events[lane.name] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._lane_loop(lane), name=f"lane-{lane.name}"))
        self._tasks.append(asyncio.create_task(self._maintenance(), name="delivery-maintenance"))
        self.recorder.start()
        self.running = True

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming; let sends already on the wire finish; give back the rest."""
        if not self.running:
            return
        self.running, self._stopping = False, True
        for task, flight in [
            (t, self.flights.get(getattr(t, "row_id", -1))) for t in self._deliveries
        ]:
            if flight is None or not flight.started:
                task.cancel()
        if self._deliveries:
            await asyncio.wait(set(self._deliveries), timeout=grace)
        for task in [*self._tasks, *self._deliveries]:
            task.cancel()
        for task in [*self._tasks, *self._deliveries]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._deliveries.clear()
        await self.recorder.stop()
        unsent = [row_id for row_id, flight in self.flights.items() if not flight.started]
        if unsent:
            async with self.rt.db.session() as session:
                await release_claims(session=session, ids=unsent, claimed_by=self.token)
        self.flights.clear()
        for pacer in self.sms_pacers.values():
            await pacer.close()

    def wake(self, channel: str | None = None) -> None:
        for lane in self.lanes:
            if channel in (None, lane.channel):
                event = self._events.get(lane.name)
                if event is not None:
                    event.set()

    def touch(self, broadcast_id: int | None) -> None:
        if broadcast_id is not None:
            self._touched.add(broadcast_id)

    def channel_ready(self, channel: str) -> bool:
        if channel == "telegram":
            app = self.rt.telegram_app
            return app is not None and bool(app.running)
        return bool(self.rt.sms_providers)

    def sms_pacer(self, provider: str) -> PriorityPacer:
        pacer = self.sms_pacers.get(provider)
        if pacer is None:
            rate = 0.0 if provider == "simulator" else self.rt.settings.sms_rate_per_second
            pacer = self.sms_pacers[provider] = PriorityPacer(rate, name=f"sms-{provider}")
        return pacer

    def recording(self, provider: str) -> bool:
        """Whether a send through `provider` is still being recorded (for early callbacks)."""
        return any(f.row.provider == provider for f in self.flights.values())

    # -- the lanes ----------------------------------------------------------------------------
    async def _lane_loop(self, lane: Lane) -> None:
        event = self._events[lane.name]
        while not self._stopping:
            try:
                handled = await self._drain(lane) if self.channel_ready(lane.channel) else 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery lane %s failed; retrying", lane.name)
                handled = 0
                await asyncio.sleep(1.0)
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=1.0)
                event.clear()

    async def _drain(self, lane: Lane) -> int:
        """Send until the lane's due rows are gone; returns how many rows were taken."""
        handled = 0
        pending: set[asyncio.Task[None]] = set()
        # Finished sends report here: waiting on the whole set (asyncio.wait) would add and
        # remove a callback on every pending task for each one that finishes.
        finished: asyncio.Queue[asyncio.Task[None]] = asyncio.Queue()
        lane.exhausted = False
        try:
            while True:
                room = lane.window - len(pending)
                if not lane.exhausted and not self._stopping and room >= max(1, lane.window // 2):
                    rows = await self._claim(lane, room)
                    lane.exhausted = len(rows) < room
                    for row in rows:
                        task = self._spawn(lane, row)
                        task.add_done_callback(finished.put_nowait)
                        pending.add(task)
                    handled += len(rows)
                if not pending:
                    return handled
                pending.discard(await finished.get())
                while not finished.empty():
                    pending.discard(finished.get_nowait())
        finally:
            for task in pending:
                task.cancel()

    def _spawn(self, lane: Lane, row: OutboxMessage) -> asyncio.Task[None]:
        assert row.id is not None
        task = asyncio.create_task(self._deliver(lane, row), name=f"send-{row.id}")
        task.row_id = row.id  # type: ignore[attr-defined]
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return task

    async def _claim(self, lane: Lane, limit: int) -> list[OutboxMessage]:
        now = utcnow()
        quiet = lane.channel == "sms" and quiet_until(self.rt.settings, now) is not None
        async with self.rt.db.session() as session:
            rows = await claim_batch(
                session=session,
                channel=lane.channel,
                limit=limit,
                now=now,
                providers=(lane.provider,) if lane.provider else None,
                min_priority=Priority.BULK if lane.bulk else None,
                max_priority=None if lane.bulk else Priority.BULK - 1,
                urgent_only_bulk=quiet,
                claimed_by=self.token,
            )
            moved: set[int] = set()
            if lane.bulk and rows:
                rows, moved = await recheck_claimed(self.rt, session, rows, now)
        for broadcast_id in moved:
            self.touch(broadcast_id)
        if moved:
            self.wake("sms")  # a member found blocked gets the SMS version
        for row in rows:
            assert row.id is not None
            self.flights[row.id] = Flight(row)
        return rows

    async def _deliver(self, lane: Lane, row: OutboxMessage) -> None:
        assert row.id is not None
        flight = self.flights.setdefault(row.id, Flight(row))
        flight.abort_if = lambda: self._stopping
        reserved = False
        try:
            gate = self.gates.get(row.provider)
            if gate is not None and not await gate.admit(row):
                self.flights.pop(row.id, None)  # the gate put it back in the queue
                return
            await self.recorder.reserve(lane.name)
            reserved = True
            async with lane.sending:
                result = await self._send(row, flight)
        except asyncio.CancelledError:
            raise
        except SendAborted as exc:
            await self._record_failure(row, exc, flight, aborted=True)
        except SendError as exc:
            await self._record_failure(row, exc, flight)
        except Exception as exc:
            log.exception("unexpected error sending outbox row %s", row.id)
            await self._record_failure(
                row, SendError(f"unexpected: {exc!r}", retryable=True), flight
            )
        else:
            reserved = False  # the recorder gives the slot back once the row is written
            await self._record_success(lane, row, result)
        finally:
            if reserved:
                self.recorder.release(lane.name)
        if row.id in self.flights and (self.flights[row.id].done or not self._stopping):
            self.flights.pop(row.id, None)

    async def _send(self, row: OutboxMessage, flight: Flight) -> SendResult:
        sender = self.rt.channel_senders[row.channel]
        if row.channel != "sms":
            return await sender.send(row, on_grant=flight.mark)
        pacer = self.sms_pacer(row.provider)
        attempt = 0
        while True:
            await pacer.acquire(row.priority)
            try:
                return await sender.send(row, on_grant=flight.mark)
            except SendError as exc:
                if exc.code == "20429" and attempt < SMS_THROTTLE_RETRIES:
                    attempt += 1
                    pacer.pause(exc.retry_after or 1.0)
                    continue
                raise

    # -- outcomes -----------------------------------------------------------------------------
    async def _record_success(self, lane: Lane, row: OutboxMessage, result: SendResult) -> None:
        """Written before the flight ends: a status callback may be waiting for this row
        (record_delivery_report)."""
        await self.recorder.record(lane.name, row, result)
        self.touch(row.broadcast_id)  # after the write: listeners must see the new state
        if row.id in self.flights:
            self.flights[row.id].done = True

    async def _record_failure(
        self, row: OutboxMessage, exc: SendError, flight: Flight, *, aborted: bool = False
    ) -> None:
        outcome = await handle_failure(self.rt, row, exc, flight, token=self.token, aborted=aborted)
        self.touch(row.broadcast_id)
        if outcome.fallback:
            self.wake("sms")
        flight.done = True

    # -- housekeeping -------------------------------------------------------------------------
    async def _maintenance(self) -> None:
        last_renew = last_reap = last_reports = time.monotonic()
        while True:
            await asyncio.sleep(HOUSEKEEPING_EVERY)
            now = time.monotonic()
            try:
                if self._touched and self.progress_listeners:
                    touched, self._touched = self._touched, set()
                    for listener in self.progress_listeners:
                        try:
                            await listener(touched)
                        except Exception:
                            log.exception("delivery progress listener failed")
                if now - last_renew >= self.lease.total_seconds() / 3:
                    last_renew = now
                    async with self.rt.db.session() as session:
                        await renew_claims(
                            session=session, ids=list(self.flights), claimed_by=self.token
                        )
                if now - last_reap >= max(5.0, self.lease.total_seconds() / 2):
                    last_reap = now
                    async with self.rt.db.session() as session:
                        if await release_stale_claims(session=session, lease=self.lease):
                            self.wake()
                if now - last_reports >= 600:
                    last_reports = now
                    for broadcast_id in await self.mark_stale_reports():
                        self.touch(broadcast_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery housekeeping failed")

    async def mark_stale_reports(
        self, *, older_than: timedelta = STALE_REPORT_AFTER, now: datetime | None = None
    ) -> set[int]:
        async with self.rt.db.session() as session:
            moved = await mark_stale_reports(session=session, older_than=older_than, now=now)
        if moved:
            log.info("%d SMS got no delivery report within %s", len(moved), older_than)
        return {b for b in moved if b is not None}

    async def drain_once(self, channel: str) -> int:
        """Send what is due on `channel` now, in this task (tests and tools)."""
        if not self.lanes:
            self.lanes = lanes_for(self.rt.settings, self.rt.sms_providers)
        handled = 0
        for lane in self.lanes:
            if lane.channel == channel:
                handled += await self._drain(lane)
        await self.recorder.flush()
        return handled
