"""The delivery engine: background senders that drain the outbox, one per channel.

Each sender claims due rows (see models.outbox for the state machine), paces itself under
the channel's rate, sends outside any database transaction, and records the outcome.
Replies (priority 0) are claimed before bulk rows, so they never wait behind a broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlmodel import select

from models.base import utcnow
from models.members import Member, mask_phone
from models.outbox import OutboxMessage, OutStatus, claim_batch, release_stale_claims

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
CLAIM_LEASE = timedelta(minutes=5)


class Pacer:
    """Spaces sends evenly at `rate` per second (no bursts, so no 429s from the far side)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
            now = self._next
        self._next = max(now, self._next) + self.interval


class ProviderGate(Protocol):
    async def admit(self, row: OutboxMessage) -> bool:
        """True: send the claimed row now. False: the gate has re-queued it for later."""
        ...


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2 ** max(0, attempts - 1)))


class DeliveryEngine:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._wake = {"telegram": asyncio.Event(), "sms": asyncio.Event()}
        self._tasks: list[asyncio.Task[None]] = []
        self.pacers = {
            "telegram": Pacer(rt.settings.telegram_rate_per_second),
            "sms": Pacer(rt.settings.sms_rate_per_second),
        }
        # A provider's own admission rule, e.g. the gateway phone's Android SMS window
        # (bot.sms.gateway_gate): a row it refuses is put back in the queue by the gate.
        self.gates: dict[str, ProviderGate] = {}
        self.batch = 50

    def wake(self, channel: str | None = None) -> None:
        for name, event in self._wake.items():
            if channel in (None, name):
                event.set()

    async def start(self) -> None:
        async with self.rt.db.session() as session:
            released = await release_stale_claims(session=session, lease=timedelta(0))
        if released:
            log.warning("re-queued %d outbox rows left in flight by a previous run", released)
        for channel in ("telegram", "sms"):
            self._tasks.append(asyncio.create_task(self._run(channel), name=f"sender-{channel}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def channel_ready(self, channel: str) -> bool:
        if channel == "telegram":
            return self.rt.telegram_bot is not None
        return bool(self.rt.sms_providers)

    async def _run(self, channel: str) -> None:
        while True:
            try:
                sent = await self.drain_once(channel) if self.channel_ready(channel) else 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop for %s failed; retrying", channel)
                sent = 0
            if sent == 0:
                event = self._wake[channel]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=1.0)
                event.clear()

    async def drain_once(self, channel: str) -> int:
        """Claim one batch and send it; returns how many rows were handled."""
        providers = tuple(self.rt.sms_providers) if channel == "sms" else None
        async with self.rt.db.session() as session:
            rows = await claim_batch(
                session=session, channel=channel, limit=self.batch, providers=providers
            )
        for row in rows:
            gate = self.gates.get(row.provider)
            if gate is not None and not await gate.admit(row):
                continue
            await self.pacers[channel].wait()
            await self._send_row(row)
        return len(rows)

    async def _send_row(self, row: OutboxMessage) -> None:
        from bot.sms.providers import SendError

        sender = self.rt.channel_senders[row.channel]
        try:
            result = await sender.send(row)
        except SendError as exc:
            await self._failed(row, exc)
            return
        except Exception as exc:
            log.exception("unexpected error sending outbox row %s", row.id)
            await self._failed(row, SendError(f"unexpected: {exc!r}", retryable=True))
            return
        async with self.rt.db.session() as session:
            fresh = await session.get(OutboxMessage, row.id)
            if fresh is None:
                return
            fresh.provider_message_id = result.provider_message_id
            fresh.segments = result.segments
            fresh.sent_at = utcnow()
            if fresh.status == OutStatus.SENDING:  # a fast callback may have moved it already
                fresh.status = (
                    OutStatus.DELIVERED if result.status == "delivered" else OutStatus.SENT
                )
                if fresh.status == OutStatus.DELIVERED:
                    fresh.final_at = utcnow()
            session.add(fresh)

    async def _failed(self, row: OutboxMessage, exc: Exception) -> None:
        from bot.sms.providers import SendError

        assert isinstance(exc, SendError)
        now = utcnow()
        fallback: OutboxMessage | None = None
        async with self.rt.db.session() as session:
            fresh = await session.get(OutboxMessage, row.id)
            if fresh is None:
                return
            fresh.error_code = exc.code
            fresh.error_reason = exc.reason[:500]
            if exc.maybe_sent and row.channel == "sms":
                provider = self.rt.sms_providers.get(row.provider)
                found = None
                if provider is not None:
                    found = await provider.find_sent(
                        to=row.address, body=row.text, since=row.claimed_at or now
                    )
                if found:
                    fresh.status, fresh.provider_message_id, fresh.sent_at = (
                        OutStatus.SENT,
                        found,
                        now,
                    )
                    session.add(fresh)
                    return
            if exc.retryable and fresh.attempts < MAX_ATTEMPTS:
                delay = (
                    timedelta(seconds=exc.retry_after)
                    if exc.retry_after is not None
                    else backoff(fresh.attempts)
                )
                fresh.status, fresh.next_attempt_at = OutStatus.QUEUED, now + delay
                session.add(fresh)
                return
            member = await session.get(Member, row.member_id) if row.member_id else None
            if exc.kind in ("blocked", "opted_out", "invalid_number"):
                fresh.status = (
                    OutStatus.SKIPPED if exc.kind != "invalid_number" else OutStatus.FAILED
                )
                if member is not None:
                    if exc.kind == "blocked":
                        member.telegram_unreachable_at = now
                    elif exc.kind == "opted_out":
                        member.sms_opt_out_at = now
                    else:
                        member.sms_invalid_at = now
                    session.add(member)
            else:
                fresh.status = OutStatus.FAILED
            fresh.final_at = now
            session.add(fresh)
            if exc.kind == "blocked" and member is not None and member.sms_reachable():
                fallback = await self._sms_fallback(session, fresh, member)
            log.info(
                "outbox %s to %s failed: %s",
                row.id,
                mask_phone(row.address) if row.channel == "sms" else "telegram",
                exc.reason,
            )
        if fallback is not None:
            self.wake("sms")

    async def _sms_fallback(
        self, session: object, row: OutboxMessage, member: Member
    ) -> OutboxMessage | None:
        from sqlalchemy.ext.asyncio import AsyncSession

        from bot.outbound import Outgoing, queue_for_member

        assert isinstance(session, AsyncSession)
        sms_text = row.payload.get("sms_text") if isinstance(row.payload, dict) else None
        rows = await queue_for_member(
            session=session,
            settings=self.rt.settings,
            member=member,
            message=Outgoing(text=row.text, sms_text=sms_text),
            kind=row.kind,
            priority=row.priority,
            channel="sms",
            broadcast_id=row.broadcast_id,
        )
        return rows[0] if rows else None


async def mark_stale_reports(rt: Runtime, *, older_than: timedelta = timedelta(days=1)) -> int:
    """SMS still `sent` after a day never got a final report (common on Georgian carriers)."""
    cutoff: datetime = utcnow() - older_than
    async with rt.db.session() as session:
        rows = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.channel == "sms",
                    OutboxMessage.status == OutStatus.SENT,
                    OutboxMessage.sent_at < cutoff,  # type: ignore[operator]
                )
            )
        ).scalars()
        count = 0
        for row in rows:
            row.status, row.final_at = OutStatus.NO_REPORT, utcnow()
            session.add(row)
            count += 1
    return count
