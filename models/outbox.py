"""The outbox: one row per message to one member on one channel. Every send goes through it.

Status::

    queued ──claim──> sending ──accepted──> sent ──status callback──> delivered
      ^  │  │            │                    │                   └──> undelivered | failed
      │  │  │            │                    └──no final report in a day──> no_report
      │  │  │            ├──retryable error (429, 5xx, timeout)──> queued (later; bounded)
      │  │  │            ├──permanent error (400, invalid number)──> failed (error_code, reason)
      │  │  │            └──member blocked the bot / opted out──> skipped (reason)
      │  │  └──member opted out before it went (re-checked at send time)──> skipped
      │  └──cancelled by the secretariat──> cancelled
      └──sending left behind by a crashed process (claim older than the lease)──> queued

Telegram has no delivery receipts: an accepted Telegram message is `delivered` at once.
A row is claimed (status `sending`, `claimed_by`, `claimed_at`) before its send, and the
claiming process renews the claim while it holds the row; so after kill -9 only the rows in
flight at that moment can go twice, and a second sender never takes a row another holds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from models.base import UTCDateTime, add_if_absent, utcnow


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
PENDING_STATUSES = frozenset({OutStatus.QUEUED, OutStatus.SENDING})


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
    urgent: bool = False  # urgent bulk SMS ignore quiet hours
    status: str = Field(default=OutStatus.QUEUED, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=40)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    final_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_message_id: str | None = Field(default=None, max_length=100, index=True)
    error_code: str | None = Field(default=None, max_length=40)
    error_reason: str | None = Field(default=None, max_length=500)
    segments: int = 0
    broadcast_id: int | None = Field(default=None, index=True)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlreadyQueued(Exception):
    """A message with this dedupe_key is queued (or was sent) already."""


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
    urgent: bool = False,
    once: bool = False,
) -> OutboxMessage:
    """Queue one message; the engine sends it after the transaction commits.

    `once` with a dedupe_key: AlreadyQueued when a row has that key (one INSERT … ON CONFLICT
    DO NOTHING, no savepoint: two workers racing queue it once, the loser's transaction intact).
    """
    row = OutboxMessage(
        member_id=member_id,
        channel=channel,
        provider=provider,
        address=address,
        text=text,
        payload=payload or {},
        kind=kind,
        priority=priority,
        urgent=urgent,
        next_attempt_at=not_before or utcnow(),
        broadcast_id=broadcast_id,
        dedupe_key=dedupe_key,
    )
    if once and dedupe_key is not None:
        added = await add_if_absent(session, row, ["dedupe_key"])
        if added is None:
            raise AlreadyQueued(dedupe_key)
        return added
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
    min_priority: int | None = None,
    max_priority: int | None = None,
    urgent_only_bulk: bool = False,
    claimed_by: str = "",
) -> list[OutboxMessage]:
    """Atomically take up to `limit` due rows for sending, most urgent first.

    One statement: `WITH picked AS (SELECT id … LIMIT n) UPDATE outbox SET status='sending' …
    WHERE id IN (SELECT id FROM picked) AND status='queued' RETURNING *`. On PostgreSQL the
    pick is `FOR UPDATE SKIP LOCKED` (and MATERIALIZED), so concurrent senders never wait
    on, nor take, each other's rows; SQLite ignores FOR UPDATE, and there the single
    conditional UPDATE (under BEGIN IMMEDIATE, see bot.db) is what makes the claim atomic.
    `urgent_only_bulk` (quiet hours) leaves non-urgent bulk rows where they are.
    """
    now = now or utcnow()
    pick = select(OutboxMessage.id).where(
        OutboxMessage.status == OutStatus.QUEUED,
        OutboxMessage.channel == channel,
        col(OutboxMessage.next_attempt_at) <= now,
    )
    if providers is not None:
        pick = pick.where(col(OutboxMessage.provider).in_(providers))
    if min_priority is not None:
        pick = pick.where(col(OutboxMessage.priority) >= min_priority)
    if max_priority is not None:
        pick = pick.where(col(OutboxMessage.priority) <= max_priority)
    if urgent_only_bulk:
        pick = pick.where(
            or_(col(OutboxMessage.priority) < Priority.BULK, col(OutboxMessage.urgent).is_(True))
        )
    pick = pick.order_by(col(OutboxMessage.priority), col(OutboxMessage.id)).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # A materialized CTE: PostgreSQL may otherwise run a LIMIT … SKIP LOCKED sub-select more
    # than once for one UPDATE, and claim more (and other) rows than asked.
    picked = pick.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(select(picked.c.id)),
            col(OutboxMessage.status) == OutStatus.QUEUED,
        )
        .values(
            status=OutStatus.SENDING,
            claimed_at=now,
            claimed_by=claimed_by or None,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    rows = list(result.scalars())
    rows.sort(key=lambda r: (r.priority, r.id or 0))
    return rows


async def renew_claims(
    *, session: AsyncSession, ids: Iterable[int], claimed_by: str, now: datetime | None = None
) -> int:
    """The holder is alive: push its claims' lease forward."""
    wanted = list(ids)
    if not wanted:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(wanted),
            col(OutboxMessage.status) == OutStatus.SENDING,
            col(OutboxMessage.claimed_by) == claimed_by,
        )
        .values(claimed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def release_claims(
    *, session: AsyncSession, ids: Iterable[int], claimed_by: str, now: datetime | None = None
) -> int:
    """Give back claimed rows that were never sent (a clean shutdown); their attempt too."""
    wanted = list(ids)
    if not wanted:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(wanted),
            col(OutboxMessage.status) == OutStatus.SENDING,
            col(OutboxMessage.claimed_by) == claimed_by,
        )
        .values(
            status=OutStatus.QUEUED,
            next_attempt_at=now or utcnow(),
            claimed_at=None,
            claimed_by=None,
            attempts=OutboxMessage.attempts - 1,  # claimed rows have at least one
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def release_stale_claims(
    *, session: AsyncSession, lease: timedelta, now: datetime | None = None
) -> int:
    """Rows left in `sending` by a crashed process (claim not renewed) go back to the queue."""
    now = now or utcnow()
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OutStatus.SENDING,
            or_(
                col(OutboxMessage.claimed_at) < now - lease,
                col(OutboxMessage.claimed_at).is_(None),
            ),
        )
        .values(status=OutStatus.QUEUED, next_attempt_at=now, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def mark_stale_reports(
    *, session: AsyncSession, older_than: timedelta = timedelta(days=1), now: datetime | None = None
) -> list[int | None]:
    """SMS still `sent` after a day never got a final report (common on Georgian carriers).

    Returns the broadcast ids of the rows it moved (None for rows of no broadcast).
    """
    now = now or utcnow()
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.channel) == "sms",
            col(OutboxMessage.status) == OutStatus.SENT,
            col(OutboxMessage.sent_at) < now - older_than,
        )
        .values(status=OutStatus.NO_REPORT, final_at=now)
        .returning(col(OutboxMessage.broadcast_id))
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in result.all()]


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
    """Move a row forward on a provider's status callback; duplicates and old news are no-ops.

    None when no row carries this provider message id (yet: the send's own result may still
    be on its way to the database — see bot.delivery.record_delivery_report).
    """
    mapped = PROVIDER_STATUS.get(status.lower())
    if mapped is None or not provider_message_id:
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


async def cancel_queued(*, session: AsyncSession, broadcast_id: int) -> int:
    """Rows of a broadcast not yet claimed are not sent (rows in flight still finish)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.broadcast_id) == broadcast_id,
            col(OutboxMessage.status) == OutStatus.QUEUED,
        )
        .values(status=OutStatus.CANCELLED, final_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def status_counts(
    *, session: AsyncSession, broadcast_ids: Iterable[int]
) -> dict[int, dict[tuple[str, str], int]]:
    """{broadcast id: {(channel, status): rows}} in one query."""
    wanted = list(broadcast_ids)
    counts: dict[int, dict[tuple[str, str], int]] = {bid: {} for bid in wanted}
    if not wanted:
        return counts
    result = await session.execute(
        select(
            OutboxMessage.broadcast_id,
            OutboxMessage.channel,
            OutboxMessage.status,
            func.count(),
        )
        .where(col(OutboxMessage.broadcast_id).in_(wanted))
        .group_by(
            col(OutboxMessage.broadcast_id), col(OutboxMessage.channel), col(OutboxMessage.status)
        )
    )
    for broadcast_id, channel, status, count in result.all():
        counts[int(broadcast_id)][(str(channel), str(status))] = int(count)
    return counts
