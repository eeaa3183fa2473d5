"""Form pieces several pages share: the audience picker (with saved audiences), local
date-times, the acting member."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from models.audiences import (
    MAX_NAME,
    Audience,
    AudienceNameError,
    get_saved,
    list_saved,
    save_audience,
)
from models.audit import record_audit
from models.communities import list_communities
from models.member_fields import load_interests
from models.members import Gender, Member, Role, Sector
from web.guard import Staff

SECTORS = [s.value for s in Sector]
GENDERS = [g.value for g in Gender if g != Gender.UNSAID]
ROLES = [Role.BOARD.value, Role.SECRETARIAT.value]
INTEREST_CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")
# models.audiences' refusals of a name, in the staff catalog (web/locales)
NAME_ERRORS = {
    "audiences.err_name_empty": "audience.err_name_empty",
    "audiences.err_name_long": "audience.err_name_long",
    "audiences.err_name_taken": "audience.err_name_taken",
}


def audience_from_form(staff: Staff) -> Audience:
    """The audience ticked on the form (nothing ticked: everyone)."""
    youth = staff.field("aud_youth")
    return Audience(
        communities=[int(v) for v in staff.fields("aud_community") if v.isdigit()],
        sectors=[v for v in staff.fields("aud_sector") if v in SECTORS],
        genders=[v for v in staff.fields("aud_gender") if v in GENDERS],
        interests=[v for v in staff.fields("aud_interest") if INTEREST_CODE.fullmatch(v)],
        roles=[v for v in staff.fields("aud_role") if v in ROLES],
        youth=True if youth == "yes" else False if youth == "no" else None,
        lag_members_only=staff.field("aud_lag") == "on",
    )


async def audience_choices(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """What the audience fields offer: communities, interests and the saved audiences."""
    return {
        "community_list": await list_communities(session=session),
        "interest_list": load_interests(settings.interests_file),
        "saved_list": await list_saved(session=session),
        "aud_name_max": MAX_NAME,
    }


@dataclass
class AudienceNote:
    """What a press of "Use" or "Save as…" on the audience fields did: the audience the form
    shows next, and a line to show beside it (`ok` or not)."""

    audience: Audience
    key: str
    values: dict[str, Any] = field(default_factory=dict)
    ok: bool = True


async def audience_button(session: AsyncSession, staff: Staff) -> AudienceNote | None:
    """The audience fields' own buttons (`aud_do`): "use" fills the form with the saved
    audience picked in `aud_saved`; "save" saves the ticked audience as `aud_name` with the
    same rules and audit as /audiences in Telegram. None: the form's own button was pressed."""
    action = staff.field("aud_do", 10)
    audience = audience_from_form(staff)
    if action == "use":
        picked = staff.field("aud_saved", 12)
        saved = await get_saved(session=session, saved_id=int(picked)) if picked.isdigit() else None
        if saved is None:
            return AudienceNote(audience, "audience.saved_gone", ok=False)
        return AudienceNote(saved.audience, "audience.loaded", {"name": saved.name})
    if action == "save":
        actor = await acting_member(session, staff)
        try:
            saved = await save_audience(
                session=session,
                name=staff.field("aud_name", 200),
                audience=audience,
                actor=actor,
                actor_label=staff.actor_label,
            )
        except AudienceNameError as error:
            return AudienceNote(audience, NAME_ERRORS[error.key], dict(error.values), ok=False)
        return AudienceNote(audience, "audience.saved_as", {"name": saved.name})
    return None


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
