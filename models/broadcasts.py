"""Secretariat broadcasts: one message (Georgian, optionally az/ru/en) to an audience.

Broadcast status::

    (draft in a Dialog) ──Send──> sending ──no row waiting any more──> done
                                     └──Stop sending──> cancelled (queued rows cancelled)

Publishing writes the Broadcast and one outbox row per recipient and channel in one
transaction, then returns; the delivery engine does the rest. The recipients are the
members the secretariat saw in the preview (their ids travel with the draft); whether each
still wants announcements is checked again when their row is sent (bot.delivery_outcomes).
Each member gets the text in their language, else by the fallback chain (az → ru → ka,
ru → ka, en → ka: bot.i18n.pick_content). Scheduled and recurring broadcasts are
`BroadcastSchedule` rows (models.broadcast_schedules); each of their runs is a Broadcast.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.i18n import pick_content
from bot.settings import Settings
from models.audiences import Audience, Reach, audience_reach, reach_of
from models.base import UTCDateTime, add_if_absent, utcnow
from models.members import Member, MemberStatus
from models.outbox import PENDING_STATUSES, OutStatus, Priority, cancel_queued, status_counts

if TYPE_CHECKING:
    from bot.outbound import Button, Outgoing

# Telegram inline buttons per language ({language: rows}); SMS rows never carry them.
Buttons = dict[str, list[list["Button"]]]

MAX_TEXT = 1500  # leaves room for the "how to stop" line within Twilio's 1600 characters
LANGUAGES = ("ka", "az", "ru", "en")


class BroadcastStatus(enum.StrEnum):
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=BroadcastStatus.SENDING, max_length=20, index=True)
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    urgent: bool = False
    created_by: int | None = Field(default=None, foreign_key="member.id", index=True)
    schedule_id: int | None = Field(default=None, foreign_key="broadcast_schedule.id", index=True)
    occurrence_key: str | None = Field(default=None, max_length=80, unique=True)
    recipients: int = 0
    reach: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sms_parts: int = 0  # estimated when published
    est_cost: float = 0.0
    over_budget: bool = False  # published although over the monthly budget (confirmed twice)
    notify_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    notify_message_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlreadyPublished(Exception):
    """This run of a schedule was published already (by another tick or process)."""


def compose(texts: dict[str, str], member: Member, buttons: Buttons | None = None) -> Outgoing:
    """What one member gets: their language, else the fallback chain; the buttons labelled
    in the member's own language when given (else in the text's, else Georgian)."""
    from bot.outbound import Outgoing  # bot.outbound imports models: import when used

    language, text = pick_content(texts, member.language)
    rows: list[list[Button]] = []
    if buttons:
        rows = buttons.get(member.language) or buttons.get(language) or buttons.get("ka") or []
    return Outgoing(text=text, language=language, buttons=list(rows))


def clean_texts(texts: dict[str, str]) -> dict[str, str]:
    return {lang: texts[lang].strip() for lang in LANGUAGES if (texts.get(lang) or "").strip()}


async def fixed_recipients(*, session: AsyncSession, member_ids: list[int], urgent: bool) -> Reach:
    """The members of a preview, as they are now (erased or silenced ones drop out)."""
    if not member_ids:
        return Reach()
    result = await session.execute(
        select(Member)
        .where(col(Member.id).in_(member_ids), col(Member.status) == MemberStatus.ACTIVE)
        .order_by(col(Member.id))
    )
    return reach_of(list(result.scalars()), urgent=urgent)


@dataclass(frozen=True)
class Estimate:
    sms_parts: int = 0
    cost: float = 0.0
    over_budget: bool = False


async def publish_broadcast(
    *,
    session: AsyncSession,
    settings: Settings,
    texts: dict[str, str],
    audience: Audience,
    urgent: bool,
    created_by: int | None,
    member_ids: list[int] | None = None,
    estimate: Estimate | None = None,
    schedule_id: int | None = None,
    occurrence_key: str | None = None,
    notify_chat_id: int | None = None,
    shown_reach: dict[str, int] | None = None,
    now: datetime | None = None,
    buttons: Buttons | None = None,
) -> Broadcast:
    """The Broadcast and every recipient's outbox rows, in the caller's one transaction.

    `member_ids`: the recipients the preview showed; None: whoever the audience covers now.
    `shown_reach`: the counts per channel the preview showed (kept for the report).
    `buttons`: Telegram inline buttons per language ({"ka": rows, "az": rows, ...}), each
    member's row labelled in their language; SMS rows are unaffected (no buttons there).
    """
    from bot.outbound import queue_for_member

    now = now or utcnow()
    texts = clean_texts(texts)
    if not texts.get("ka"):
        raise ValueError("a broadcast needs its Georgian text")
    if member_ids is None:
        reach = await audience_reach(
            session=session,
            audience=audience,
            now=now,
            urgent=urgent,
            youth_min=settings.youth_min_age,
            youth_max=settings.youth_max_age,
        )
    else:
        reach = await fixed_recipients(session=session, member_ids=member_ids, urgent=urgent)
    estimate = estimate or Estimate()
    broadcast = Broadcast(
        texts=texts,
        audience=audience.to_json(),
        urgent=urgent,
        created_by=created_by,
        schedule_id=schedule_id,
        occurrence_key=occurrence_key,
        reach=shown_reach
        or {
            "telegram": reach.telegram,
            "sms": reach.sms,
            "unreachable": reach.unreachable,
            "opted_out": reach.opted_out,
        },
        sms_parts=estimate.sms_parts,
        est_cost=round(estimate.cost, 4),
        over_budget=estimate.over_budget,
        notify_chat_id=notify_chat_id,
        created_at=now,
    )
    added = await add_if_absent(session, broadcast, ["occurrence_key"])
    if added is None:  # this run was published by another tick or process
        raise AlreadyPublished(occurrence_key)
    broadcast = added
    assert broadcast.id is not None
    recipients = 0
    for member in reach.recipients:
        rows = await queue_for_member(
            session=session,
            settings=settings,
            member=member,
            message=compose(texts, member, buttons),
            kind="broadcast",
            priority=Priority.BULK,
            urgent=urgent,
            now=now,
            broadcast_id=broadcast.id,
            dedupe_key=f"bc:{broadcast.id}:m:{member.id}",
        )
        recipients += bool(rows)
    broadcast.recipients = recipients
    if recipients == 0:
        broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, now
    session.add(broadcast)
    await session.flush()
    return broadcast


async def cancel_broadcast(*, session: AsyncSession, broadcast_id: int) -> int:
    """Stop sending: rows not yet taken are cancelled; returns how many."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return 0
    cancelled = await cancel_queued(session=session, broadcast_id=broadcast_id)
    if broadcast.status == BroadcastStatus.SENDING:
        broadcast.status, broadcast.finished_at = BroadcastStatus.CANCELLED, utcnow()
        session.add(broadcast)
    return cancelled


