"""Audiences: who receives a broadcast, an event announcement, a poll — defined once.

An audience is a filter over members (stored as JSON on whatever uses it). Empty lists mean
"any". Only active members with consent to announcements are ever selected; channels are
chosen later by the channel policy (bot.outbound), and opt-outs are checked again at send time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.members import Member, MemberStatus, Role


class Audience(BaseModel):
    communities: list[int] = Field(default_factory=list)  # Community ids
    sectors: list[str] = Field(default_factory=list)  # public | private | civil
    genders: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)  # any of these
    roles: list[str] = Field(default_factory=list)  # member | board | secretariat
    youth: bool | None = None  # True: youth only; False: non-youth only
    lag_members_only: bool = False  # formal LAG members
    include_simulated: bool = False

    @classmethod
    def everyone(cls) -> Audience:
        return cls()

    @classmethod
    def board(cls) -> Audience:
        return cls(roles=[Role.BOARD, Role.SECRETARIAT])

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=True)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        return cls.model_validate(data or {})


def is_youth(member: Member, *, year: int, min_age: int, max_age: int) -> bool:
    age = member.age(year)
    return age is not None and min_age <= age <= max_age


def matches(
    member: Member, audience: Audience, *, year: int, youth_min: int = 14, youth_max: int = 29
) -> bool:
    """The same rule as `select_members`, for one member already in hand."""
    if member.status != MemberStatus.ACTIVE or not member.consent_announcements:
        return False
    if member.is_simulated and not audience.include_simulated:
        return False
    if audience.communities and member.community_id not in audience.communities:
        return False
    if audience.sectors and member.sector not in audience.sectors:
        return False
    if audience.genders and member.gender not in audience.genders:
        return False
    if audience.roles and member.role not in audience.roles:
        return False
    if audience.lag_members_only and not member.is_lag_member:
        return False
    if audience.interests and not set(audience.interests) & set(member.interests or []):
        return False
    if audience.youth is not None:
        youth = is_youth(member, year=year, min_age=youth_min, max_age=youth_max)
        if youth != audience.youth:
            return False
    return True


async def select_members(
    *,
    session: AsyncSession,
    audience: Audience,
    now: datetime,
    youth_min: int = 14,
    youth_max: int = 29,
    with_consent_only: bool = True,
) -> list[Member]:
    """Everyone the audience covers, ordered by id (recipients are fixed from this list).

    `with_consent_only=False` also returns members who withdrew consent to announcements
    (to count them as opted out, never to send to them).
    """
    query = select(Member).where(col(Member.status) == MemberStatus.ACTIVE)
    if with_consent_only:
        query = query.where(col(Member.consent_announcements).is_(True))
    if not audience.include_simulated:
        query = query.where(col(Member.is_simulated).is_(False))
    if audience.communities:
        query = query.where(col(Member.community_id).in_(audience.communities))
    if audience.sectors:
        query = query.where(col(Member.sector).in_(audience.sectors))
    if audience.genders:
        query = query.where(col(Member.gender).in_(audience.genders))
    if audience.roles:
        query = query.where(col(Member.role).in_(audience.roles))
    if audience.lag_members_only:
        query = query.where(col(Member.is_lag_member).is_(True))
    if audience.youth is not None:
        oldest, youngest = now.year - youth_max, now.year - youth_min
        in_band = col(Member.birth_year).between(oldest, youngest)
        query = query.where(
            in_band if audience.youth else ~in_band | col(Member.birth_year).is_(None)
        )
    members = list((await session.execute(query.order_by(col(Member.id)))).scalars())
    if audience.interests:  # JSON lists: filtered here, portable across SQLite and PostgreSQL
        wanted = set(audience.interests)
        members = [m for m in members if wanted & set(m.interests or [])]
    return members


def channels_for(member: Member, *, urgent: bool) -> list[str]:
    """The channel policy: normal → Telegram when reachable there, else SMS; urgent → both.

    Opted-out, blocked and invalid channels are never used. (bot.outbound applies it.)
    """
    telegram, sms = member.telegram_reachable(), member.sms_reachable()
    if urgent:
        return [ch for ch, ok in (("telegram", telegram), ("sms", sms)) if ok]
    if telegram:
        return ["telegram"]
    return ["sms"] if sms else []


def opted_out_everywhere(member: Member) -> bool:
    """No consent to announcements, or every channel the member has is opted out."""
    if not member.consent_announcements:
        return True
    has = [(member.telegram_id, member.telegram_opt_out_at), (member.phone, member.sms_opt_out_at)]
    present = [opt_out for address, opt_out in has if address is not None]
    return bool(present) and all(opt_out is not None for opt_out in present)


@dataclass
class Reach:
    """Who an audience reaches, and how: the live counts the secretariat sees."""

    telegram: int = 0
    sms: int = 0
    unreachable: int = 0  # no usable channel: blocked, invalid number, none given
    opted_out: int = 0
    recipients: list[Member] = field(default_factory=list)  # with at least one channel

    @property
    def total(self) -> int:
        return len(self.recipients)


async def audience_reach(
    *,
    session: AsyncSession,
    audience: Audience,
    now: datetime,
    urgent: bool = False,
    youth_min: int = 14,
    youth_max: int = 29,
) -> Reach:
    members = await select_members(
        session=session,
        audience=audience,
        now=now,
        youth_min=youth_min,
        youth_max=youth_max,
        with_consent_only=False,
    )
    return reach_of(members, urgent=urgent)


def reach_of(members: list[Member], *, urgent: bool) -> Reach:
    reach = Reach()
    for member in members:
        if opted_out_everywhere(member):
            reach.opted_out += 1
            continue
        channels = channels_for(member, urgent=urgent)
        if not channels:
            reach.unreachable += 1
            continue
        reach.recipients.append(member)
        reach.telegram += "telegram" in channels
        reach.sms += "sms" in channels
    return reach
