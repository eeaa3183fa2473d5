"""Audiences: who receives a broadcast, an event announcement, a poll — defined once.

An audience is a filter over members (stored as JSON on whatever uses it). Empty lists mean
"any". Only active members with consent to announcements are ever selected; channels are
chosen later by the channel policy (bot.outbound), and opt-outs are checked again at send time.

A filter can be saved under a name (`SavedAudience`, RapidPro's "groups") and picked again by
anyone composing a broadcast, an event or a poll; what is stored is the filter, never a list of
members, so a saved audience always means who matches *now*, and recipients are still fixed
when a message is published. Saving, renaming and deleting are audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, Column, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel, col, select

from models.audit import record_audit
from models.base import UTCDateTime, insert_if_absent, utcnow
from models.members import Member, MemberStatus, Role

MAX_NAME = 40


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


# -- saved audiences -----------------------------------------------------------------------------
class SavedAudience(SQLModel, table=True):
    """A named audience filter, defined once and picked by every capability."""

    __tablename__ = "saved_audience"

    id: int | None = SQLField(default=None, primary_key=True)
    name: str = SQLField(max_length=MAX_NAME)
    name_key: str = SQLField(max_length=MAX_NAME, unique=True)  # casefolded: one per name
    filter: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: int | None = SQLField(default=None, foreign_key="member.id")
    created_at: datetime = SQLField(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def audience(self) -> Audience:
        return Audience.from_json(self.filter)


class AudienceNameError(ValueError):
    """A refused name; `key` is the i18n key of the explanation (with `values`)."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def clean_name(name: str) -> str:
    """The name as stored (spaces collapsed), or AudienceNameError (empty / too long)."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise AudienceNameError("audiences.err_name_empty")
    if len(cleaned) > MAX_NAME:
        raise AudienceNameError("audiences.err_name_long", limit=MAX_NAME, length=len(cleaned))
    return cleaned


async def list_saved(*, session: AsyncSession) -> list[SavedAudience]:
    query = select(SavedAudience).order_by(func.lower(col(SavedAudience.name)))
    return list((await session.execute(query)).scalars())


async def get_saved(*, session: AsyncSession, saved_id: int) -> SavedAudience | None:
    return await session.get(SavedAudience, saved_id)


async def save_audience(
    *,
    session: AsyncSession,
    name: str,
    audience: Audience,
    actor: Member | None,
    actor_label: str = "",
    now: datetime | None = None,
) -> SavedAudience:
    """Save the filter under a new name (AudienceNameError: empty, too long, taken)."""
    cleaned = clean_name(name)
    saved_id = await insert_if_absent(
        session,
        SavedAudience,
        {
            "name": cleaned,
            "name_key": cleaned.casefold(),
            "filter": audience.to_json(),
            "created_by": actor.id if actor else None,
            "created_at": now or utcnow(),
        },
        unique=["name_key"],
    )
    if saved_id is None:
        raise AudienceNameError("audiences.err_name_taken", name=cleaned)
    saved = await session.get(SavedAudience, saved_id)
    assert saved is not None
    await record_audit(
        session=session,
        action="audience.save",
        actor_member_id=actor.id if actor else None,
        actor_label=actor_label,
        target=cleaned,
        details={"id": saved_id, "filter": saved.filter},
    )
    return saved


async def rename_saved(
    *,
    session: AsyncSession,
    saved: SavedAudience,
    name: str,
    actor: Member | None,
    actor_label: str = "",
) -> SavedAudience:
    cleaned = clean_name(name)
    key = cleaned.casefold()
    taken = await session.execute(
        select(SavedAudience.id).where(
            col(SavedAudience.name_key) == key, col(SavedAudience.id) != saved.id
        )
    )
    if taken.first() is not None:
        raise AudienceNameError("audiences.err_name_taken", name=cleaned)
    before = saved.name
    saved.name, saved.name_key = cleaned, key
    session.add(saved)
    await session.flush()
    await record_audit(
        session=session,
        action="audience.rename",
        actor_member_id=actor.id if actor else None,
        actor_label=actor_label,
        target=cleaned,
        details={"id": saved.id, "before": before},
    )
    return saved


async def delete_saved(
    *, session: AsyncSession, saved: SavedAudience, actor: Member | None, actor_label: str = ""
) -> None:
    await record_audit(
        session=session,
        action="audience.delete",
        actor_member_id=actor.id if actor else None,
        actor_label=actor_label,
        target=saved.name,
        details={"id": saved.id, "filter": saved.filter},
    )
    await session.delete(saved)
    await session.flush()
