"""Invitations and answers (RSVPs) to events: the `event_rsvp` table, who may answer, Going /
Maybe / Not going with the seat or waitlist place it takes, invitations, and /mydata. The list
of who is coming, the counts and check-in at the door work on the same rows in
models.event_attendance.

One row per (event, member): created when the announcement goes out (`invited_at`), or when
someone in the audience answers without having been announced to, or is checked in at the
door (models.event_attendance.check_in). Answer::

    (none) ──Going──> going (seated | waitlisted, see models.seats) ──Maybe / Not going──> …
      ^                 │
      └───withdraw──────┘    any change only while RSVP is open (before deadline and start)

Every change of answer takes the event's seat-pool lock first (models.seats), so answers to
one event are serialized: the seat count, the waitlist order and the check-in codes stay
consistent under any number of simultaneous answers.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.settings import Settings
from models import seats
from models.audiences import matches
from models.audit import record_audit
from models.base import UTCDateTime
from models.events import SEAT_KIND, Event, EventStatus
from models.members import Member, MemberStatus
from models.privacy import iso, register_exporter


class Answer(enum.StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NO = "no"


class EventRsvp(SQLModel, table=True):
    __tablename__ = "event_rsvp"
    __table_args__ = (
        UniqueConstraint("event_id", "member_id", name="uq_event_rsvp_member"),
        UniqueConstraint("event_id", "checkin_code", name="uq_event_rsvp_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    invited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=10)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel: str | None = Field(default=None, max_length=20)  # telegram | sms | secretariat
    checkin_code: str | None = Field(default=None, max_length=8)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_by: int | None = Field(default=None, foreign_key="member.id")


class RsvpRefused(Exception):
    """This member cannot answer for this event now; `key` names the reason's message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class RsvpOutcome:
    answer: str | None  # going | maybe | no | None (withdrawn / never answered)
    seat: str | None  # seated | waiting | released | None
    place: int | None  # 1-based waitlist place
    changed: bool
    checkin_code: str | None = None
    promoted: list[int] = field(default_factory=list)  # member ids who just got a seat

    @property
    def waitlisted(self) -> bool:
        return self.answer == Answer.GOING and self.seat == seats.SeatStatus.WAITING


