"""Choosing a poll's audience with buttons: communities, sectors, interests, youth, gender,
formal LAG members, the board (the segments events use, plus gender).

The choice is a `models.audiences.Audience` kept in the /newpoll Dialog; every change shows
how many members it covers and how they will be reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.outbound import Button
from bot.settings import Settings
from models.audiences import Audience, select_members
from models.communities import Community
from models.member_fields import interest_labels, load_interests
from models.members import Role, Sector

CHECK = "✓"
SECTORS = (Sector.PUBLIC, Sector.PRIVATE, Sector.CIVIL)
BOARD_ROLES = [Role.BOARD, Role.SECRETARIAT]


@dataclass(frozen=True)
class Reach:
    total: int
    telegram: int
    sms: int
    unreachable: int


async def reach(
    *, session: AsyncSession, audience: Audience, now: datetime, settings: Settings
) -> Reach:
    members = await select_members(
        session=session,
        audience=audience,
        now=now,
        youth_min=settings.youth_min_age,
        youth_max=settings.youth_max_age,
    )
    telegram = sum(1 for m in members if m.telegram_reachable())
    sms = sum(1 for m in members if not m.telegram_reachable() and m.sms_reachable())
    return Reach(len(members), telegram, sms, len(members) - telegram - sms)


def reach_text(found: Reach, language: str) -> str:
    return t(
        "polls.aud_count",
        language,
        total=found.total,
        telegram=found.telegram,
        sms=found.sms,
        none=found.unreachable,
    )


def _sector_name(sector: str, language: str) -> str:
    names = {
        "public": t("polls.sector_public", language),
        "private": t("polls.sector_private", language),
        "civil": t("polls.sector_civil", language),
    }
    return names.get(sector, sector)


def summary(
    audience: Audience,
    language: str,
    communities: dict[int, Community],
    youth_ages: tuple[int, int],
    settings: Settings,
) -> str:
    parts: list[str] = []
    if audience.communities:
        names = ", ".join(
            communities[c].name(language) for c in audience.communities if c in communities
        )
        parts.append(t("polls.aud_communities", language, names=names))
    if audience.sectors:
        names = ", ".join(_sector_name(s, language) for s in audience.sectors)
        parts.append(t("polls.aud_sectors", language, names=names))
    if audience.interests:
        names = ", ".join(interest_labels(settings.interests_file, audience.interests, language))
        parts.append(t("polls.aud_interests", language, names=names))
    if audience.youth is True:
        parts.append(t("polls.aud_youth_only", language, low=youth_ages[0], high=youth_ages[1]))
    elif audience.youth is False:
        parts.append(t("polls.aud_youth_none", language, low=youth_ages[0], high=youth_ages[1]))
    if audience.genders == ["female"]:
        parts.append(t("polls.aud_women", language))
    elif audience.genders == ["male"]:
        parts.append(t("polls.aud_men", language))
    if audience.lag_members_only:
        parts.append(t("polls.aud_lag", language))
    if audience.roles:
        parts.append(t("polls.aud_board", language))
    return "; ".join(parts) if parts else t("polls.aud_everyone", language)


def _mark(on: bool, label: str) -> str:
    return f"{CHECK} {label}" if on else label


def main_buttons(audience: Audience, language: str) -> list[list[Button]]:
    youth = {
        None: "polls.aud_btn_youth_any",
        True: "polls.aud_btn_youth_only",
        False: "polls.aud_btn_youth_none",
    }
    gender = (
        "polls.aud_btn_gender_female"
        if audience.genders == ["female"]
        else "polls.aud_btn_gender_male"
        if audience.genders == ["male"]
        else "polls.aud_btn_gender_any"
    )
    youth_key = youth[audience.youth]
    return [
        [Button(_mark(audience == Audience(), t("polls.aud_btn_everyone", language)), "np:a:all")],
        [
            Button(
                _mark(bool(audience.communities), t("polls.aud_btn_communities", language)),
                "np:a:c",
            ),
            Button(_mark(bool(audience.sectors), t("polls.aud_btn_sectors", language)), "np:a:s"),
        ],
        [Button(_mark(bool(audience.interests), t("polls.aud_btn_interests", language)), "np:a:i")],
        [Button(t(youth_key, language), "np:a:y"), Button(t(gender, language), "np:a:g")],
        [
            Button(_mark(audience.lag_members_only, t("polls.aud_btn_lag", language)), "np:a:l"),
            Button(_mark(bool(audience.roles), t("polls.aud_btn_board", language)), "np:a:b"),
        ],
        [Button(t("polls.np_next", language), "np:a:next")],
    ]


def community_buttons(
    audience: Audience, language: str, communities: dict[int, Community]
) -> list[list[Button]]:
    ordered = sorted(communities.values(), key=lambda c: c.position)
    buttons = [
        Button(_mark(c.id in audience.communities, c.name(language)), f"np:a:tc:{c.id}")
        for c in ordered
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(t("polls.np_back", language), "np:a:back")])
    return rows


def sector_buttons(audience: Audience, language: str) -> list[list[Button]]:
    rows = [
        [Button(_mark(s in audience.sectors, _sector_name(s, language)), f"np:a:ts:{s}")]
        for s in SECTORS
    ]
    rows.append([Button(t("polls.np_back", language), "np:a:back")])
    return rows


def interest_buttons(audience: Audience, language: str, settings: Settings) -> list[list[Button]]:
    rows = [
        [Button(_mark(i.code in audience.interests, i.name(language)), f"np:a:ti:{i.code}")]
        for i in load_interests(settings.interests_file)
    ]
    rows.append([Button(t("polls.np_back", language), "np:a:back")])
    return rows


def change(audience: Audience, action: str, arg: str | None) -> Audience:
    """Apply one button press to the audience (a new object)."""
    a = audience.model_copy(deep=True)
    if action == "all":
        return Audience()
    if action == "y":
        a.youth = {None: True, True: False, False: None}[a.youth]
    elif action == "g":
        a.genders = ["female"] if not a.genders else ["male"] if a.genders == ["female"] else []
    elif action == "l":
        a.lag_members_only = not a.lag_members_only
    elif action == "b":
        a.roles = [] if a.roles else list(BOARD_ROLES)
    elif action == "tc" and arg is not None and arg.isdigit():
        chosen = set(a.communities) ^ {int(arg)}
        a.communities = sorted(chosen)
    elif action == "ti" and arg:
        picked = set(a.interests) ^ {arg}
        a.interests = sorted(picked)
    elif action == "ts" and arg in SECTORS:
        picked = set(a.sectors) ^ {arg}
        a.sectors = [s for s in SECTORS if s in picked]
    return a
