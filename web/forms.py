"""Form pieces several pages share: the audience picker, local date-times, the acting member."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from models.audiences import Audience
from models.audit import record_audit
from models.members import Gender, Member, Role, Sector
from web.guard import Staff

SECTORS = [s.value for s in Sector]
GENDERS = [g.value for g in Gender if g != Gender.UNSAID]
ROLES = [Role.BOARD.value, Role.SECRETARIAT.value]


def audience_from_form(staff: Staff) -> Audience:
    """The audience ticked on the form (nothing ticked: everyone)."""
    youth = staff.field("aud_youth")
    return Audience(
        communities=[int(v) for v in staff.fields("aud_community") if v.isdigit()],
        sectors=[v for v in staff.fields("aud_sector") if v in SECTORS],
        genders=[v for v in staff.fields("aud_gender") if v in GENDERS],
        roles=[v for v in staff.fields("aud_role") if v in ROLES],
        youth=True if youth == "yes" else False if youth == "no" else None,
        lag_members_only=staff.field("aud_lag") == "on",
    )


def parse_local(text: str, tz: tzinfo) -> datetime | None:
    """A browser's datetime-local value (`2026-12-05T14:00`) in the LAG's time zone, or None."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def local_input(moment: datetime | None, tz: tzinfo) -> str:
    """The value a datetime-local input shows for `moment`."""
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if moment else ""


async def acting_member(session: AsyncSession, staff: Staff) -> Member | None:
    """The member behind this account (capabilities' rules name a member as the actor)."""
    return await session.get(Member, staff.member_id) if staff.member_id else None


async def on_behalf(
    session: AsyncSession, staff: Staff, action: str, target: str, actor: Member | None
) -> None:
    """A stand-alone account has no member: say in the log which account did what."""
    if actor is None:
        await record_audit(
            session=session,
            action="web.acted",
            actor_label=staff.actor_label,
            target=target,
            details={"action": action, "account": staff.account.name},
        )
