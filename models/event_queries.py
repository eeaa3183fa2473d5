"""Read-only questions about answers and attendance: a member's open invitations (for a bare
SMS `YES`), their attendance history (/events) and the attendance numbers for /stats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.base import utcnow
from models.event_rsvps import Answer, EventRsvp
from models.events import Event, EventStatus
from models.members import Member


async def open_invites(*, session: AsyncSession, member: Member, now: datetime) -> list[Event]:
    """Published events announced to this member whose RSVP is still open, soonest first."""
    query = (
        select(Event)
        .join(EventRsvp, col(EventRsvp.event_id) == col(Event.id))
        .where(
            EventRsvp.member_id == member.id,
            col(EventRsvp.invited_at).is_not(None),
            Event.status == EventStatus.PUBLISHED,
            col(Event.starts_at) > now,
        )
        .order_by(col(Event.starts_at))
    )
    return [e for e in (await session.execute(query)).scalars() if e.rsvp_open(now)]


async def member_history(*, session: AsyncSession, member_id: int) -> tuple[int, int]:
    """(events attended, events answered Going) for one member."""
    attended = await session.execute(
        select(func.count()).where(
            col(EventRsvp.member_id) == member_id, col(EventRsvp.checked_in_at).is_not(None)
        )
    )
    going = await session.execute(
        select(func.count()).where(
            col(EventRsvp.member_id) == member_id, col(EventRsvp.answer) == Answer.GOING
        )
    )
    return int(attended.scalar_one()), int(going.scalar_one())


async def attendance_overview(
    *, session: AsyncSession, since: datetime | None = None
) -> dict[str, int]:
    """For /stats: events held, check-ins, members who attended at least once, RSVPs Going."""
    events = select(Event.id).where(
        col(Event.status).in_((EventStatus.PUBLISHED, EventStatus.COMPLETED)),
        col(Event.starts_at) <= utcnow(),
    )
    if since is not None:
        events = events.where(col(Event.starts_at) >= since)
    held = list((await session.execute(events)).scalars())
    if not held:
        return {"events": 0, "checkins": 0, "attendees": 0, "going": 0}
    rows = (
        await session.execute(
            select(EventRsvp.member_id, EventRsvp.answer, EventRsvp.checked_in_at)
            .join(Member, col(Member.id) == col(EventRsvp.member_id))
            .where(col(EventRsvp.event_id).in_(held), col(Member.is_simulated).is_(False))
        )
    ).all()
    checkins = [r for r in rows if r[2] is not None]
    return {
        "events": len(held),
        "checkins": len(checkins),
        "attendees": len({r[0] for r in checkins}),
        "going": sum(1 for r in rows if r[1] == Answer.GOING),
    }
