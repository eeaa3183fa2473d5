"""The audience picker of /broadcast: any mix of communities, sectors, youth, gender,
interests, roles and formal LAG members, with the live count per channel after every press.

Screens (one message, edited in place): the summary with one button per dimension, and a
toggle list per dimension (✓ on chosen). Callback data: `bc:a:<token>` changes the audience,
`bc:v:<view>` switches the screen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.outbound import Button
from bot.settings import Settings
from models.audiences import Audience, Reach, audience_reach
from models.base import utcnow
from models.communities import list_communities
from models.member_fields import load_interests
from models.members import Gender, Role, Sector

CHECK = "✓ "
VIEWS = ("main", "c", "s", "g", "i", "r")
SECTORS = (Sector.PUBLIC, Sector.PRIVATE, Sector.CIVIL)
GENDERS = (Gender.FEMALE, Gender.MALE)
ROLES = (Role.MEMBER, Role.BOARD, Role.SECRETARIAT)


def _flip(items: list[Any], item: Any) -> list[Any]:
    return [x for x in items if x != item] if item in items else [*items, item]


def apply_token(audience: dict[str, Any], token: str) -> dict[str, Any]:
    """One press: `all`, `c:<id>`, `s:<sector>`, `g:<gender>`, `i:<interest>`, `r:<role>`,
    `y` (any → youth only → no youth → any), `l` (formal LAG members only, on/off)."""
    current = Audience.from_json(audience)
    kind, _, value = token.partition(":")
    if token == "all":
        current = Audience.everyone()
    elif kind == "c" and value.isdigit():
        current.communities = _flip(current.communities, int(value))
    elif kind == "s" and value in SECTORS:
        current.sectors = _flip(current.sectors, value)
    elif kind == "g" and value in GENDERS:
        current.genders = _flip(current.genders, value)
    elif kind == "i" and value:
        current.interests = _flip(current.interests, value)
    elif kind == "r" and value in ROLES:
        current.roles = _flip(current.roles, value)
    elif token == "y":
        current.youth = {None: True, True: False, False: None}[current.youth]
    elif token == "l":
        current.lag_members_only = not current.lag_members_only
    return current.to_json()


async def reach_for(
    session: AsyncSession, settings: Settings, audience: dict[str, Any], *, urgent: bool
) -> Reach:
    return await audience_reach(
        session=session,
        audience=Audience.from_json(audience),
        now=utcnow(),
        urgent=urgent,
        youth_min=settings.youth_min_age,
        youth_max=settings.youth_max_age,
    )


def reach_line(reach: Reach, language: str) -> str:
    return t(
        "broadcasts.reach",
        language,
        total=reach.total,
        telegram=reach.telegram,
        sms=reach.sms,
        unreachable=reach.unreachable,
        opted_out=reach.opted_out,
    )


def _sector(code: str, language: str) -> str:
    return {
        Sector.PUBLIC: t("broadcasts.sector_public", language),
        Sector.PRIVATE: t("broadcasts.sector_private", language),
        Sector.CIVIL: t("broadcasts.sector_civil", language),
    }[Sector(code)]


def _gender(code: str, language: str) -> str:
    key = "broadcasts.gender_female" if code == Gender.FEMALE else "broadcasts.gender_male"
    return t(key, language)


def _role(code: str, language: str) -> str:
    return {
        Role.MEMBER: t("broadcasts.role_member", language),
        Role.BOARD: t("broadcasts.role_board", language),
        Role.SECRETARIAT: t("broadcasts.role_secretariat", language),
    }[Role(code)]


async def describe(
    session: AsyncSession, settings: Settings, audience: dict[str, Any], language: str
) -> str:
    """The audience in words: "Kabali, Pona · private sector · youth"."""
    chosen = Audience.from_json(audience)
    parts: list[str] = []
    if chosen.communities:
        names = {c.id: c.name(language) for c in await list_communities(session=session)}
        parts.append(", ".join(names.get(c, str(c)) for c in chosen.communities))
    if chosen.sectors:
        parts.append(", ".join(_sector(s, language) for s in chosen.sectors))
    if chosen.youth is not None:
        key = "broadcasts.youth_only" if chosen.youth else "broadcasts.youth_none"
        parts.append(t(key, language))
    if chosen.genders:
        parts.append(", ".join(_gender(g, language) for g in chosen.genders))
    if chosen.interests:
        known = {i.code: i.name(language) for i in load_interests(settings.interests_file)}
        parts.append(", ".join(known.get(i, i) for i in chosen.interests))
    if chosen.roles:
        parts.append(", ".join(_role(r, language) for r in chosen.roles))
    if chosen.lag_members_only:
        parts.append(t("broadcasts.lag_members", language))
    return " · ".join(parts) if parts else t("broadcasts.everyone", language)


def _mark(label: str, on: bool) -> str:
    return CHECK + label if on else label


async def screen(
    session: AsyncSession,
    settings: Settings,
    audience: dict[str, Any],
    view: str,
    language: str,
) -> tuple[str, list[list[Button]]]:
    """The picker's text (audience, live counts) and buttons for `view`."""
    chosen = Audience.from_json(audience)
    reach = await reach_for(session, settings, audience, urgent=False)
    text = "\n".join(
        [
            t("broadcasts.audience_title", language),
            t(
                "broadcasts.audience_is",
                language,
                audience=await describe(session, settings, audience, language),
            ),
            reach_line(reach, language),
        ]
    )
    back = [Button(t("broadcasts.back", language), "bc:v:main")]
    if view == "c":
        communities = await list_communities(session=session)
        buttons = [
            Button(_mark(c.name(language), c.id in chosen.communities), f"bc:a:c:{c.id}")
            for c in communities
        ]
        return text, [buttons[i : i + 2] for i in range(0, len(buttons), 2)] + [back]
    if view == "s":
        return text, [
            [Button(_mark(_sector(s, language), s in chosen.sectors), f"bc:a:s:{s}")]
            for s in SECTORS
        ] + [back]
    if view == "g":
        return text, [
            [Button(_mark(_gender(g, language), g in chosen.genders), f"bc:a:g:{g}")]
            for g in GENDERS
        ] + [back]
    if view == "i":
        interests = load_interests(settings.interests_file)
        buttons = [
            Button(_mark(i.name(language), i.code in chosen.interests), f"bc:a:i:{i.code}")
            for i in interests
        ]
        return text, [buttons[i : i + 2] for i in range(0, len(buttons), 2)] + [back]
    if view == "r":
        return text, [
            [Button(_mark(_role(r, language), r in chosen.roles), f"bc:a:r:{r}")] for r in ROLES
        ] + [back]
    youth = {
        None: t("broadcasts.youth_any", language),
        True: t("broadcasts.youth_only", language),
        False: t("broadcasts.youth_none", language),
    }[chosen.youth]
    return text, [
        [
            Button(_mark(t("broadcasts.everyone", language), not chosen.to_json()), "bc:a:all"),
        ],
        [
            Button(
                _mark(t("broadcasts.communities", language), bool(chosen.communities)), "bc:v:c"
            ),
            Button(_mark(t("broadcasts.sectors", language), bool(chosen.sectors)), "bc:v:s"),
        ],
        [
            Button(youth, "bc:a:y"),
            Button(_mark(t("broadcasts.lag_members", language), chosen.lag_members_only), "bc:a:l"),
        ],
        [
            Button(_mark(t("broadcasts.genders", language), bool(chosen.genders)), "bc:v:g"),
            Button(_mark(t("broadcasts.interests", language), bool(chosen.interests)), "bc:v:i"),
            Button(_mark(t("broadcasts.roles", language), bool(chosen.roles)), "bc:v:r"),
        ],
        [
            Button(t("broadcasts.continue", language), "bc:next"),
            Button(t("broadcasts.cancel", language), "bc:cancel"),
        ],
    ]
