"""What the secretariat decides about people: formal LAG membership, roles, guardian approval.

A *participant* is anyone registered with the bot. The LAG's *formal members* (people and
organisations, each in one sector) are marked by the secretariat; quorum and the LEADER 49%
sector balance count them only. Every change here is audited with the acting member.

Roles::

    member ──/promote──> board ──/promote secretariat──> secretariat
    secretariat | board ──/demote──> member   (the last secretariat member cannot go)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.audit import record_audit
from models.member_fields import FieldError, clean_text, parse_phone, validate_organisation
from models.members import Consent, Member, MemberStatus, Role, member_by_phone

MAX_MATCHES = 10


async def find_members(*, session: AsyncSession, who: str) -> list[Member]:
    """`12` / `#12`, a phone number, `@username`, or part of a name (not erased members)."""
    who = clean_text(who)
    if not who:
        return []
    alive = col(Member.status) != MemberStatus.ERASED
    number = who.lstrip("#")
    if number.isdigit() and len(number) <= 7:
        member = await session.get(Member, int(number))
        return [member] if member is not None and member.status != MemberStatus.ERASED else []
    if who.startswith("@") and len(who) > 1:
        result = await session.execute(
            select(Member).where(
                alive, func.lower(col(Member.telegram_username)) == who[1:].casefold()
            )
        )
        return list(result.scalars())
    try:
        phone = parse_phone(who)
    except FieldError:
        phone = None
    if phone is not None:
        member = await member_by_phone(session=session, phone=phone)
        return [member] if member is not None and member.status != MemberStatus.ERASED else []
    rows = await session.execute(select(Member).where(alive).order_by(col(Member.id)))
    wanted = who.casefold()
    return [m for m in rows.scalars() if m.name and wanted in m.name.casefold()][: MAX_MATCHES + 1]


async def set_lag_member(
    *,
    session: AsyncSession,
    member: Member,
    formal: bool,
    organisation: str | None,
    actor: Member,
    now: datetime,
) -> None:
    """Mark (or unmark) a formal LAG member; organisations give their name."""
    if formal and member.sector is None:
        raise FieldError("members.err_member_sector")
    if formal and member.status != MemberStatus.ACTIVE:
        raise FieldError("members.err_member_inactive")
    if organisation:
        member.organisation = validate_organisation(organisation)
    if formal and not member.is_lag_member:
        member.lag_member_since = now
    if not formal:
        member.lag_member_since = None
    member.is_lag_member = formal
    member.updated_at = now
    session.add(member)
    await record_audit(
        session=session,
        action="member.lag_member",
        actor_member_id=actor.id,
        actor_label="telegram",
        target=f"member:{member.id}",
        details={"formal": formal, "organisation": bool(organisation)},
    )


async def approve_guardian(
    *, session: AsyncSession, member: Member, actor: Member, version: str, now: datetime
) -> None:
    """A parent signed the consent form: the pending registration becomes active."""
    if member.status != MemberStatus.PENDING_GUARDIAN:
        raise FieldError("members.err_not_pending")
    assert member.id is not None
    member.status = MemberStatus.ACTIVE
    member.updated_at = now
    session.add(member)
    session.add(
        Consent(
            member_id=member.id,
            kind="guardian",
            given=True,
            channel="paper",
            text_version=version,
            at=now,
            details={"approved_by": actor.id},
        )
    )
    await record_audit(
        session=session,
        action="member.approved",
        actor_member_id=actor.id,
        actor_label="telegram",
        target=f"member:{member.id}",
    )


async def _secretariat_count(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count()).where(
            col(Member.role) == Role.SECRETARIAT, col(Member.status) == MemberStatus.ACTIVE
        )
    )
    return int(result.scalar_one())


async def set_role(
    *, session: AsyncSession, member: Member, role: str, actor: Member, now: datetime
) -> str:
    """Give `member` a role; returns the previous one. The last secretariat member stays."""
    if role not in (Role.MEMBER, Role.BOARD, Role.SECRETARIAT):
        raise FieldError("members.err_role")
    if member.status != MemberStatus.ACTIVE:
        raise FieldError("members.err_member_inactive")
    previous = member.role
    if previous == role:
        raise FieldError("members.err_same_role")
    if previous == Role.SECRETARIAT and await _secretariat_count(session) <= 1:
        raise FieldError("members.err_last_secretariat")
    member.role = role
    member.updated_at = now
    session.add(member)
    await record_audit(
        session=session,
        action="role.change",
        actor_member_id=actor.id,
        actor_label="telegram",
        target=f"member:{member.id}",
        details={"from": previous, "to": role},
    )
    return previous
