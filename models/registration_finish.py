"""The end of registration: the draft becomes a member (or links to an existing one).

Everything here runs in the caller's transaction: the member row, its consent records, the
role bootstrap, the audit entry and the end of the dialog commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from models.audit import record_audit
from models.base import add_if_absent
from models.dialogs import Dialog, end_dialog
from models.member_fields import FieldError, age_rule
from models.members import (
    Consent,
    Member,
    MemberStatus,
    Role,
    SmsScript,
    member_by_phone,
)


@dataclass
class Notice:
    """Something the secretariat must be told (an i18n key and its values)."""

    key: str
    values: dict[str, object] = field(default_factory=dict)


def _at(value: object, default: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return default
    return default


def _consent(
    member: Member, kind: str, given: bool, channel: str, version: str, at: datetime
) -> Consent:
    assert member.id is not None
    return Consent(
        member_id=member.id, kind=kind, given=given, channel=channel, text_version=version, at=at
    )


async def bootstrap_role(
    *, session: AsyncSession, settings: Settings, member: Member, actor_label: str = "settings"
) -> bool:
    """Make a member secretariat when the settings name their Telegram id or verified phone."""
    if not member.is_active or member.role == Role.SECRETARIAT:
        return False
    by_telegram = (
        member.telegram_id is not None and member.telegram_id in settings.secretariat_telegram_ids
    )
    by_phone = (
        member.phone is not None
        and member.phone_verified
        and member.phone in settings.secretariat_phones
    )
    if not (by_telegram or by_phone):
        return False
    member.role = Role.SECRETARIAT
    session.add(member)
    await record_audit(
        session=session,
        action="role.bootstrap",
        actor_label=actor_label,
        target=f"member:{member.id}",
        details={"role": Role.SECRETARIAT, "by": "telegram_id" if by_telegram else "phone"},
    )
    return True


async def finish_registration(
    *, session: AsyncSession, settings: Settings, dialog: Dialog, now: datetime
) -> tuple[Member, list[Notice]] | FieldError:
    """Create the member from a complete draft; FieldError when the phone was taken meanwhile."""
    data = dialog.data
    channel = dialog.channel
    phone = data.get("phone") if channel == "telegram" else dialog.address
    if phone is not None:
        holder = await member_by_phone(session=session, phone=str(phone))
        if holder is not None:
            return FieldError("registration.err_phone_taken_typed")
    birth_year = int(str(data["birth_year"]))
    rule = age_rule(
        birth_year, this_year=now.astimezone(settings.tz).year, consent_age=settings.consent_age
    )
    pending = rule != "ok"
    gender = data.get("gender") if data.get("gender_consent") else None
    member = Member(
        status=MemberStatus.PENDING_GUARDIAN if pending else MemberStatus.ACTIVE,
        name=str(data["name"]),
        telegram_id=int(dialog.address) if channel == "telegram" else None,
        telegram_username=_opt(data.get("telegram_username")),
        phone=str(phone) if phone else None,
        phone_verified=channel == "sms" or bool(data.get("phone_verified")),
        language=str(data.get("language") or settings.default_language),
        sms_script=str(data.get("sms_script") or SmsScript.NATIVE),
        community_id=int(str(data["community_id"])),
        village=_opt(data.get("village")),
        sector=str(data["sector"]),
        birth_year=birth_year,
        gender=_opt(gender),
        interests=_strings(data.get("interests")),
        consent_data_at=_at(data.get("consent_data_at"), now),
        consent_announcements=bool(data.get("consent_ann")),
        joined_via=channel,
        created_at=now,
        updated_at=now,
    )
    # The phone (or the Telegram id) may have been taken since the check above.
    added = await add_if_absent(session, member, None)
    if added is None:
        return FieldError("registration.err_phone_taken_typed")
    member = added
    version = str(data.get("consent_version") or settings.consent_text_version)
    consent_at = member.consent_data_at or now
    session.add(_consent(member, "data", True, channel, version, consent_at))
    session.add(
        _consent(member, "announcements", member.consent_announcements, channel, version, now)
    )
    if gender is not None:
        session.add(_consent(member, "gender", True, channel, version, now))
    await record_audit(
        session=session,
        action="member.registered",
        actor_member_id=member.id,
        actor_label=channel,
        target=f"member:{member.id}",
        details={"channel": channel, "status": member.status},
    )
    await bootstrap_role(session=session, settings=settings, member=member)
    await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
    notices: list[Notice] = []
    if pending:
        notices.append(Notice("registration.notice_pending", {"member": member.id or 0}))
    return member, notices


async def link_existing(
    *, session: AsyncSession, settings: Settings, dialog: Dialog, now: datetime
) -> Member | None:
    """The Telegram user proved (by sharing their own contact) the SMS member's phone is theirs."""
    data = dialog.data
    member_id = data.get("link_member_id")
    member = await session.get(Member, member_id) if isinstance(member_id, int) else None
    if member is None or member.telegram_id is not None or member.status == MemberStatus.ERASED:
        await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
        return None
    member.telegram_id = int(dialog.address)
    member.telegram_username = _opt(data.get("telegram_username"))
    member.phone_verified = True
    member.telegram_unreachable_at = None
    if isinstance(data.get("language"), str):
        member.language = str(data["language"])
    member.updated_at = now
    session.add(member)
    version = str(data.get("consent_version") or settings.consent_text_version)
    session.add(
        _consent(member, "data", True, "telegram", version, _at(data.get("consent_data_at"), now))
    )
    if data.get("consent_ann") and not member.consent_announcements:
        member.consent_announcements = True
        session.add(_consent(member, "announcements", True, "telegram", version, now))
    await record_audit(
        session=session,
        action="member.linked",
        actor_member_id=member.id,
        actor_label="telegram",
        target=f"member:{member.id}",
        details={"channel": "telegram"},
    )
    await bootstrap_role(session=session, settings=settings, member=member)
    await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
    await session.flush()
    return member


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _opt(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
