"""The outbox: one row per message to one member on one channel. Every send goes through it.

Status::

    queued ──claim──> sending ──accepted──> sent ──status callback──> delivered
      ^  │               │                    │                   └──> undelivered | failed
      │  │               │                    └──no final report in a day──> no_report
      │  │               ├──retryable error (429, 5xx, timeout)──> queued (later)
      │  │               ├──permanent error──> failed (error_code, error_reason)
      │  │               └──channel opted out / blocked──> skipped
      │  └──cancelled by the secretariat──> cancelled
      └──sending left behind by a crash (claim older than the lease)──> queued

Telegram has no delivery receipts: `sent` is final there. A row is claimed (status
`sending`, `claimed_at`) before its send, so after kill -9 only in-flight rows can go twice.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from models.base import UTCDateTime, utcnow


class OutStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    NO_REPORT = "no_report"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset(
    {
        OutStatus.DELIVERED,
        OutStatus.UNDELIVERED,
        OutStatus.FAILED,
        OutStatus.NO_REPORT,
        OutStatus.SKIPPED,
        OutStatus.CANCELLED,
    }
)


class Priority(enum.IntEnum):
    REPLY = 0  # an answer to the member's own message: never waits behind a broadcast
    NOTICE = 5  # personal notices (waitlist promotion, results)
    BULK = 10  # broadcasts, announcements, reminders


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pick", "status", "channel", "priority", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    channel: str = Field(max_length=20)  # telegram | sms
    provider: str = Field(max_length=20)  # telegram | twilio | gateway | simulator
    address: str = Field(max_length=40)  # chat id or E.164 phone
    text: str = Field(max_length=8000)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    kind: str = Field(default="reply", max_length=40)
    priority: int = Field(default=Priority.REPLY)
    status: str = Field(default=OutStatus.QUEUED, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    final_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_message_id: str | None = Field(default=None, max_length=100, index=True)
    error_code: str | None = Field(default=None, max_length=40)
    error_reason: str | None = Field(default=None, max_length=500)
    segments: int = 0
    broadcast_id: int | None = Field(default=None, index=True)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


async def enqueue(
    *,
    session: AsyncSession,
    channel: str,
    provider: str,
    address: str,
    text: str,
    member_id: int | None = None,
    payload: dict[str, Any] | None = None,
    kind: str = "reply",
    priority: int = Priority.REPLY,
    not_before: datetime | None = None,
    broadcast_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queue one message; the engine sends it after the transaction commits."""
    row = OutboxMessage(
        member_id=member_id,
        channel=channel,
        provider=provider,
        address=address,
        text=text,
        payload=payload or {},
        kind=kind,
        priority=priority,
        next_attempt_at=not_before or utcnow(),
        broadcast_id=broadcast_id,
        dedupe_key=dedupe_key,
    )
    session.add(row)
    await session.flush()
    return row


async def claim_batch(
    *,
    session: AsyncSession,
    channel: str,
    limit: int,
    now: datetime | None = None,
    providers: tuple[str, ...] | None = None,
) -> list[OutboxMessage]:
    """Atomically take up to `limit` due rows for sending.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several senders never take the same row.
    SQLite ignores FOR UPDATE; there the conditional UPDATE on `status='queued'` is the
    guard, and each write transaction starts with BEGIN IMMEDIATE (see bot.db).
    """
    now = now or utcnow()
    pick = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutStatus.QUEUED,
            OutboxMessage.channel == channel,
            col(OutboxMessage.next_attempt_at) <= now,
        )
        .order_by(col(OutboxMessage.priority), col(OutboxMessage.id))
        .limit(limit)
    )
    if providers is not None:
        pick = pick.where(col(OutboxMessage.provider).in_(providers))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = [row[0] for row in (await session.execute(pick)).all()]
    if not ids:
        return []
    result = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == OutStatus.QUEUED)
        .values(
            status=OutStatus.SENDING,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    rows = list(result.scalars())
    rows.sort(key=lambda r: (r.priority, r.id or 0))
    return rows


async def release_stale_claims(
    *, session: AsyncSession, lease: timedelta, now: datetime | None = None
) -> int:
    """Rows left in `sending` by a crashed process go back to the queue."""
    now = now or utcnow()
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OutStatus.SENDING,
            col(OutboxMessage.claimed_at) < now - lease,
        )
        .values(status=OutStatus.QUEUED, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Provider delivery reports, mapped to our statuses, ranked so that a late or duplicate
# callback never moves a row backwards.
PROVIDER_STATUS: dict[str, str] = {
    "accepted": OutStatus.SENT,
    "queued": OutStatus.SENT,
    "sending": OutStatus.SENT,
    "sent": OutStatus.SENT,
    "delivered": OutStatus.DELIVERED,
    "undelivered": OutStatus.UNDELIVERED,
    "failed": OutStatus.FAILED,
}
_RANK = {
    OutStatus.QUEUED: 0,
    OutStatus.SENDING: 1,
    OutStatus.SENT: 2,
    OutStatus.NO_REPORT: 3,
    OutStatus.DELIVERED: 4,
    OutStatus.UNDELIVERED: 4,
    OutStatus.FAILED: 4,
}


async def apply_delivery_report(
    *,
    session: AsyncSession,
    provider: str,
    provider_message_id: str,
    status: str,
    error_code: str | None = None,
    reason: str | None = None,
) -> OutboxMessage | None:
    """Move a row forward on a provider's status callback; duplicates and old news are no-ops."""
    mapped = PROVIDER_STATUS.get(status.lower())
    if mapped is None:
        return None
    result = await session.execute(
        select(OutboxMessage).where(
            OutboxMessage.provider == provider,
            OutboxMessage.provider_message_id == provider_message_id,
        )
    )
    row: OutboxMessage | None = result.scalars().first()
    if row is None:
        return None
    if _RANK.get(OutStatus(row.status), 5) >= _RANK[OutStatus(mapped)]:
        return row
    row.status = mapped
    if mapped in FINAL_STATUSES:
        row.final_at = utcnow()
    if error_code:
        row.error_code = error_code
        row.error_reason = reason or row.error_reason or f"{provider} error {error_code}"
    session.add(row)
    return row
