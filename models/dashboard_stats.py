"""The overview numbers: members by community and sector, youth and gender, reach, opt-outs,
and the LEADER 49% sector rule (EU Reg. 1303/2013 Art. 32) for the Assembly and the Board.

Counts cover active members only, never simulated ones (models.simulator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.audiences import is_youth
from models.communities import Community, list_communities
from models.members import Member, MemberStatus, Role, Sector

SECTORS = [s.value for s in Sector]
SECTOR_LIMIT = 0.49


@dataclass
class SectorBalance:
    group: str  # assembly | board
    counts: dict[str, int]
    total: int  # members of the group with a sector

    def share(self, sector: str) -> float:
        return self.counts.get(sector, 0) / self.total if self.total else 0.0

    @property
    def over(self) -> list[str]:
        """Sectors above 49% (none while fewer than two people are counted)."""
        if self.total < 2:
            return []
        return [s for s in SECTORS if self.share(s) > SECTOR_LIMIT]


@dataclass
class CommunityRow:
    community: Community | None  # None: no community given
    by_sector: dict[str, int]
    total: int


@dataclass
class Overview:
    active: int = 0
    pending_guardian: int = 0
    rows: list[CommunityRow] = field(default_factory=list)
    sector_totals: dict[str, int] = field(default_factory=dict)
    youth: int = 0
    genders: dict[str, int] = field(default_factory=dict)
    reach: dict[str, int] = field(default_factory=dict)
    opted_out: dict[str, int] = field(default_factory=dict)
    balance: list[SectorBalance] = field(default_factory=list)

    def percent(self, count: int) -> int:
        return round(100 * count / self.active) if self.active else 0

    @property
    def largest_row(self) -> int:
        return max((r.total for r in self.rows), default=0)


def _balance(group: str, members: list[Member]) -> SectorBalance:
    counts = {s: sum(1 for m in members if m.sector == s) for s in SECTORS}
    return SectorBalance(group, counts, sum(counts.values()))


async def overview(
    *, session: AsyncSession, now: datetime, youth_min: int, youth_max: int
) -> Overview:
    members = list(
        (
            await session.execute(
                select(Member).where(
                    col(Member.is_simulated).is_(False),
                    col(Member.status).in_([MemberStatus.ACTIVE, MemberStatus.PENDING_GUARDIAN]),
                )
            )
        ).scalars()
    )
    result = Overview()
    result.pending_guardian = sum(1 for m in members if m.status == MemberStatus.PENDING_GUARDIAN)
    active = [m for m in members if m.status == MemberStatus.ACTIVE]
    result.active = len(active)
    communities = await list_communities(session=session)
    known = {c.id for c in communities}
    for community in [*communities, None]:
        in_it = [
            m
            for m in active
            if (m.community_id == community.id if community else m.community_id not in known)
        ]
        if community is None and not in_it:
            continue
        by_sector = {s: sum(1 for m in in_it if m.sector == s) for s in SECTORS}
        by_sector["none"] = len(in_it) - sum(by_sector.values())
        result.rows.append(CommunityRow(community, by_sector, len(in_it)))
    result.sector_totals = {s: sum(r.by_sector[s] for r in result.rows) for s in [*SECTORS, "none"]}
    result.youth = sum(
        1 for m in active if is_youth(m, year=now.year, min_age=youth_min, max_age=youth_max)
    )
    result.genders = {
        g: sum(1 for m in active if (m.gender or "unsaid") == g)
        for g in ("female", "male", "unsaid")
    }
    tg = {m.id for m in active if m.telegram_reachable()}
    sms = {m.id for m in active if m.sms_reachable()}
    result.reach = {
        "telegram": len(tg),
        "sms": len(sms),
        "both": len(tg & sms),
        "none": sum(1 for m in active if m.id not in tg | sms),
    }
    result.opted_out = {
        "telegram": sum(1 for m in active if m.telegram_opt_out_at is not None),
        "sms": sum(1 for m in active if m.sms_opt_out_at is not None),
        "announcements": sum(1 for m in active if not m.consent_announcements),
    }
    result.balance = [
        _balance("assembly", [m for m in active if m.is_lag_member]),
        _balance("board", [m for m in active if m.role == Role.BOARD]),
    ]
    return result
