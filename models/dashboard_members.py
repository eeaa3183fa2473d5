"""The member register as the secretariat manages it: search, edit, role changes, CSV rows.

Simulated members (models.simulator) never appear here: they are left out of every list,
count and export. Every change is written to the audit log in the same transaction, with
old and new values (phone numbers masked).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.audiences import is_youth
from models.audit import AuditLog, record_audit
from models.base import utcnow
from models.communities import Community
from models.inbound import InboundMessage
from models.members import (
    Consent,
    Gender,
    InvalidPhone,
    Member,
    MemberStatus,
    Role,
    Sector,
    SmsScript,
    mask_phone,
    member_by_phone,
    normalize_phone,
)
from models.outbox import OutboxMessage

LANGUAGES = ("ka", "az", "ru", "en")


@dataclass
class MemberFilter:
    q: str = ""
    community: int | None = None
    sector: str = ""
    youth: str = ""  # "" | yes | no
    gender: str = ""
    channel: str = ""  # "" | telegram | sms | both | none
    opted_out: str = ""  # "" | any | telegram | sms | announcements
    role: str = ""
    status: str = MemberStatus.ACTIVE  # a MemberStatus, or "all"
    lag: bool = False  # formal LAG members only

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None, False)}


def text_matches(member: Member, needle: str) -> bool:
    if not needle:
        return True
    digits = "".join(ch for ch in needle if ch.isdigit())
    if len(digits) >= 3 and member.phone and digits in member.phone:
        return True
    haystack = " ".join(
        part or ""
        for part in (member.name, member.village, member.organisation, member.telegram_username)
    ).casefold()
    return all(word in haystack for word in needle.casefold().split())


def _channel_match(member: Member, channel: str) -> bool:
    tg, sms = member.telegram_reachable(), member.sms_reachable()
    return {
        "telegram": tg,
        "sms": sms,
        "both": tg and sms,
        "none": not tg and not sms,
    }.get(channel, True)


def _opted_out_match(member: Member, which: str) -> bool:
    tg, sms = member.telegram_opt_out_at is not None, member.sms_opt_out_at is not None
    return {
        "any": tg or sms or not member.consent_announcements,
        "telegram": tg,
        "sms": sms,
        "announcements": not member.consent_announcements,
    }.get(which, True)


async def find_members(
    *,
    session: AsyncSession,
    flt: MemberFilter,
    now: datetime,
    youth_min: int,
    youth_max: int,
) -> list[Member]:
    """Members matching the filter, by name; never simulated ones."""
    query = select(Member).where(col(Member.is_simulated).is_(False))
    if flt.status != "all":
        query = query.where(Member.status == flt.status)
    if flt.community is not None:
        query = query.where(Member.community_id == flt.community)
    if flt.sector:
        query = query.where(Member.sector == flt.sector)
    if flt.gender:
        query = query.where(Member.gender == flt.gender)
    if flt.role:
        query = query.where(Member.role == flt.role)
    if flt.lag:
        query = query.where(col(Member.is_lag_member).is_(True))
    members = list((await session.execute(query.order_by(col(Member.id)))).scalars())
    chosen = [
        m
        for m in members
        if text_matches(m, flt.q)
        and _channel_match(m, flt.channel)
        and _opted_out_match(m, flt.opted_out)
        and (
            not flt.youth
            or is_youth(m, year=now.year, min_age=youth_min, max_age=youth_max)
            == (flt.youth == "yes")
        )
    ]
    chosen.sort(key=lambda m: ((m.name or "").casefold(), m.id or 0))
    return chosen


@dataclass
class MemberRecord:
    """Everything the member page shows about one person."""

    member: Member
    community: Community | None
    consents: list[Consent]
    deliveries: list[OutboxMessage]
    messages: list[InboundMessage]
    history: list[AuditLog]


async def member_record(*, session: AsyncSession, member_id: int) -> MemberRecord | None:
    member = await session.get(Member, member_id)
    if member is None or member.is_simulated:
        return None
    community = await session.get(Community, member.community_id) if member.community_id else None
    consents = await session.execute(
        select(Consent).where(Consent.member_id == member_id).order_by(col(Consent.id).desc())
    )
    deliveries = await session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.member_id == member_id)
        .order_by(col(OutboxMessage.id).desc())
        .limit(50)
    )
    messages = await session.execute(
        select(InboundMessage)
        .where(InboundMessage.member_id == member_id)
        .order_by(col(InboundMessage.id).desc())
        .limit(30)
    )
    history = await session.execute(
        select(AuditLog)
        .where(AuditLog.target == f"member:{member_id}")
        .order_by(col(AuditLog.id).desc())
        .limit(50)
    )
    return MemberRecord(
        member,
        community,
        list(consents.scalars()),
        list(deliveries.scalars()),
        list(messages.scalars()),
        list(history.scalars()),
    )


class MemberEditError(ValueError):
    """One field was not accepted; `field` names it, `reason` is a catalog key tail."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


EDITABLE = (
    "name", "phone", "community_id", "village", "sector", "birth_year", "gender",
    "language", "sms_script", "is_lag_member", "organisation",
)  # fmt: skip


