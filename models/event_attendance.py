"""Attendance at an event: the list of who is invited, answering or checked in (with their seat
or waitlist place), the counts for the organiser, and check-in at the door by personal code or by
name (with undo). Reads and marks the `event_rsvp` rows of models.event_rsvps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models import seats
from models.audit import record_audit
from models.event_rsvps import Answer, EventRsvp, rsvp_of
from models.events import SEAT_KIND, Event, EventStatus
from models.members import Member, MemberStatus


@dataclass(frozen=True)
class Attendee:
    member: Member
    rsvp: EventRsvp
    seat: str | None
    place: int | None

    @property
    def status(self) -> str:
        """going | waitlist | maybe | no | invited (no answer yet)."""
        if self.rsvp.answer == Answer.GOING:
            return "waitlist" if self.seat == seats.SeatStatus.WAITING else "going"
        return self.rsvp.answer or "invited"


async def attendees(*, session: AsyncSession, event: Event) -> list[Attendee]:
    """Everyone invited, answering or checked in, with their seat; waitlist in line order."""
    assert event.id is not None
    rows = (
        await session.execute(
            select(EventRsvp, Member)
            .join(Member, col(Member.id) == col(EventRsvp.member_id))
            .where(EventRsvp.event_id == event.id)
            .order_by(col(EventRsvp.answered_at), col(EventRsvp.id))
        )
    ).all()
    line = await seats.seats_in(
        session=session, kind=SEAT_KIND, item_id=event.id, status=seats.SeatStatus.WAITING
    )
    places = {seat.member_id: index for index, seat in enumerate(line, start=1)}
    seated = {
        seat.member_id
        for seat in await seats.seats_in(
            session=session, kind=SEAT_KIND, item_id=event.id, status=seats.SeatStatus.SEATED
        )
    }
    result: list[Attendee] = []
    for rsvp, member in rows:
        if member.status == MemberStatus.ERASED or member.is_simulated:
            continue
        seat = (
            seats.SeatStatus.SEATED
            if member.id in seated
            else seats.SeatStatus.WAITING
            if member.id in places
            else None
        )
        result.append(Attendee(member, rsvp, seat, places.get(member.id or 0)))
    result.sort(key=lambda a: (a.place or 0, a.member.name or ""))
    return result


@dataclass(frozen=True)
class RsvpCounts:
    going: int
    waitlist: int
    maybe: int
    no: int
    no_answer: int
    checked_in: int


def count(people: list[Attendee]) -> RsvpCounts:
    statuses = [a.status for a in people]
    return RsvpCounts(
        going=statuses.count("going"),
        waitlist=statuses.count("waitlist"),
        maybe=statuses.count("maybe"),
        no=statuses.count("no"),
        no_answer=statuses.count("invited"),
        checked_in=sum(1 for a in people if a.rsvp.checked_in_at is not None),
    )


async def rsvp_counts(*, session: AsyncSession, event: Event) -> RsvpCounts:
    return count(await attendees(session=session, event=event))


class CheckInError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class CheckIn:
    member: Member
    already: bool
    at: datetime
    walk_in: bool  # had not answered Going


async def check_in(
    *,
    session: AsyncSession,
    event: Event,
    actor: Member,
    now: datetime,
    code: str | None = None,
    member_id: int | None = None,
) -> CheckIn:
    """At the door: by the personal code, or by choosing the member (people without phones)."""
    assert event.id is not None
    if event.status not in (EventStatus.PUBLISHED, EventStatus.COMPLETED):
        raise CheckInError("events.checkin_not_open")
    row: EventRsvp | None
    if code is not None:
        row = (
            (
                await session.execute(
                    select(EventRsvp).where(
                        EventRsvp.event_id == event.id, EventRsvp.checkin_code == code.strip()
                    )
                )
            )
            .scalars()
            .first()
        )
        if row is None:
            raise CheckInError("events.checkin_unknown_code")
    else:
        assert member_id is not None
        row = await rsvp_of(session=session, event_id=event.id, member_id=member_id)
    target = await session.get(Member, row.member_id if row else member_id)
    if target is None or target.status == MemberStatus.ERASED:
        raise CheckInError("events.checkin_unknown_member")
    if row is not None and row.checked_in_at is not None:
        return CheckIn(target, True, row.checked_in_at, row.answer != Answer.GOING)
    if row is None:
        row = EventRsvp(event_id=event.id, member_id=member_id or 0)
    row.checked_in_at, row.checked_in_by = now, actor.id
    session.add(row)
    await session.flush()
    await record_audit(
        session=session,
        action="event.checkin",
        actor_member_id=actor.id,
        actor_label=f"member:{actor.id}",
        target=f"event:{event.id}",
        details={"member": target.id, "by": "code" if code else "name"},
    )
    return CheckIn(target, False, now, row.answer != Answer.GOING)


async def undo_check_in(
    *, session: AsyncSession, event: Event, member_id: int, actor: Member
) -> bool:
    assert event.id is not None
    row = await rsvp_of(session=session, event_id=event.id, member_id=member_id)
    if row is None or row.checked_in_at is None:
        return False
    row.checked_in_at, row.checked_in_by = None, None
    session.add(row)
    await record_audit(
        session=session,
        action="event.checkin_undo",
        actor_member_id=actor.id,
        actor_label=f"member:{actor.id}",
        target=f"event:{event.id}",
        details={"member": member_id},
    )
    return True
