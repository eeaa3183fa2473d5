"""What the scheduler did, what the secretariat skipped, who schedules, and one-off notices.

`reminder_log` holds one row per (item, recipient, reminder) key: its unique key is what makes
a reminder go once, however many ticks or processes run. Outcomes::

    (due) ──planned time reached──> queued        (outbox rows written)
          ├──no reachable channel──> unreachable
          ├──past its grace time───> skipped      (logged once; the bot was down too long)
          ├──ref skipped by staff──> cancelled
          └──"send now" by staff───> sent_now

`reminder_skip` holds the refs (one reminder of one subject, all recipients) the secretariat
skipped in /reminders; restoring deletes the row. `scheduler_lease` is the single-scheduler
lease on SQLite (on PostgreSQL an advisory lock decides and the row only reports who runs).
`scheduled_notice` is a one-off personal message at a time, for capabilities that need no
provider of their own (erased with the member on /forget)::

    scheduled ──due──> (sent by the scheduler: see reminder_log "notice:<key>")
        └──cancel_notice──> cancelled
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from models.base import UTCDateTime, insert_if_absent, utcnow
from models.privacy import register_eraser

OUTCOMES = ("queued", "unreachable", "skipped", "cancelled", "sent_now")


class ReminderLog(SQLModel, table=True):
    __tablename__ = "reminder_log"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    provider: str = Field(max_length=40, index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    outcome: str = Field(max_length=20)  # see OUTCOMES
    due_at: datetime = Field(sa_type=UTCDateTime)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ref: str | None = Field(default=None, max_length=200, index=True)
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    detail: str | None = Field(default=None, max_length=200)


class ReminderSkip(SQLModel, table=True):
    __tablename__ = "reminder_skip"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=200, unique=True)
    provider: str = Field(max_length=40)
    title: str = Field(default="", max_length=200)
    actor_member_id: int | None = Field(default=None, foreign_key="member.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SchedulerLease(SQLModel, table=True):
    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=120)
    acquired_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_tick_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ScheduledNotice(SQLModel, table=True):
    __tablename__ = "scheduled_notice"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    text: str = Field(max_length=4000)
    sms_text: str | None = Field(default=None, max_length=1000)
    title: str = Field(default="", max_length=200)
    kind: str = Field(default="notice", max_length=40)
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    not_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    urgent: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# -- the log ------------------------------------------------------------------------------
async def logged_keys(*, session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """Which of `keys` the scheduler already handled (sent, skipped, ...)."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        result = await session.execute(
            select(ReminderLog.key).where(col(ReminderLog.key).in_(chunk))
        )
        found.update(result.scalars())
    return found


async def claim_key(
    *,
    session: AsyncSession,
    key: str,
    provider: str,
    member_id: int | None,
    outcome: str,
    due_at: datetime,
    ref: str | None = None,
    planned_at: datetime | None = None,
    detail: str | None = None,
) -> ReminderLog | None:
    """Record that `key` is handled; None when another tick or process already did.

    A lost race raises nothing and leaves the caller's transaction usable.
    """
    assert outcome in OUTCOMES, outcome
    values = {
        "key": key,
        "provider": provider,
        "member_id": member_id,
        "outcome": outcome,
        "due_at": due_at,
        "at": utcnow(),
        "ref": ref,
        "planned_at": planned_at,
        "detail": detail[:200] if detail else None,
    }
    new_id = await _insert_new(session, ReminderLog, values, "key")
    return None if new_id is None else await session.get(ReminderLog, new_id)


async def _insert_new(
    session: AsyncSession, table: type[SQLModel], values: dict[str, Any], unique: str
) -> Any:
    return await insert_if_absent(session, table, values, [unique])


async def set_outcome(*, session: AsyncSession, entry: ReminderLog, outcome: str) -> None:
    assert outcome in OUTCOMES, outcome
    entry.outcome = outcome
    session.add(entry)
    await session.flush()


async def history(*, session: AsyncSession, ref: str) -> dict[str, int]:
    """How many recipients of `ref` ended in each outcome."""
    result = await session.execute(select(ReminderLog.outcome).where(col(ReminderLog.ref) == ref))
    counts: dict[str, int] = {}
    for outcome in result.scalars():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# -- skipped refs -------------------------------------------------------------------------
async def skipped_refs(*, session: AsyncSession) -> set[str]:
    return set((await session.execute(select(ReminderSkip.ref))).scalars())


