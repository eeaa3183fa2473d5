"""What other capabilities add to the overview and to a member's page.

Overview: what is coming up (events, their answer deadlines, polls closing) and broadcasts
still sending. Member page: answers and attendance at events, votes in named polls
(anonymous polls never show who voted what).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.base import utcnow
from models.broadcasts import Broadcast, BroadcastStatus, broadcast_progress
from models.event_attendance import attendees, count
from models.event_rsvps import EventRsvp
from models.events import Event, EventStatus, list_events
from models.members import Member
from models.polls import Poll, PollBallot, PollStatus
from web.pages import members, overview

if TYPE_CHECKING:
    from bot.runtime import Runtime


async def coming_up(session: AsyncSession, rt: Runtime) -> tuple[str, dict[str, Any]] | None:
    now = utcnow()
    events = await list_events(
        session=session, now=now, statuses=(EventStatus.PUBLISHED, EventStatus.DRAFT), limit=5
    )
    rows = [(e, count(await attendees(session=session, event=e))) for e in events]
    polls = list(
        (
            await session.execute(
                select(Poll).where(Poll.status == PollStatus.OPEN).order_by(col(Poll.closes_at))
            )
        ).scalars()
    )
    if not rows and not polls:
        return None
    return "panel_coming_up.html", {"events": rows, "polls": polls}


async def sending(session: AsyncSession, rt: Runtime) -> tuple[str, dict[str, Any]] | None:
    running = list(
        (
            await session.execute(
                select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING)
            )
        ).scalars()
    )
    if not running:
        return None
    progress = await broadcast_progress(
        session=session, broadcast_ids=[b.id for b in running if b.id is not None]
    )
    return "panel_sending.html", {"broadcasts": running, "progress": progress}


async def member_events(session: AsyncSession, member: Member) -> tuple[str, dict[str, Any]] | None:
    rows = (
        await session.execute(
            select(EventRsvp, Event)
            .join(Event, col(Event.id) == col(EventRsvp.event_id))
            .where(EventRsvp.member_id == member.id)
            .order_by(col(Event.starts_at).desc())
            .limit(50)
        )
    ).all()
    if not rows:
        return None
    return "section_events.html", {"rsvps": [(r, e) for r, e in rows]}


async def member_votes(session: AsyncSession, member: Member) -> tuple[str, dict[str, Any]] | None:
    rows = (
        await session.execute(
            select(PollBallot, Poll)
            .join(Poll, col(Poll.id) == col(PollBallot.poll_id))
            .where(PollBallot.member_id == member.id, col(Poll.anonymous).is_(False))
            .order_by(col(Poll.id).desc())
            .limit(50)
        )
    ).all()
    if not rows:
        return None
    return "section_votes.html", {"votes": [(b, p) for b, p in rows]}


def register() -> None:
    if coming_up not in overview.PANELS:
        overview.PANELS.extend([coming_up, sending])
        members.SECTIONS.extend([member_events, member_votes])
