"""Members: one row per person, reachable by Telegram, by SMS, or both.

Status::

    (draft in Dialog) --consent+confirm--> active
                       --under consent age--> pending_guardian --/approve--> active
    active | pending_guardian --/forget--> erased   (personal fields wiped, counts kept)

Channels are opted out per channel (`*_opt_out_at`), and Telegram is marked unreachable
when the member blocks the bot (403 or a `my_chat_member` "kicked" update).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import JSON, BigInteger, Column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, select

from models.base import UTCDateTime, utcnow


class Role(enum.StrEnum):
    MEMBER = "member"
    BOARD = "board"
    SECRETARIAT = "secretariat"


class Sector(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    CIVIL = "civil"


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNSAID = "unsaid"


class MemberStatus(enum.StrEnum):
    ACTIVE = "active"
    PENDING_GUARDIAN = "pending_guardian"
    ERASED = "erased"


class SmsScript(enum.StrEnum):
    NATIVE = "native"  # Georgian letters for ka, Cyrillic for ru, ...
    LATIN = "latin"  # national romanization, fewer SMS parts


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=MemberStatus.ACTIVE, max_length=20, index=True)
    name: str | None = Field(default=None, max_length=100)
    telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    telegram_username: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=20, unique=True)
    phone_verified: bool = False
    language: str = Field(default="ka", max_length=2)
    sms_script: str = Field(default=SmsScript.NATIVE, max_length=10)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    village: str | None = Field(default=None, max_length=100)
    sector: str | None = Field(default=None, max_length=10, index=True)
    birth_year: int | None = None
    gender: str | None = Field(default=None, max_length=10)
    interests: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    role: str = Field(default=Role.MEMBER, max_length=20, index=True)
    is_lag_member: bool = Field(default=False, index=True)
    lag_member_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    organisation: str | None = Field(default=None, max_length=200)
    joined_via: str | None = Field(default=None, max_length=20)  # telegram | sms | import
    consent_data_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_announcements: bool = False
    telegram_opt_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sms_opt_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    telegram_unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sms_invalid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_simulated: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.SECRETARIAT and self.status == MemberStatus.ACTIVE

    @property
    def is_board(self) -> bool:
        return self.role in (Role.BOARD, Role.SECRETARIAT) and self.status == MemberStatus.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE

    def age(self, year: int) -> int | None:
        return None if self.birth_year is None else year - self.birth_year

    def telegram_reachable(self) -> bool:
        return (
            self.telegram_id is not None
            and self.telegram_opt_out_at is None
            and self.telegram_unreachable_at is None
        )

    def sms_reachable(self) -> bool:
        return (
            self.phone is not None and self.sms_opt_out_at is None and self.sms_invalid_at is None
        )


class Consent(SQLModel, table=True):
    """Every consent given or withdrawn, with the text version and channel (the law asks)."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    # data | announcements | announcements_sms | announcements_telegram | gender | guardian
    kind: str = Field(max_length=40)
    given: bool
    channel: str = Field(max_length=20)  # telegram | sms | paper | web
    text_version: str = Field(max_length=40)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class InvalidPhone(ValueError):
    """The text is not a mobile number we can send SMS to."""


def normalize_phone(text: str, *, region: str = "GE") -> str:
    """E.164 for a mobile number; Georgian numbers may be typed without +995 or with a 0."""
    cleaned = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if not cleaned or len(cleaned) > 20:
        raise InvalidPhone(text)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if region == "GE" and not cleaned.startswith("+"):
        if cleaned.startswith("995") and len(cleaned) == 12:
            cleaned = "+" + cleaned
        elif cleaned.startswith("0") and len(cleaned) == 10:
            cleaned = cleaned[1:]
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(text) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(text)
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidPhone(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str:
    """For logs: never a full number (`+99559*****56`)."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 8) + phone[-2:]


async def get_member(*, session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def member_by_telegram(*, session: AsyncSession, telegram_id: int) -> Member | None:
    result = await session.execute(select(Member).where(Member.telegram_id == telegram_id))
    return result.scalars().first()


async def member_by_phone(*, session: AsyncSession, phone: str) -> Member | None:
    result = await session.execute(select(Member).where(Member.phone == phone))
    return result.scalars().first()


async def record_consent(
    *,
    session: AsyncSession,
    member: Member,
    kind: str,
    given: bool,
    channel: str,
    text_version: str,
    details: dict[str, Any] | None = None,
) -> Consent:
    assert member.id is not None
    consent = Consent(
        member_id=member.id,
        kind=kind,
        given=given,
        channel=channel,
        text_version=text_version,
        details=details or {},
    )
    session.add(consent)
    await session.flush()
    return consent
