"""A member's profile as text: the lines /profile and /mydata show, and the SMS summary."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGE_NAMES, t
from bot.settings import Settings
from models.communities import Community
from models.member_fields import gender_label, interest_labels, sector_label
from models.members import Member, SmsScript
from models.registration_prompts import field_label, village_name


def _yes_no(value: bool, language: str) -> str:
    return t("registration.btn_yes" if value else "registration.btn_no", language)


async def profile_lines(
    *, session: AsyncSession, settings: Settings, member: Member, language: str
) -> list[str]:
    community = await session.get(Community, member.community_id) if member.community_id else None
    script = (
        t("registration.script_latin", language)
        if member.sms_script == SmsScript.LATIN
        else t("registration.script_native", language)
    )
    interests = interest_labels(settings.interests_file, list(member.interests or []), language)
    values = {
        "name": member.name or "—",
        "phone": member.phone or "—",
        "community": community.name(language) if community else "—",
        "village": village_name(member.village, language) if member.village else "—",
        "sector": sector_label(member.sector, language),
        "birth_year": str(member.birth_year or "—"),
        "gender": gender_label(member.gender, language),
        "interests": ", ".join(interests) or "—",
        "consent_ann": _yes_no(member.consent_announcements, language),
        "language": LANGUAGE_NAMES.get(member.language, member.language),
        "sms_script": script,
    }
    lines = [f"{field_label(k, language)}: {v}" for k, v in values.items()]
    if member.is_lag_member:
        lines.append(
            t("members.profile_lag_member", language, organisation=member.organisation or "—")
        )
    if member.status == "pending_guardian":
        lines.append(t("members.profile_pending", language))
    if member.telegram_opt_out_at is not None:
        lines.append(t("members.profile_telegram_stopped", language))
    if member.sms_opt_out_at is not None:
        lines.append(t("members.profile_sms_stopped", language))
    return lines


async def sms_summary(*, session: AsyncSession, member: Member) -> str:
    """Name, community, sector, birth year and announcements, short enough for one SMS part."""
    language = member.language
    community = await session.get(Community, member.community_id) if member.community_id else None
    latin = member.sms_script == SmsScript.LATIN
    announcements = _yes_no(member.consent_announcements, language)
    parts = [
        member.name or "—",
        community.name(language, latin=latin) if community else "—",
        sector_label(member.sector, language),
        str(member.birth_year or "—"),
        f"{field_label('consent_ann', language)}: {announcements}",
    ]
    return "; ".join(parts)


async def sms_profile_line(*, session: AsyncSession, member: Member) -> str:
    """What SMS PROFILE can change, as stored now: name, language, community, village."""
    language = member.language
    community = await session.get(Community, member.community_id) if member.community_id else None
    latin = member.sms_script == SmsScript.LATIN
    parts = [
        member.name or "-",
        LANGUAGE_NAMES.get(member.language, member.language),
        community.name(language, latin=latin) if community else "-",
        village_name(member.village, language) if member.village else "-",
    ]
    return "; ".join(parts)
