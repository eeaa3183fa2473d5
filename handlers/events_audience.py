"""The audience picker for /newevent and /editevent: everyone, or any mix of communities,
sectors, youth, interests, the board and formal LAG members (toggle buttons, ✓ on chosen)."""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.outbound import Button
from models.audiences import Audience, select_members
from models.base import utcnow
from models.communities import Community, list_communities
from models.members import Role

if TYPE_CHECKING:
    from bot.runtime import Runtime

CHECK = "✓"
SECTOR_CODES = ("public", "private", "civil")


@lru_cache(maxsize=4)
def load_interests(path: Path) -> tuple[tuple[str, dict[str, str]], ...]:
    """(code, names by language) of the interests data file (the same file registration uses)."""
    with path.open("rb") as fh:
        rows = tomllib.load(fh).get("interest", [])
    return tuple(
        (str(row["code"]), {k: str(v) for k, v in row.items() if k != "code"}) for row in rows
    )


def sector_name(code: str, language: str) -> str:
    return {
        "public": t("events.sector_public", language),
        "private": t("events.sector_private", language),
        "civil": t("events.sector_civil", language),
    }[code]


def toggle(audience: dict[str, Any], token: str) -> dict[str, Any]:
    """Apply one press: `all`, `c:<id>`, `s:<sector>`, `i:<interest>`, `y` (youth), `b` (board),
    `l` (formal LAG members only). Returns a new audience dict."""
    current = Audience.from_json(audience)
    if token == "all":
        return Audience.everyone().to_json()
    kind, _, value = token.partition(":")

    def flip(items: list[Any], item: Any) -> list[Any]:
        return [x for x in items if x != item] if item in items else [*items, item]

    if kind == "c" and value.isdigit():
        current.communities = flip(current.communities, int(value))
    elif kind == "s" and value in SECTOR_CODES:
        current.sectors = flip(current.sectors, value)
    elif kind == "i" and value:
        current.interests = flip(current.interests, value)
    elif kind == "y":
        current.youth = None if current.youth else True
    elif kind == "b":
        board = [Role.BOARD.value, Role.SECRETARIAT.value]
        current.roles = [] if current.roles else board
    elif kind == "l":
        current.lag_members_only = not current.lag_members_only
    return current.to_json()


def keyboard(
    prefix: str,
    audience: dict[str, Any],
    language: str,
    communities: list[Community],
    interests: tuple[tuple[str, dict[str, str]], ...],
    recipients: int,
) -> list[list[Button]]:
    chosen = Audience.from_json(audience)

    def mark(on: bool, label: str) -> str:
        return f"{CHECK} {label}" if on else label

    everyone = chosen == Audience.everyone()
    rows = [[Button(mark(everyone, t("events.aud_everyone", language)), f"{prefix}:aud:all")]]
    row: list[Button] = []
    for community in communities:
        label = mark(community.id in chosen.communities, community.name(language))
        row.append(Button(label, f"{prefix}:aud:c:{community.id}"))
        if len(row) == 3:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    rows.append(
        [
            Button(
                mark(code in chosen.sectors, sector_name(code, language)), f"{prefix}:aud:s:{code}"
            )
            for code in SECTOR_CODES
        ]
    )
    rows.append(
        [
            Button(mark(bool(chosen.youth), t("events.aud_youth", language)), f"{prefix}:aud:y"),
            Button(mark(bool(chosen.roles), t("events.aud_board", language)), f"{prefix}:aud:b"),
            Button(mark(chosen.lag_members_only, t("events.aud_lag", language)), f"{prefix}:aud:l"),
        ]
    )
    row = []
    for code, names in interests:
        label = mark(code in chosen.interests, names.get(language) or names.get("ka") or code)
        row.append(Button(label, f"{prefix}:aud:i:{code}"))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    done = t("events.aud_done", language, count=recipients)
    rows.append([Button(done, f"{prefix}:aud:done")])
    return rows


def summary(
    audience: dict[str, Any],
    language: str,
    communities: list[Community],
    interests: tuple[tuple[str, dict[str, str]], ...],
) -> str:
    """`everyone`, or the chosen filters in words."""
    chosen = Audience.from_json(audience)
    parts: list[str] = []
    if chosen.roles:
        parts.append(t("events.aud_board", language))
    if chosen.lag_members_only:
        parts.append(t("events.aud_lag", language))
    if chosen.youth:
        parts.append(t("events.aud_youth", language))
    names = {c.id: c.name(language) for c in communities}
    if chosen.communities:
        parts.append(", ".join(names.get(c, str(c)) for c in chosen.communities))
    if chosen.sectors:
        parts.append(", ".join(sector_name(s, language) for s in chosen.sectors))
    if chosen.interests:
        labels = {code: n.get(language) or n.get("ka") or code for code, n in interests}
        parts.append(", ".join(labels.get(i, i) for i in chosen.interests))
    return " · ".join(parts) if parts else t("events.aud_everyone", language)


async def communities_of(session: AsyncSession) -> list[Community]:
    return await list_communities(session=session)


async def count_audience(
    rt: Runtime, session: AsyncSession, audience: dict[str, Any], now: datetime
) -> int:
    members = await select_members(
        session=session,
        audience=Audience.from_json(audience),
        now=now,
        youth_min=rt.settings.youth_min_age,
        youth_max=rt.settings.youth_max_age,
    )
    return len(members)


async def audience_rows(
    rt: Runtime, session: AsyncSession, prefix: str, audience: dict[str, Any], language: str
) -> list[list[Button]]:
    """The picker for this audience, with the number of members it reaches on Done."""
    return keyboard(
        prefix,
        audience,
        language,
        await communities_of(session),
        load_interests(rt.settings.interests_file),
        await count_audience(rt, session, audience, utcnow()),
    )
