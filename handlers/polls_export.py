"""CSV export: every vote of a named poll; totals and breakdowns of an anonymous one."""

from __future__ import annotations

import csv
import io

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import t
from bot.settings import Settings
from handlers.polls_render import group_label
from models.communities import Community
from models.members import Member
from models.polls import Poll, PollBallot
from models.polls_results import DIMENSIONS, poll_results


def _header(key: str, language: str) -> list[str]:
    return [part.strip() for part in t(key, language).split(",")]


async def votes_csv(
    session: AsyncSession,
    poll: Poll,
    language: str,
    settings: Settings,
    communities: dict[int, Community],
) -> str:
    """Named poll: one row per voter (their current or final vote)."""
    assert poll.id is not None and not poll.anonymous
    youth_ages = (settings.youth_min_age, settings.youth_max_age)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header("polls.csv_head_named", language))
    rows = await session.execute(
        select(PollBallot, Member)
        .join(Member, col(Member.id) == col(PollBallot.member_id))
        .where(PollBallot.poll_id == poll.id)
        .order_by(col(Member.id))
    )
    for ballot, member in rows.all():
        youth = "unknown" if ballot.youth is None else ("youth" if ballot.youth else "adult")
        voted_at = (
            ballot.voted_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
            if ballot.voted_at
            else ""
        )
        writer.writerow(
            [
                member.id,
                member.name or "",
                group_label(
                    "community",
                    str(ballot.community_id) if ballot.community_id else "unknown",
                    language,
                    communities,
                    youth_ages,
                ),
                group_label(
                    "sector", ballot.sector or "unknown", language, communities, youth_ages
                ),
                group_label(
                    "gender", ballot.gender or "unknown", language, communities, youth_ages
                ),
                group_label("youth", youth, language, communities, youth_ages),
                ballot.channel or "",
                " ".join(str(n) for n in ballot.choices),
                "; ".join(poll.options[n - 1] for n in ballot.choices),
                voted_at,
            ]
        )
    return "\ufeff" + out.getvalue()  # the BOM lets spreadsheet programs read Georgian


async def totals_csv(
    session: AsyncSession,
    poll: Poll,
    language: str,
    settings: Settings,
    communities: dict[int, Community],
) -> str:
    """Any poll (the only export of an anonymous one): totals, then breakdowns by group."""
    results = await poll_results(session=session, poll=poll)
    youth_ages = (settings.youth_min_age, settings.youth_max_age)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([poll.code, poll.question])
    writer.writerow(_header("polls.csv_head_totals", language))
    for n, option in enumerate(poll.options, start=1):
        count = results.counts[n - 1]
        writer.writerow([n, option, count, results.percent(count)])
    writer.writerow([t("polls.csv_turnout", language), "", results.voters, results.turnout])
    writer.writerow([t("polls.csv_audience", language), "", results.audience, ""])
    if poll.anonymous and poll.is_open:
        return "\ufeff" + out.getvalue()  # breakdowns only after close (see models.polls)
    writer.writerow([])
    writer.writerow(
        [
            *_header("polls.csv_head_breakdown", language),
            *(f"{n}) {o}" for n, o in enumerate(poll.options, start=1)),
        ]
    )
    for dimension in DIMENSIONS:
        rows = list(results.breakdowns.get(dimension, []))
        other = results.others.get(dimension)
        if other is not None:
            rows.append(other)
        for row in rows:
            label = group_label(dimension, row.group, language, communities, youth_ages)
            if row.hidden:
                writer.writerow([dimension, label, "<5" if row.hidden == "small" else "···"])
            else:
                writer.writerow([dimension, label, row.voters, *(row.counts or [])])
    return "\ufeff" + out.getvalue()


async def export_csv(
    session: AsyncSession,
    poll: Poll,
    language: str,
    settings: Settings,
    communities: dict[int, Community],
) -> tuple[str, str]:
    """(file name, content): votes for a named poll, totals for an anonymous one."""
    if poll.anonymous:
        return f"{poll.code}-totals.csv", await totals_csv(
            session, poll, language, settings, communities
        )
    return f"{poll.code}-votes.csv", await votes_csv(session, poll, language, settings, communities)