async def _clean(session: AsyncSession, member: Member, form: dict[str, str]) -> dict[str, Any]:
    """Typed values from the form, or MemberEditError for the first bad field."""
    values: dict[str, Any] = {}
    name = form.get("name", "").strip()
    if not 1 <= len(name) <= 100:
        raise MemberEditError("name", "name")
    values["name"] = name
    phone_text = form.get("phone", "").strip()
    if phone_text:
        try:
            phone = normalize_phone(phone_text)
        except InvalidPhone:
            raise MemberEditError("phone", "phone") from None
        other = await member_by_phone(session=session, phone=phone)
        if other is not None and other.id != member.id:
            raise MemberEditError("phone", "phone_taken")
        from models.simulator import is_simulator_phone

        if is_simulator_phone(phone):
            raise MemberEditError("phone", "phone_reserved")
        values["phone"] = phone
    elif member.telegram_id is None:
        raise MemberEditError("phone", "no_channel")
    else:
        values["phone"] = None
    community_text = form.get("community_id", "")
    community_id = int(community_text) if community_text.isdigit() else None
    if community_id is not None and await session.get(Community, community_id) is None:
        raise MemberEditError("community_id", "choice")
    values["community_id"] = community_id
    values["village"] = form.get("village", "").strip()[:100] or None
    values["organisation"] = form.get("organisation", "").strip()[:200] or None
    for field, allowed in (
        ("sector", [s.value for s in Sector]),
        ("gender", [g.value for g in Gender]),
    ):
        chosen = form.get(field, "")
        if chosen and chosen not in allowed:
            raise MemberEditError(field, "choice")
        values[field] = chosen or None
    year_text = form.get("birth_year", "").strip()
    if year_text:
        if not year_text.isdigit() or not 1900 <= int(year_text) <= utcnow().year:
            raise MemberEditError("birth_year", "birth_year")
        values["birth_year"] = int(year_text)
    else:
        values["birth_year"] = None
    if form.get("language") not in LANGUAGES:
        raise MemberEditError("language", "choice")
    values["language"] = form["language"]
    if form.get("sms_script") not in [s.value for s in SmsScript]:
        raise MemberEditError("sms_script", "choice")
    values["sms_script"] = form["sms_script"]
    values["is_lag_member"] = form.get("is_lag_member") == "on"
    return values


def _shown(field: str, value: Any) -> Any:
    return mask_phone(value) if field == "phone" and value else value


async def update_member(
    *,
    session: AsyncSession,
    member: Member,
    form: dict[str, str],
    actor_member_id: int | None,
    actor_label: str,
) -> dict[str, Any]:
    """Apply an edit; returns {field: [old, new]} of what changed (also audited)."""
    if member.status == MemberStatus.ERASED:
        raise MemberEditError("status", "erased")
    values = await _clean(session, member, form)
    changed: dict[str, Any] = {}
    for field, new in values.items():
        old = getattr(member, field)
        if old != new:
            changed[field] = [_shown(field, old), _shown(field, new)]
            setattr(member, field, new)
    if "phone" in changed:
        member.phone_verified = False
        member.sms_invalid_at = None
    if changed:
        member.updated_at = utcnow()
        session.add(member)
        await record_audit(
            session=session,
            action="member.edit",
            actor_member_id=actor_member_id,
            actor_label=actor_label,
            target=f"member:{member.id}",
            details={"changed": changed},
        )
        await session.flush()
    return changed


class RoleChangeRefused(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def change_role(
    *,
    session: AsyncSession,
    member: Member,
    role: str,
    actor_member_id: int | None,
    actor_label: str,
) -> bool:
    """Make the member an ordinary member, board member or secretariat; audited.

    Refused for members who are not active, for one's own role, and when it would leave
    nobody in the secretariat.
    """
    from models.dashboard import secretariat_left

    if role not in [r.value for r in Role]:
        raise RoleChangeRefused("choice")
    if member.status != MemberStatus.ACTIVE:
        raise RoleChangeRefused("not_active")
    if actor_member_id is not None and member.id == actor_member_id:
        raise RoleChangeRefused("own_role")
    if member.role == role:
        return False
    if member.role == Role.SECRETARIAT and not await secretariat_left(
        session=session, without_member=member.id
    ):
        raise RoleChangeRefused("last_secretariat")
    old, member.role = member.role, role
    member.updated_at = utcnow()
    session.add(member)
    await record_audit(
        session=session,
        action="member.role",
        actor_member_id=actor_member_id,
        actor_label=actor_label,
        target=f"member:{member.id}",
        details={"from": old, "to": role},
    )
    await session.flush()
    return True


CSV_COLUMNS = (
    "id", "name", "phone", "telegram_username", "community", "village", "sector", "gender",
    "birth_year", "language", "role", "lag_member", "organisation", "telegram", "sms",
    "announcements", "status", "registered",
)  # fmt: skip


def _cell(value: object) -> str:
    """Text as a spreadsheet shows it: never a formula (CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] == "+" and text[1:].isdigit():  # a phone number is data, not a formula
        return text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def members_csv(
    members: list[Member], communities: dict[int, Community], tz: Any, headers: list[str]
) -> str:
    """UTF-8 CSV with a BOM (Excel opens Georgian correctly); phones as +995… text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(headers)
    for m in members:
        community = communities.get(m.community_id) if m.community_id else None

        def state(reachable: bool, opted: datetime | None) -> str:
            return "opted_out" if opted else ("yes" if reachable else "no")

        writer.writerow(
            [
                _cell(v)
                for v in (
                    m.id, m.name, m.phone, m.telegram_username,
                    community.name_latin if community else "", m.village, m.sector, m.gender,
                    m.birth_year, m.language, m.role, "yes" if m.is_lag_member else "no",
                    m.organisation, state(m.telegram_reachable(), m.telegram_opt_out_at),
                    state(m.sms_reachable(), m.sms_opt_out_at),
                    "yes" if m.consent_announcements else "no", m.status,
                    m.created_at.astimezone(tz).strftime("%Y-%m-%d"),
                )
            ]
        )  # fmt: skip
    return out.getvalue()