async def rsvp_of(*, session: AsyncSession, event_id: int, member_id: int) -> EventRsvp | None:
    query = (
        select(EventRsvp)
        .where(EventRsvp.event_id == event_id, EventRsvp.member_id == member_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalars().first()


def in_audience(event: Event, member: Member, settings: Settings, now: datetime) -> bool:
    # A simulated member (the dashboard's simulator) may answer like a real one; they are only
    # left out of announcements and counts.
    return matches(
        member,
        event.audience_filter().model_copy(update={"include_simulated": True}),
        year=now.astimezone(settings.tz).year,
        youth_min=settings.youth_min_age,
        youth_max=settings.youth_max_age,
    )


async def may_answer(
    *, session: AsyncSession, event: Event, member: Member, settings: Settings, now: datetime
) -> EventRsvp | None:
    """The member's row when they may answer now; raises RsvpRefused with the reason."""
    if event.status == EventStatus.DRAFT:
        raise RsvpRefused("events.refused_unknown")
    if event.status == EventStatus.CANCELLED:
        raise RsvpRefused("events.refused_cancelled")
    if member.status != MemberStatus.ACTIVE:
        raise RsvpRefused("events.refused_not_member")
    assert event.id is not None and member.id is not None
    row = await rsvp_of(session=session, event_id=event.id, member_id=member.id)
    invited = row is not None and row.invited_at is not None
    if not invited and not in_audience(event, member, settings, now):
        raise RsvpRefused("events.refused_not_in_audience")
    if not event.rsvp_open(now):
        raise RsvpRefused("events.refused_closed")
    return row


async def _new_code(session: AsyncSession, event_id: int) -> str:
    taken = set(
        (
            await session.execute(
                select(EventRsvp.checkin_code).where(
                    EventRsvp.event_id == event_id, col(EventRsvp.checkin_code).is_not(None)
                )
            )
        ).scalars()
    )
    while True:
        code = f"{1000 + secrets.randbelow(9000)}"
        if code not in taken:
            return code


async def _give_code(session: AsyncSession, event_id: int, member_id: int) -> str:
    row = await rsvp_of(session=session, event_id=event_id, member_id=member_id)
    if row is None:
        row = EventRsvp(event_id=event_id, member_id=member_id)
    if row.checkin_code is None:
        row.checkin_code = await _new_code(session, event_id)
        session.add(row)
        await session.flush()
    assert row.checkin_code is not None
    return row.checkin_code


async def answer_rsvp(
    *,
    session: AsyncSession,
    event: Event,
    member: Member,
    answer: str | None,
    channel: str,
    settings: Settings,
    now: datetime,
    actor: Member | None = None,
) -> RsvpOutcome:
    """Record Going / Maybe / Not going (or None: withdraw); the same answer twice is a no-op.

    Going takes a seat or a waitlist place; leaving Going frees the seat for the head of the
    waitlist (their ids are in `promoted`, each already holding a check-in code).
    """
    assert event.id is not None and member.id is not None
    if answer is not None and answer not in set(Answer):
        raise ValueError(answer)
    # The event's seat-pool lock first: every answer to this event is serialized from here.
    await seats.ensure_pool(session=session, kind=SEAT_KIND, item_id=event.id)
    row = await may_answer(session=session, event=event, member=member, settings=settings, now=now)
    if row is not None and row.answer == answer and member.is_simulated:
        going = answer == Answer.GOING
        return RsvpOutcome(answer, seats.SeatStatus.SEATED if going else None, None, False,
                           row.checkin_code if going else None)  # fmt: skip
    if row is not None and row.answer == answer:
        seat = await seats.seat_of(
            session=session, kind=SEAT_KIND, item_id=event.id, member_id=member.id
        )
        same_code = row.checkin_code if seat.status == seats.SeatStatus.SEATED else None
        return RsvpOutcome(answer, seat.status, seat.place, False, same_code)
    if row is None:
        row = EventRsvp(event_id=event.id, member_id=member.id)
    previous = row.answer
    row.answer, row.answered_at, row.channel = answer, now, channel
    session.add(row)
    await session.flush()
    promoted: list[int] = []
    code: str | None = None
    if member.is_simulated:
        # The dashboard's simulator tries the whole conversation, but a test person never
        # takes (or frees) a real seat: Going is answered as seated, the pool is untouched.
        going = answer == Answer.GOING
        seat_status: str | None = seats.SeatStatus.SEATED if going else None
        place, code = None, await _give_code(session, event.id, member.id) if going else None
    elif answer == Answer.GOING:
        taken = await seats.take_seat(
            session=session,
            kind=SEAT_KIND,
            item_id=event.id,
            member_id=member.id,
            capacity=event.capacity,
        )
        seat_status, place = taken.status, taken.place
        if seat_status == seats.SeatStatus.SEATED:
            code = await _give_code(session, event.id, member.id)
    else:
        released = await seats.release_seat(
            session=session,
            kind=SEAT_KIND,
            item_id=event.id,
            member_id=member.id,
            capacity=event.capacity,
        )
        seat_status, place, promoted = released.status, None, released.promoted
        for promoted_id in promoted:
            await _give_code(session, event.id, promoted_id)
    await record_audit(
        session=session,
        action="event.rsvp",
        actor_member_id=(actor or member).id,
        actor_label=f"{channel}:{(actor or member).id}",
        target=f"event:{event.id}",
        details={
            "member": member.id,
            "from": previous,
            "to": answer,
            "seat": seat_status,
            "promoted": promoted,
        },
    )
    return RsvpOutcome(answer, seat_status, place, True, code, promoted)


async def promote_after_capacity_change(*, session: AsyncSession, event: Event) -> list[int]:
    """After the capacity grew: seat whoever now fits, in waitlist order, with codes."""
    assert event.id is not None
    promoted = await seats.set_capacity(
        session=session, kind=SEAT_KIND, item_id=event.id, capacity=event.capacity
    )
    for member_id in promoted:
        await _give_code(session, event.id, member_id)
    return promoted


async def record_invites(
    *, session: AsyncSession, event: Event, members: list[Member], now: datetime
) -> list[Member]:
    """Mark these members as announced to; returns those not announced to before."""
    assert event.id is not None
    existing = {
        row.member_id: row
        for row in (
            await session.execute(select(EventRsvp).where(EventRsvp.event_id == event.id))
        ).scalars()
    }
    fresh: list[Member] = []
    for member in members:
        assert member.id is not None
        row = existing.get(member.id)
        if row is not None and row.invited_at is not None:
            continue
        row = row or EventRsvp(event_id=event.id, member_id=member.id)
        row.invited_at = now
        session.add(row)
        fresh.append(member)
    await session.flush()
    return fresh


async def export_rsvps(session: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    """/mydata: the member's invitations and answers to events, and check-ins."""
    rows = (
        await session.execute(
            select(EventRsvp, Event)
            .join(Event, col(Event.id) == col(EventRsvp.event_id))
            .where(col(EventRsvp.member_id) == member_id)
            .order_by(col(EventRsvp.id))
        )
    ).all()
    return [
        {
            "event": event.code,
            "title": event.title,
            "starts_at": iso(event.starts_at),
            "invited_at": iso(rsvp.invited_at),
            "answer": rsvp.answer,
            "answered_at": iso(rsvp.answered_at),
            "channel": rsvp.channel,
            "checked_in_at": iso(rsvp.checked_in_at),
        }
        for rsvp, event in rows
    ]


register_exporter("event_answers", export_rsvps, label_key="members.mydata_event_answers")
