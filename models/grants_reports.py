"""Counts for the Board and donors, and the CSV files: how many were interested, sent an idea,
were shortlisted and funded — overall and by community, sector, applicant type, gender and youth.

The groups come from each applicant's snapshot at the time they applied (models.grants_applicants),
so a later profile change or an erasure does not rewrite history. A withdrawn applicant counts
as far as they got. The counts CSV holds no personal data (for donors); the applicants CSV does
(for the secretariat only).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from models.audiences import channels_for
from models.communities import Community
from models.grants import GrantCall
from models.grants_applicants import GrantApplicant, Stage, applicants_of
from models.grants_labels import (
    dimension_label,
    group_label,
    phase_label,
    stage_label,
    type_label,
)
from models.grants_office import reachable
from models.members import Member

DIMENSIONS: tuple[str, ...] = ("community", "sector", "applicant_type", "gender", "youth")


@dataclass
class Funnel:
    interested: int = 0  # everyone who registered interest (withdrawn included)
    ideas: int = 0  # whose idea reached the secretariat
    shortlisted: int = 0
    funded: int = 0
    withdrawn: int = 0

    def add(self, applicant: GrantApplicant) -> None:
        level = applicant.level
        self.interested += 1
        self.ideas += level >= 1
        self.shortlisted += level >= 2
        self.funded += applicant.stage == Stage.FUNDED
        self.withdrawn += applicant.stage == Stage.WITHDRAWN

    def row(self) -> list[int]:
        return [self.interested, self.ideas, self.shortlisted, self.funded, self.withdrawn]


@dataclass
class Awards:
    """What the funded applicants were awarded, and their own co-financing (GEL)."""

    funded: int = 0
    recorded: int = 0  # funded applicants whose amount is recorded
    awarded: int = 0
    cofinancing: int = 0

    def add(self, applicant: GrantApplicant) -> None:
        if applicant.stage != Stage.FUNDED:
            return
        self.funded += 1
        if applicant.awarded_amount is not None:
            self.recorded += 1
            self.awarded += applicant.awarded_amount
            self.cofinancing += applicant.cofinancing_amount or 0


def gel(amount: int) -> str:
    """12500 → `12 500` (a thin space would not survive SMS or CSV)."""
    return f"{amount:,}".replace(",", " ")


@dataclass
class GrantCounts:
    total: Funnel = field(default_factory=Funnel)
    awards: Awards = field(default_factory=Awards)
    # dimension -> group code -> funnel ("unknown" when the profile did not say)
    groups: dict[str, dict[str, Funnel]] = field(default_factory=dict)

    def breakdown(self, dimension: str) -> list[tuple[str, Funnel]]:
        rows = self.groups.get(dimension, {})
        return sorted(rows.items(), key=lambda kv: (kv[0] == "unknown", -kv[1].interested, kv[0]))


def group_of(applicant: GrantApplicant, dimension: str) -> str:
    if dimension == "community":
        return str(applicant.community_id) if applicant.community_id else "unknown"
    if dimension == "youth":
        return "unknown" if applicant.youth is None else ("youth" if applicant.youth else "adult")
    value = getattr(applicant, dimension)
    return str(value) if value else "unknown"


async def grant_counts(*, session: AsyncSession, call: GrantCall) -> GrantCounts:
    assert call.id is not None
    counts = GrantCounts(groups={d: {} for d in DIMENSIONS})
    for applicant, member in await applicants_of(session=session, grant_id=call.id):
        if member.is_simulated:  # the dashboard's simulator: never in a count or a report
            continue
        counts.total.add(applicant)
        counts.awards.add(applicant)
        for dimension in DIMENSIONS:
            group = group_of(applicant, dimension)
            counts.groups[dimension].setdefault(group, Funnel()).add(applicant)
    return counts


def _header(language: str) -> list[str]:
    return [
        t("grants.count_interested", language),
        t("grants.count_ideas", language),
        t("grants.count_shortlisted", language),
        t("grants.count_funded", language),
        t("grants.count_withdrawn", language),
    ]


def counts_csv(
    call: GrantCall,
    counts: GrantCounts,
    *,
    language: str,
    communities: dict[int, Community],
    ages: tuple[int, int],
) -> str:
    """The donor report: totals, then one block per dimension. No personal data."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([call.code, call.title_in(language)])
    writer.writerow([t("grants.csv_dimension", language), t("grants.csv_group", language),
                     *_header(language)])  # fmt: skip
    writer.writerow([t("grants.csv_total", language), "", *counts.total.row()])
    for dimension in DIMENSIONS:
        for group, funnel in counts.breakdown(dimension):
            label = group_label(dimension, group, language, communities, ages)
            writer.writerow([dimension_label(dimension, language), label, *funnel.row()])
    awards = counts.awards
    writer.writerow([])
    writer.writerow([t("grants.csv_awarded", language), "", awards.awarded])
    writer.writerow([t("grants.csv_cofinancing", language), "", awards.cofinancing])
    writer.writerow([t("grants.csv_awards_recorded", language), "",
                     f"{awards.recorded}/{awards.funded}"])  # fmt: skip
    return "\ufeff" + out.getvalue()  # the BOM lets spreadsheet programs read Georgian


def reached_by(member: Member, language: str) -> str:
    """How notices reach the applicant: `telegram`, `sms`, else the "🗣 tell in person" mark."""
    channels = channels_for(member, urgent=False) if reachable(member) else []
    return channels[0] if channels else t("grants.tell_in_person", language)


async def applicants_csv(
    *,
    session: AsyncSession,
    call: GrantCall,
    language: str,
    communities: dict[int, Community],
    ages: tuple[int, int],
    tz: tzinfo,
) -> str:
    """The secretariat's list: one row per applicant with contact, idea and every stage date."""
    assert call.id is not None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([part.strip() for part in t("grants.csv_head_applicants", language).split(",")])

    def local(moment: str | datetime | None) -> str:
        if moment is None:
            return ""
        value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    for applicant, member in await applicants_of(session=session, grant_id=call.id):
        if member.is_simulated:
            continue
        history = "; ".join(
            f"{stage_label(str(h.get('stage')), language)} {local(h.get('at'))}"
            for h in applicant.history
        )
        community = group_label(
            "community", group_of(applicant, "community"), language, communities, ages
        )
        writer.writerow(
            [
                applicant.id,
                member.name or "",
                member.phone or "",
                community,
                applicant.village,
                type_label(applicant.applicant_type, language),
                applicant.idea_title,
                group_label("sector", group_of(applicant, "sector"), language, communities, ages),
                group_label("gender", group_of(applicant, "gender"), language, communities, ages),
                group_label("youth", group_of(applicant, "youth"), language, communities, ages),
                applicant.channel,
                reached_by(member, language),
                stage_label(applicant.stage, language),
                local(applicant.created_at),
                history,
                "" if applicant.awarded_amount is None else applicant.awarded_amount,
                "" if applicant.cofinancing_amount is None else applicant.cofinancing_amount,
            ]
        )
    return "\ufeff" + out.getvalue()


def phases_text(call: GrantCall, language: str, tz: tzinfo) -> list[str]:
    """`Phase: YYYY-MM-DD HH:MM` lines, for reports."""
    return [
        f"{phase_label(name, language)}: {moment.astimezone(tz).strftime('%Y-%m-%d %H:%M')}"
        for name, moment in call.phases().items()
        if moment is not None
    ]
