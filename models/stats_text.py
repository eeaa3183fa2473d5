"""/stats as text: members by community × sector, youth and gender shares, channel reach,
and a warning when one sector holds more than 49% (the LEADER rule for decision levels)."""

from __future__ import annotations

from collections import Counter

from bot.i18n import t
from bot.settings import Settings
from models.communities import Community
from models.member_fields import SECTORS, gender_label, sector_label
from models.member_reports import Stats


def _pct(part: int, total: int) -> str:
    return f"{round(100 * part / total)}%" if total else "0%"


def _shares(counts: Counter[str], language: str) -> str:
    total = sum(counts.values())
    return " · ".join(f"{sector_label(s, language)} {_pct(counts[s], total)}" for s in SECTORS)


def stats_text(
    stats: Stats, communities: list[Community], language: str, settings: Settings
) -> str:
    lines = [
        t(
            "members.stats_title",
            language,
            participants=stats.participants,
            formal=stats.formal,
            pending=stats.pending,
        ),
        "",
        t(
            "members.stats_by_community",
            language,
            sectors=" / ".join(sector_label(s, language) for s in SECTORS),
        ),
    ]
    for community in communities:
        counts = stats.by_community.get(community.code, Counter())
        numbers = " / ".join(str(counts[s]) for s in SECTORS)
        lines.append(f"{community.name(language)}: {numbers}")
    lines.append("")
    lines.append(
        t(
            "members.stats_sectors_all",
            language,
            shares=_shares(stats.participants_by_sector, language),
        )
    )
    if stats.formal:
        lines.append(
            t(
                "members.stats_sectors_formal",
                language,
                shares=_shares(stats.formal_by_sector, language),
            )
        )
        for sector, share in stats.over_limit(stats.formal_by_sector):
            lines.append(
                t(
                    "members.stats_warning",
                    language,
                    sector=sector_label(sector, language),
                    share=round(100 * share),
                )
            )
    else:
        lines.append(t("members.stats_no_formal", language))
    for sector, share in stats.over_limit(stats.participants_by_sector):
        lines.append(
            t(
                "members.stats_warning_all",
                language,
                sector=sector_label(sector, language),
                share=round(100 * share),
            )
        )
    total = stats.participants
    lines.append(
        t(
            "members.stats_youth",
            language,
            low=settings.youth_min_age,
            high=settings.youth_max_age,
            count=stats.youth,
            share=_pct(stats.youth, total),
        )
    )
    genders = " · ".join(
        f"{gender_label(g, language) if g != 'none' else t('members.stats_gender_none', language)}"
        f" {_pct(n, total)}"
        for g, n in sorted(stats.gender.items())
    )
    lines.append(t("members.stats_gender", language, shares=genders or "—"))
    c = stats.channels
    lines.append(
        t(
            "members.stats_reach",
            language,
            telegram=c["telegram"],
            sms=c["sms"],
            both=c["both"],
            none=c["none"],
        )
    )
    return "\n".join(lines)
