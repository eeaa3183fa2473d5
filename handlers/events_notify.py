"""Everything the events capability sends on its own: announcements and personal notices.

All of it goes through the outbox (bot.outbound.queue_for_member: channel policy, the member's
language and SMS script, quiet hours for bulk); callers wake the delivery engine after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.outbound import queue_for_member
from bot.runtime import Runtime
from handlers.events_render import announcement, cancel_notice, change_notice, promoted_notice
from models import seats
from models.audiences import select_members
from models.event_attendance import attendees
from models.event_rsvps import (
    EventRsvp,
    RsvpOutcome,
    answer_rsvp,
    promote_after_capacity_change,
    record_invites,
)
from models.events import (
    NOTIFYING_FIELDS,
    SEAT_KIND,
    Event,
    EventStatus,
    apply_changes,
    mark_cancelled,
    mark_published,
)
from models.members import Member
from models.outbox import Priority


async def announce(
    rt: Runtime, session: AsyncSession, event: Event, members: list[Member], now: datetime
) -> int:
    """Queue the announcement for each member; returns how many could be reached."""
    assert event.id is not None
    counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=event.id)
    reached = 0
    for member in members:
        message = announcement(event, member.language, rt.settings, now, counts=counts)
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=message,
            kind="event.announce",
            priority=Priority.BULK,
            now=now,
            dedupe_key=f"event:{event.id}:announce:{member.id}",
        )
        reached += bool(rows)
    return reached


async def audience_members(
    rt: Runtime, session: AsyncSession, event: Event, now: datetime
) -> list[Member]:
    return await select_members(
        session=session,
        audience=event.audience_filter(),
        now=now,
        youth_min=rt.settings.youth_min_age,
        youth_max=rt.settings.youth_max_age,
    )


async def publish_and_announce(
    rt: Runtime, session: AsyncSession, event: Event, actor: Member | None, now: datetime
) -> tuple[int, int]:
    """draft → published, and the announcement to its audience: (invited, reachable)."""
    assert event.id is not None
    await mark_published(session=session, event=event, actor=actor, now=now)
    await seats.ensure_pool(session=session, kind=SEAT_KIND, item_id=event.id)
    return await invite_audience(rt, session, event, now)


async def invite_audience(
    rt: Runtime, session: AsyncSession, event: Event, now: datetime
) -> tuple[int, int]:
    """Announce to everyone in the audience not announced to yet (after publish, or when the
    audience of a published event grows)."""
    fresh = await record_invites(
        session=session,
        event=event,
        members=await audience_members(rt, session, event, now),
        now=now,
    )
    return len(fresh), await announce(rt, session, event, fresh, now)


async def notify_promoted(
    rt: Runtime, session: AsyncSession, event: Event, member_ids: list[int], now: datetime
) -> None:
    """Tell each promoted member at once that the seat is theirs (with their check-in code)."""
    assert event.id is not None
    for member_id in member_ids:
        member = await session.get(Member, member_id)
        rsvp = (
            (
                await session.execute(
                    select(EventRsvp).where(
                        EventRsvp.event_id == event.id, EventRsvp.member_id == member_id
                    )
                )
            )
            .scalars()
            .first()
        )
        if member is None:
            continue
        code = rsvp.checkin_code if rsvp else None
        await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=promoted_notice(event, member.language, rt.settings, now, code),
            kind="event.promoted",
            priority=Priority.NOTICE,
            now=now,
        )


async def _answerers(session: AsyncSession, event: Event) -> list[tuple[Member, str]]:
    """Going (seated or waitlisted) and Maybe: who must hear about a change or cancellation."""
    people = await attendees(session=session, event=event)
    return [
        (a.member, a.rsvp.answer or "")
        for a in people
        if a.status in ("going", "waitlist", "maybe")
    ]


async def notify_change(rt: Runtime, session: AsyncSession, event: Event, now: datetime) -> int:
    """Time or place changed: everyone Going, Maybe or waitlisted gets the new details."""
    count = 0
    for member, answer in await _answerers(session, event):
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=change_notice(event, member.language, rt.settings, now, answer),
            kind="event.changed",
            priority=Priority.NOTICE,
            now=now,
            dedupe_key=f"event:{event.id}:change:{event.sequence}:{member.id}",
        )
        count += bool(rows)
    return count


async def notify_cancel(rt: Runtime, session: AsyncSession, event: Event, now: datetime) -> int:
    count = 0
    for member, _answer in await _answerers(session, event):
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=cancel_notice(event, member.language, rt.settings, now),
            kind="event.cancelled",
            priority=Priority.NOTICE,
            now=now,
            dedupe_key=f"event:{event.id}:cancel:{member.id}",
        )
        count += bool(rows)
    return count


async def invited_count(session: AsyncSession, event: Event) -> int:
    rows = await session.execute(
        select(EventRsvp.id).where(
            EventRsvp.event_id == event.id, col(EventRsvp.invited_at).is_not(None)
        )
    )
    return len(rows.all())


async def answer_and_notify(
    rt: Runtime,
    session: AsyncSession,
    event: Event,
    member: Member,
    answer: str | None,
    *,
    channel: str,
    now: datetime,
) -> RsvpOutcome:
    """Record the answer; whoever it frees a seat for is told at once (delivery woken by caller)."""
    outcome = await answer_rsvp(
        session=session,
        event=event,
        member=member,
        answer=answer,
        channel=channel,
        settings=rt.settings,
        now=now,
    )
    if outcome.promoted:
        await notify_promoted(rt, session, event, outcome.promoted, now)
    return outcome


async def apply_and_notify(
    rt: Runtime,
    session: AsyncSession,
    event: Event,
    changes: dict[str, Any],
    actor: Member | None,
    now: datetime,
) -> tuple[list[str], int]:
    """Save changes to an event (models.events.apply_changes: EventInputError / EventStateError
    before anything is saved), then tell whoever must know when it is published: new time or
    place to everyone Going, Maybe or waitlisted, more seats promote from the waitlist, a wider
    audience is announced to the newcomers. Returns (changed fields, members told); shared by
    /editevent and the dashboard. The caller commits and wakes the delivery engine."""
    changed = await apply_changes(
        session=session, event=event, changes=changes, actor=actor, now=now
    )
    told = 0
    if event.status == EventStatus.PUBLISHED:
        if NOTIFYING_FIELDS & set(changed):
            told += await notify_change(rt, session, event, now)
        if "capacity" in changed:
            promoted = await promote_after_capacity_change(session=session, event=event)
            await notify_promoted(rt, session, event, promoted, now)
            told += len(promoted)
        if "audience" in changed:
            told += (await invite_audience(rt, session, event, now))[1]
    return changed, told


async def cancel_and_notify(
    rt: Runtime, session: AsyncSession, event: Event, actor: Member | None, now: datetime
) -> int:
    """Cancel the event (EventStateError if it cannot be) and tell everyone who answered;
    returns how many were told. The bot, the dashboard and grant calls all cancel this way."""
    await mark_cancelled(session=session, event=event, actor=actor, now=now)
    return await notify_cancel(rt, session, event, now)