async def skip_ref(
    *, session: AsyncSession, ref: str, provider: str, title: str, actor_member_id: int | None
) -> bool:
    """Skip every recipient of `ref` not yet sent; False when it was already skipped."""
    values = {
        "ref": ref,
        "provider": provider,
        "title": title[:200],
        "actor_member_id": actor_member_id,
        "at": utcnow(),
    }
    return await _insert_new(session, ReminderSkip, values, "ref") is not None


async def restore_ref(*, session: AsyncSession, ref: str) -> bool:
    result = await session.execute(delete(ReminderSkip).where(col(ReminderSkip.ref) == ref))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- the single scheduler (SQLite lease; a status row on PostgreSQL) ----------------------
async def take_lease(
    *, session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Acquire or renew the lease `name` for `holder`; False while another holder's is alive.

    Call inside a write transaction (SQLite's BEGIN IMMEDIATE serializes the read and write).
    """
    lease = await session.get(SchedulerLease, name, with_for_update=True)
    if lease is None:
        values = {"name": name, "holder": holder, "acquired_at": now, "expires_at": now + ttl}
        return await _insert_new(session, SchedulerLease, values, "name") is not None
    if lease.holder != holder and lease.expires_at > now:
        return False
    if lease.holder != holder:
        lease.holder, lease.acquired_at = holder, now
    lease.expires_at = now + ttl
    session.add(lease)
    await session.flush()
    return True


async def release_lease(*, session: AsyncSession, name: str, holder: str) -> None:
    await session.execute(
        update(SchedulerLease)
        .where(col(SchedulerLease.name) == name, col(SchedulerLease.holder) == holder)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )


async def record_tick(
    *, session: AsyncSession, name: str, holder: str, now: datetime, status_ttl: timedelta | None
) -> None:
    """The active scheduler reports itself (what /reminders shows as "last ran").

    With a lease (SQLite) only its holder's row is touched and never extended here. Without one
    (PostgreSQL: the advisory lock decides) the row is a status report: `status_ttl` keeps it.
    """
    lease = await session.get(SchedulerLease, name)
    if lease is None:
        if status_ttl is None:
            return
        lease = SchedulerLease(name=name, holder=holder, acquired_at=now, expires_at=now)
    if status_ttl is not None:
        if lease.holder != holder:
            lease.holder, lease.acquired_at = holder, now
        lease.expires_at = now + status_ttl
    elif lease.holder != holder:
        return
    lease.last_tick_at = now
    session.add(lease)
    await session.flush()


async def get_lease(*, session: AsyncSession, name: str) -> SchedulerLease | None:
    return await session.get(SchedulerLease, name)


# -- one-off notices ----------------------------------------------------------------------
async def schedule_notice(
    *,
    session: AsyncSession,
    key: str,
    member_id: int,
    text: str,
    due_at: datetime,
    not_after: datetime | None = None,
    sms_text: str | None = None,
    title: str = "",
    kind: str = "notice",
    urgent: bool = False,
) -> ScheduledNotice:
    """A personal message to go at `due_at` (already in the member's language).

    Scheduling the same `key` again moves it (a notice already sent is not sent again).
    """
    result = await session.execute(select(ScheduledNotice).where(ScheduledNotice.key == key))
    notice = result.scalars().first() or ScheduledNotice(
        key=key, member_id=member_id, text=text, due_at=due_at
    )
    notice.member_id, notice.text, notice.sms_text = member_id, text, sms_text
    notice.due_at, notice.not_after, notice.urgent = due_at, not_after, urgent
    notice.title, notice.kind, notice.cancelled_at = title[:200], kind, None
    session.add(notice)
    await session.flush()
    return notice


async def cancel_notice(*, session: AsyncSession, key: str) -> bool:
    result = await session.execute(
        update(ScheduledNotice)
        .where(col(ScheduledNotice.key) == key, col(ScheduledNotice.cancelled_at).is_(None))
        .values(cancelled_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def notices_between(
    *, session: AsyncSession, start: datetime, end: datetime
) -> list[ScheduledNotice]:
    result = await session.execute(
        select(ScheduledNotice)
        .where(
            col(ScheduledNotice.cancelled_at).is_(None),
            col(ScheduledNotice.due_at) >= start,
            col(ScheduledNotice.due_at) < end,
        )
        .order_by(col(ScheduledNotice.due_at), col(ScheduledNotice.id))
    )
    return list(result.scalars())


async def erase_notices(session: AsyncSession, member_id: int, _values: list[str]) -> int:
    """/forget: notices still waiting for the member go (their text may be personal)."""
    result = await session.execute(
        delete(ScheduledNotice).where(col(ScheduledNotice.member_id) == member_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


register_eraser(erase_notices)
