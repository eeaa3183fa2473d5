"""The secretariat's view of members: filtered lists, the CSV export and the statistics.

Erased and simulated members never appear in lists or exports; statistics count active
participants, and the LEADER balance (no sector above 49%) is judged on formal members.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.settings import Settings
from models.communities import Community, list_communities
from models.member_fields import (
    GENDERS,
    SECTORS,
    FieldError,
    clean_text,
    is_youth_year,
    match_community,
    match_sector,
)
from models.members import Member, MemberStatus

SECTOR_LIMIT = 0.49
PAGE_SIZE = 20
CHANNELS = ("telegram", "sms", "both", "none")
GENDER_WORDS = {
    "female": "female", "women": "female", "ქალი": "female", "qadın": "female",
    "женщины": "female", "male": "male", "men": "male", "კაცი": "male", "kişi": "male",
    "мужчины": "male",
}  # fmt: skip


@dataclass
class MemberFilter:
    community: str | None = None  # community code
    sector: str | None = None
    youth: bool = False
    gender: str | None = None
    channel: str | None = None  # telegram | sms | both | none
    opted_out: bool = False
    lag: bool = False
    pending: bool = False

    def encode(self) -> str:
        """A short form for callback data: `c=kabali,s=civil,y,...`."""
        parts = [
            f"c={self.community}" if self.community else "",
            f"s={self.sector}" if self.sector else "",
            "y" if self.youth else "",
            f"g={self.gender}" if self.gender else "",
            f"ch={self.channel}" if self.channel else "",
            "o" if self.opted_out else "",
            "l" if self.lag else "",
            "pe" if self.pending else "",
        ]
        return ",".join(p for p in parts if p)

    @classmethod
    def decode(cls, text: str) -> MemberFilter:
        found = cls()
        for part in text.split(","):
            key, _, value = part.partition("=")
            if key == "c":
                found.community = value
            elif key == "s" and value in SECTORS:
                found.sector = value
            elif key == "g" and value in GENDERS:
                found.gender = value
            elif key == "ch" and value in CHANNELS:
                found.channel = value
            found.youth |= key == "y"
            found.opted_out |= key == "o"
            found.lag |= key == "l"
            found.pending |= key == "pe"
        return found


def parse_filters(words: list[str], communities: list[Community]) -> tuple[MemberFilter, int]:
    """`/members kabali civil youth female sms stopped formal pending 2` → filter, page."""
    found, page = MemberFilter(), 1
    for word in words:
        token = clean_text(word).casefold()
        if token.isdigit():
            page = max(1, int(token))
        elif token in ("youth", "young", "ახალგაზრდა", "gənc", "молодёжь", "молодежь"):
            found.youth = True
        elif token in GENDER_WORDS:
            found.gender = GENDER_WORDS[token]
        elif token in CHANNELS:
            found.channel = token
        elif token in ("stopped", "optedout", "opted-out", "stop"):
            found.opted_out = True
        elif token in ("formal", "lag", "ფორმალური"):
            found.lag = True
        elif token in ("pending", "guardian"):
            found.pending = True
        elif (sector := match_sector(token)) is not None and not token.isdigit():
            found.sector = sector
        elif (community := match_community(token, communities)) is not None:
            found.community = community.code
        else:
            raise FieldError("members.err_filter", word=word)
    return found, page


def _channel_of(member: Member) -> str:
    telegram, sms = member.telegram_reachable(), member.sms_reachable()
    return "both" if telegram and sms else "telegram" if telegram else "sms" if sms else "none"


async def filtered(
    *, session: AsyncSession, settings: Settings, flt: MemberFilter, now: datetime
) -> list[Member]:
    query = select(Member).where(
        col(Member.status) != MemberStatus.ERASED, col(Member.is_simulated).is_(False)
    )
    if flt.community:
        ids = [c.id for c in await list_communities(session=session) if c.code == flt.community]
        query = query.where(col(Member.community_id).in_(ids))
    if flt.sector:
        query = query.where(col(Member.sector) == flt.sector)
    if flt.gender:
        query = query.where(col(Member.gender) == flt.gender)
    if flt.lag:
        query = query.where(col(Member.is_lag_member).is_(True))
    status = MemberStatus.PENDING_GUARDIAN if flt.pending else MemberStatus.ACTIVE
    query = query.where(col(Member.status) == status)
    members = list((await session.execute(query.order_by(col(Member.name)))).scalars())
    year = now.astimezone(settings.tz).year
    if flt.youth:
        members = [
            m
            for m in members
            if is_youth_year(
                m.birth_year,
                this_year=year,
                low=settings.youth_min_age,
                high=settings.youth_max_age,
            )
        ]
    if flt.channel:
        members = [m for m in members if _channel_of(m) == flt.channel]
    if flt.opted_out:
        members = [m for m in members if m.telegram_opt_out_at or m.sms_opt_out_at]
    return members


# -- export -------------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "id", "name", "phone", "phone_verified", "telegram", "telegram_username", "community",
    "village", "sector", "birth_year", "youth", "gender", "interests", "language", "sms_script",
    "status", "role", "lag_member", "lag_member_since", "organisation", "joined_via",
    "registered_at", "announcements", "telegram_stopped", "sms_stopped",
]  # fmt: skip


async def export_csv(*, session: AsyncSession, settings: Settings, now: datetime) -> bytes:
    """Every (non-erased, non-simulated) member as CSV, UTF-8 with BOM for Excel."""
    communities = {c.id: c for c in await list_communities(session=session)}
    rows = await session.execute(
        select(Member)
        .where(col(Member.status) != MemberStatus.ERASED, col(Member.is_simulated).is_(False))
        .order_by(col(Member.id))
    )
    year = now.astimezone(settings.tz).year
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for m in rows.scalars():
        community = communities.get(m.community_id)
        youth = is_youth_year(
            m.birth_year, this_year=year, low=settings.youth_min_age, high=settings.youth_max_age
        )
        writer.writerow(
            [
                m.id,
                m.name or "",
                m.phone or "",
                _yn(m.phone_verified),
                _yn(m.telegram_id is not None),
                m.telegram_username or "",
                community.name_ka if community else "",
                m.village or "",
                m.sector or "",
                m.birth_year or "",
                _yn(youth),
                m.gender or "",
                " ".join(m.interests or []),
                m.language,
                m.sms_script,
                m.status,
                m.role,
                _yn(m.is_lag_member),
                _date(m.lag_member_since),
                m.organisation or "",
                m.joined_via or "",
                _date(m.created_at),
                _yn(m.consent_announcements),
                _date(m.telegram_opt_out_at),
                _date(m.sms_opt_out_at),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _yn(value: bool) -> str:
    return "yes" if value else "no"


def _date(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


# -- statistics -----------------------------------------------------------------------------------


@dataclass
class Stats:
    participants: int = 0
    formal: int = 0
    pending: int = 0
    by_community: dict[str, Counter[str]] = field(default_factory=dict)  # code → sector counts
    formal_by_sector: Counter[str] = field(default_factory=Counter)
    participants_by_sector: Counter[str] = field(default_factory=Counter)
    youth: int = 0
    gender: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)

    def over_limit(self, counts: Counter[str]) -> list[tuple[str, float]]:
        total = sum(counts.values())
        return [(s, n / total) for s, n in counts.items() if total and n / total > SECTOR_LIMIT]


async def member_stats(*, session: AsyncSession, settings: Settings, now: datetime) -> Stats:
    communities = {c.id: c for c in await list_communities(session=session)}
    rows = await session.execute(
        select(Member).where(
            col(Member.status) != MemberStatus.ERASED, col(Member.is_simulated).is_(False)
        )
    )
    year = now.astimezone(settings.tz).year
    stats = Stats()
    for m in rows.scalars():
        if m.status == MemberStatus.PENDING_GUARDIAN:
            stats.pending += 1
            continue
        stats.participants += 1
        sector = m.sector or "unknown"
        community = communities.get(m.community_id)
        code = community.code if community else "unknown"
        stats.by_community.setdefault(code, Counter())[sector] += 1
        stats.participants_by_sector[sector] += 1
        if m.is_lag_member:
            stats.formal += 1
            stats.formal_by_sector[sector] += 1
        if is_youth_year(
            m.birth_year, this_year=year, low=settings.youth_min_age, high=settings.youth_max_age
        ):
            stats.youth += 1
        stats.gender[m.gender or "none"] += 1
        stats.channels[_channel_of(m)] += 1
    return stats
