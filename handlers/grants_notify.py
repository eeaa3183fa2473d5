"""Everything the grant competition sends on its own: the call's announcement, and personal
notices (stage changes, changed terms, cancellation).

All of it goes through the outbox (bot.outbound.queue_for_member: channel policy, the member's
language and SMS script, quiet hours for bulk); callers wake the delivery engine after commit.
Info sessions are events: publishing a call publishes its draft info-session events, which the
events capability announces as events (with their own RSVP).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.outbound import queue_for_member
from bot.runtime import Runtime
from handlers.events_notify import cancel_and_notify as cancel_event
from handlers.events_notify import publish_and_announce as publish_event
from handlers.grants_render import announcement, cancel_notice, change_notice, stage_notice
from models.audiences import select_members
from models.events import EventInputError, EventStateError, EventStatus
from models.grants import (
    GrantCall,
    GrantInfoSession,
    GrantStatus,
    info_sessions,
    mark_cancelled,
    mark_published,
)
from models.grants_applicants import GrantApplicant, active_applicants
from models.members import Member
from models.outbox import OutboxMessage, Priority

log = logging.getLogger(__name__)


def _announce_key(call: GrantCall, member_id: int | None) -> str:
    return f"grant:{call.id}:announce:{member_id}"


async def _announced(session: AsyncSession, call: GrantCall) -> set[int]:
    """Members the announcement was already queued for (its outbox dedupe keys)."""
    prefix = f"grant:{call.id}:announce:"
    rows = await session.execute(
        select(OutboxMessage.member_id).where(col(OutboxMessage.dedupe_key).startswith(prefix))
    )
    return {member_id for (member_id,) in rows.all() if member_id is not None}


async def audience_members(
    rt: Runtime, session: AsyncSession, call: GrantCall, now: datetime
) -> list[Member]:
    return await select_members(
        session=session,
        audience=call.audience_filter(),
        now=now,
        youth_min=rt.settings.youth_min_age,
        youth_max=rt.settings.youth_max_age,
    )


async def announce(
    rt: Runtime, session: AsyncSession, call: GrantCall, now: datetime
) -> tuple[int, int]:
    """Queue the announcement for everyone in the audience not announced to yet (after
    publishing, or when the audience of a published call grows): (new, reachable)."""
    sessions = await info_sessions(session=session, call=call)
    done = await _announced(session, call)
    fresh = [m for m in await audience_members(rt, session, call, now) if m.id not in done]
    reached = 0
    for member in fresh:
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=announcement(call, sessions, member.language, rt.settings, now),
            kind="grant.announce",
            priority=Priority.BULK,
            now=now,
            dedupe_key=_announce_key(call, member.id),
        )
        reached += bool(rows)
    return len(fresh), reached


async def publish_and_announce(
    rt: Runtime, session: AsyncSession, call: GrantCall, actor: Member | None, now: datetime
) -> tuple[int, int]:
    """draft → published; draft info sessions are published (and announced) as events; the
    call is announced to its audience. Returns (audience, reachable)."""
    await mark_published(session=session, call=call, actor=actor, now=now)
    await publish_sessions(rt, session, call, actor, now)
    return await announce(rt, session, call, now)


async def publish_sessions(
    rt: Runtime, session: AsyncSession, call: GrantCall, actor: Member | None, now: datetime
) -> int:
    """Publish the call's info sessions still in draft: the events capability announces each
    to its own audience, with RSVP. Returns how many were published."""
    published = 0
    for event in await info_sessions(session=session, call=call):
        if event.status != EventStatus.DRAFT:
            continue
        try:
            async with session.begin_nested():
                await publish_event(rt, session, event, actor, now)
            published += 1
        except (EventInputError, EventStateError):
            log.warning("grant %s: info session %s could not be published", call.id, event.id)
    return published


async def notify_stage(
    rt: Runtime,
    session: AsyncSession,
    call: GrantCall,
    applicant: GrantApplicant,
    member: Member,
    now: datetime,
) -> bool:
    """Tell one applicant their new stage, on their channel; False when unreachable."""
    rows = await queue_for_member(
        session=session,
        settings=rt.settings,
        member=member,
        message=stage_notice(call, applicant, member.language, rt.settings, now),
        kind="grant.stage",
        priority=Priority.NOTICE,
        now=now,
        dedupe_key=f"grant:{call.id}:stage:{applicant.id}:{len(applicant.history)}",
    )
    return bool(rows)


async def notify_change(
    rt: Runtime, session: AsyncSession, call: GrantCall, changed: list[str], now: datetime
) -> int:
    """Everyone still in the running hears what changed."""
    count = 0
    for applicant, member in await active_applicants(session=session, call=call):
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=change_notice(call, changed, member.language, rt.settings),
            kind="grant.changed",
            priority=Priority.NOTICE,
            now=now,
            dedupe_key=f"grant:{call.id}:change:{call.sequence}:{applicant.id}",
        )
        count += bool(rows)
    return count


async def notify_cancel(rt: Runtime, session: AsyncSession, call: GrantCall, now: datetime) -> int:
    count = 0
    for applicant, member in await active_applicants(session=session, call=call):
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=cancel_notice(call, member.language),
            kind="grant.cancelled",
            priority=Priority.NOTICE,
            now=now,
            dedupe_key=f"grant:{call.id}:cancel:{applicant.id}",
        )
        count += bool(rows)
    return count


async def cancel_and_notify(
    rt: Runtime, session: AsyncSession, call: GrantCall, actor: Member | None, now: datetime
) -> tuple[int, int]:
    """Cancel the call (Telegram and web alike): every applicant is told, and its info
    sessions still to come are cancelled too (their RSVPs told), unless another live call
    shares them. Returns (applicants told, info sessions cancelled)."""
    await mark_cancelled(session=session, call=call, actor=actor, now=now)
    told = await notify_cancel(rt, session, call, now)
    cancelled = 0
    for event in await info_sessions(session=session, call=call):
        if event.status not in (EventStatus.DRAFT, EventStatus.PUBLISHED) or event.starts_at <= now:
            continue
        if await _shared_with_a_live_call(session, event.id or 0, call.id or 0):
            continue
        await cancel_event(rt, session, event, actor, now)  # a draft has nobody to tell
        cancelled += 1
    return told, cancelled


async def _shared_with_a_live_call(session: AsyncSession, event_id: int, call_id: int) -> bool:
    live = (GrantStatus.DRAFT, GrantStatus.PUBLISHED)
    query = (
        select(GrantInfoSession.id)
        .join(GrantCall, col(GrantCall.id) == col(GrantInfoSession.grant_id))
        .where(
            col(GrantInfoSession.event_id) == event_id,
            col(GrantInfoSession.grant_id) != call_id,
            col(GrantCall.status).in_(live),
        )
    )
    return (await session.execute(query)).first() is not None