@dataclass(frozen=True)
class Progress:
    """Where a broadcast's rows are: what the live confirmation and the CLI show."""

    total: int
    sent: int  # accepted by Telegram or the SMS provider (delivered or not)
    delivered: int
    failed: int  # failed, undelivered
    skipped: int  # opted out or blocked since publishing (SMS fallback counted separately)
    waiting: int  # queued or being sent
    cancelled: int
    no_report: int
    by_channel: dict[str, int]

    @property
    def finished(self) -> bool:
        return self.waiting == 0

    @property
    def handled(self) -> int:
        return self.total - self.waiting


def progress_of(counts: dict[tuple[str, str], int]) -> Progress:
    def total(*statuses: str) -> int:
        return sum(n for (_, status), n in counts.items() if status in statuses)

    by_channel: dict[str, int] = {}
    for (channel, _), n in counts.items():
        by_channel[channel] = by_channel.get(channel, 0) + n
    return Progress(
        total=sum(counts.values()),
        sent=total(OutStatus.SENT, OutStatus.DELIVERED, OutStatus.UNDELIVERED, OutStatus.NO_REPORT),
        delivered=total(OutStatus.DELIVERED),
        failed=total(OutStatus.FAILED, OutStatus.UNDELIVERED),
        skipped=total(OutStatus.SKIPPED),
        waiting=total(*PENDING_STATUSES),
        cancelled=total(OutStatus.CANCELLED),
        no_report=total(OutStatus.NO_REPORT),
        by_channel=by_channel,
    )


async def broadcast_progress(
    *, session: AsyncSession, broadcast_ids: list[int]
) -> dict[int, Progress]:
    counts = await status_counts(session=session, broadcast_ids=broadcast_ids)
    return {bid: progress_of(c) for bid, c in counts.items()}


async def finish_if_done(
    *, session: AsyncSession, broadcast: Broadcast, progress: Progress
) -> bool:
    """Mark a sending broadcast done once no row waits; True when it just finished."""
    if broadcast.status != BroadcastStatus.SENDING or not progress.finished:
        return False
    broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, utcnow()
    session.add(broadcast)
    return True


async def recent_broadcasts(*, session: AsyncSession, limit: int = 10) -> list[Broadcast]:
    result = await session.execute(
        select(Broadcast).order_by(col(Broadcast.id).desc()).limit(limit)
    )
    return list(result.scalars())
