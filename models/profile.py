"""A member changes their own profile: one field at a time, validated like registration.

`change_field` takes the typed text, a button's code or a shared contact and either stores
the new value (audited by field name and channel, never by value) or raises FieldError. A phone
that belongs to someone else is refused and the secretariat told (`ProfileResult.notices`).
Telegram sends a button's code (`choice`); SMS sends the typed answer (`text`), matched by
number or name with the same functions as registration (`match_choice`, `match_community`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, t
from bot.settings import Settings
from models.audit import record_audit
from models.communities import Community, list_communities
from models.member_fields import (
    GENDERS,
    SECTORS,
    Choice,
    FieldError,
    age_rule,
    load_interests,
    match_choice,
    match_community,
    parse_birth_year,
    parse_phone,
    validate_name,
    validate_village,
)
from models.members import (
    InvalidPhone,
    Member,
    SmsScript,
    mask_phone,
    member_by_phone,
    normalize_phone,
    record_consent,
)
from models.registration_finish import Notice, bootstrap_role
from models.registration_prompts import Contact

TEXT_FIELDS = ("name", "phone", "village", "birth_year")
CHOICE_FIELDS = ("community", "sector", "gender", "sms_script", "consent_ann")
ALL_FIELDS = (*TEXT_FIELDS, *CHOICE_FIELDS, "interests", "language")


@dataclass
class ProfileResult:
    changed: bool
    notices: list[Notice] = field(default_factory=list)
    note: str | None = None  # an extra i18n message (e.g. "village cleared")


async def _audit(session: AsyncSession, member: Member, name: str, channel: str) -> None:
    await record_audit(
        session=session,
        action="profile.update",
        actor_member_id=member.id,
        actor_label="member",
        target=f"member:{member.id}",
        details={"field": name, "channel": channel},
    )


def language_choices() -> list[Choice]:
    """The four languages, each named in itself, in the order SMS numbers them."""
    return [Choice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


def script_choices(language: str) -> list[Choice]:
    """Georgian (or the language's own) letters, or Latin letters — the cheaper SMS."""
    return [
        Choice(SmsScript.NATIVE, t("registration.script_native", language)),
        Choice(SmsScript.LATIN, t("registration.script_latin", language)),
    ]


def _typed(choices: list[Choice], raw: str, choice: str | None) -> str:
    """The code of a button (`choice`) or of a typed answer (number or label); else FieldError."""
    if choice is not None:
        if choice in {c.code for c in choices}:
            return choice
        raise FieldError("registration.err_buttons")
    found = match_choice(raw, choices)
    if found is None:
        raise FieldError("registration.err_choice", count=len(choices))
    return found.code


async def change_field(
    *,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    name: str,
    now: datetime,
    text: str | None = None,
    choice: str | None = None,
    contact: Contact | None = None,
    channel: str = "telegram",
) -> ProfileResult:
    """Set one profile field from an answer; FieldError when the answer cannot be used."""
    raw = choice if choice is not None else (text or "")
    result = ProfileResult(changed=True)
    version = settings.consent_text_version
    if name == "name":
        member.name = validate_name(raw)
    elif name == "phone":
        result = await _phone(session, settings, member, text, contact)
    elif name == "village":
        member.village = (
            None if choice == "skip" else _village(await _community(session, member), raw, choice)
        )
    elif name == "birth_year":
        this_year = now.astimezone(settings.tz).year
        year = parse_birth_year(raw, this_year=this_year)
        if age_rule(year, this_year=this_year, consent_age=settings.consent_age) != "ok":
            raise FieldError("members.err_year_minor")
        member.birth_year = year
    elif name == "community":
        communities = await list_communities(session=session)
        found = (
            next((c for c in communities if str(c.id) == choice), None)
            if choice
            else (match_community(raw, communities))
        )
        if found is None:
            raise FieldError("registration.err_choice", count=len(communities))
        if found.id != member.community_id and member.village:
            member.village = None
            result.note = "members.village_cleared"
        member.community_id = found.id
    elif name == "sector":
        if raw not in SECTORS:
            raise FieldError("registration.err_buttons")
        member.sector = raw
    elif name == "gender":
        if raw == "remove":
            member.gender = None
            await record_consent(
                session=session,
                member=member,
                kind="gender",
                given=False,
                channel=channel,
                text_version=version,
            )
        elif raw in GENDERS:
            if member.gender is None:
                await record_consent(
                    session=session,
                    member=member,
                    kind="gender",
                    given=True,
                    channel=channel,
                    text_version=version,
                )
            member.gender = raw
        else:
            raise FieldError("registration.err_buttons")
    elif name == "sms_script":
        member.sms_script = _typed(script_choices(member.language), raw, choice)
    elif name == "language":
        member.language = _typed(language_choices(), raw, choice)
    elif name == "consent_ann":
        if raw not in ("yes", "no"):
            raise FieldError("registration.err_buttons")
        member.consent_announcements = raw == "yes"
        await record_consent(
            session=session,
            member=member,
            kind="announcements",
            given=raw == "yes",
            channel=channel,
            text_version=version,
        )
    elif name == "interests":
        codes = {i.code for i in load_interests(settings.interests_file)}
        if raw not in codes:
            raise FieldError("registration.err_buttons")
        current = list(member.interests or [])
        member.interests = [c for c in current if c != raw] if raw in current else [*current, raw]
    else:
        raise FieldError("registration.err_buttons")
    if result.changed:
        member.updated_at = now
        session.add(member)
        await _audit(session, member, name, channel)
    return result


def _village(community: Community | None, raw: str, choice: str | None) -> str:
    villages = community.village_list if community else []
    typed = raw.strip()
    if choice is None and villages and typed.isdigit() and typed.isascii():  # SMS: by number
        if not 1 <= int(typed) <= len(villages):
            raise FieldError("registration.err_choice", count=len(villages))
        choice = f"v{int(typed) - 1}"
    if choice and choice.startswith("v") and choice[1:].isdigit():
        index = int(choice[1:])
        if index < len(villages):
            return villages[index]
        raise FieldError("registration.err_buttons")
    return validate_village(raw)


async def _community(session: AsyncSession, member: Member) -> Community | None:
    if member.community_id is None:
        return None
    return await session.get(Community, member.community_id)


async def _phone(
    session: AsyncSession,
    settings: Settings,
    member: Member,
    text: str | None,
    contact: Contact | None,
) -> ProfileResult:
    if contact is not None:
        if not contact.own:
            raise FieldError("registration.err_contact_not_own")
        try:
            phone = normalize_phone("+" + contact.phone.lstrip("+"))
        except InvalidPhone:
            raise FieldError("registration.err_phone") from None
    else:
        phone = parse_phone(text or "")
    if phone == member.phone:
        if contact is not None and not member.phone_verified:
            member.phone_verified = True
            await bootstrap_role(session=session, settings=settings, member=member)
            return ProfileResult(changed=True)
        return ProfileResult(changed=False)
    holder = await member_by_phone(session=session, phone=phone)
    if holder is not None:
        notice = Notice(
            "registration.notice_phone_claimed",
            {"phone": mask_phone(phone), "member": holder.id or 0, "who": f"member:{member.id}"},
        )
        key = "registration.err_phone_taken" if contact else "registration.err_phone_taken_typed"
        raise _Refused(key, [notice])
    member.phone = phone
    member.phone_verified = contact is not None
    member.sms_invalid_at = None
    if member.phone_verified:
        await bootstrap_role(session=session, settings=settings, member=member)
    return ProfileResult(changed=True)


class _Refused(FieldError):
    """A FieldError the secretariat must hear about."""

    def __init__(self, key: str, notices: list[Notice]) -> None:
        super().__init__(key)
        self.notices = notices


def refusal_notices(error: FieldError) -> list[Notice]:
    return list(error.notices) if isinstance(error, _Refused) else []
