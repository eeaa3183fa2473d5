"""The one audience picker: /broadcast, /newevent, /editevent, /newpoll and grant calls.

Any mix of communities, sectors, youth, gender, interests, roles and formal LAG members, with
the live count per channel (Telegram / SMS / unreachable / opted out) after every press; a
saved audience (models.audiences.SavedAudience) can be picked and then still changed, and the
current choice saved under a new name ("💾 Save as…", the name is typed).

The picker keeps its state in the capability's Dialog data: `audience` (the filter JSON) and
`aud_view` (which screen). A capability gives a `Picker` (its callback prefix and the
dimensions it hides), the title line and its own finishing buttons; every press arrives as
`<prefix>:<token>`:

    all · c:<id> · s:<sector> · g:<gender> · i:<interest> · r:<role> · y (any → youth only →
    no youth → any) · l (formal LAG members on/off) · v:<view> (main, c, s, g, i, r, saved) ·
    sv:<id> (take a saved audience) · save (ask its name: the next typed text, `take_name`)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from bot.i18n import t
from bot.outbound import Button
from bot.settings import Settings
from models.audiences import (
    MAX_NAME,
    Audience,
    AudienceNameError,
    Reach,
    audience_reach,
    get_saved,
    list_saved,
    save_audience,
)
from models.base import utcnow
from models.communities import list_communities
from models.member_fields import load_interests
from models.members import Gender, Member, Role, Sector

CHECK = "✓ "
DIMENSIONS = ("c", "s", "y", "g", "i", "r", "l")
VIEWS = ("main", "c", "s", "g", "i", "r", "saved", "name")
SECTORS = (Sector.PUBLIC, Sector.PRIVATE, Sector.CIVIL)
GENDERS = (Gender.FEMALE, Gender.MALE)
ROLES = (Role.MEMBER, Role.BOARD, Role.SECRETARIAT)
Rows = list[list[Button]]


@dataclass(frozen=True)
class Picker:
    """How one capability shows the picker: `prefix` starts every button's callback data;
    `hide` lists dimensions that make no sense there; `can_save` offers "Save as…" (the
    capability then passes typed text to `take_name` while `is_naming`)."""

    prefix: str
    hide: frozenset[str] = frozenset()
    can_save: bool = True

    def data(self, token: str) -> str:
        return f"{self.prefix}:{token}"

    def shows(self, dimension: str) -> bool:
        return dimension not in self.hide


def _flip(items: list[Any], item: Any) -> list[Any]:
    return [x for x in items if x != item] if item in items else [*items, item]


def apply_token(audience: dict[str, Any] | None, token: str) -> dict[str, Any]:
    """One press that changes the filter; returns the new filter JSON."""
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


def is_naming(data: dict[str, Any]) -> bool:
    """True while the picker waits for the name of the audience to save (typed text)."""
    return data.get("aud_view") == "name"


async def press(
    session: AsyncSession, picker: Picker, data: dict[str, Any], token: str, language: str
) -> tuple[dict[str, Any], str | None]:
    """One picker button: (Dialog data updates, a short notice or None)."""
    kind, _, value = token.partition(":")
    if kind == "v" and value in VIEWS and value != "name" and picker.shows(value):
        return {"aud_view": value}, None
    if token == "save" and picker.can_save:
        return {"aud_view": "name"}, None
    if kind == "sv" and value.isdigit():
        saved = await get_saved(session=session, saved_id=int(value))
        if saved is None:
            return {"aud_view": "saved"}, t("audiences.gone", language)
        return {"audience": saved.audience.to_json(), "aud_view": "main"}, t(
            "audiences.loaded", language, name=saved.name
        )
    return {"audience": apply_token(data.get("audience"), token)}, None


async def take_name(
    session: AsyncSession,
    data: dict[str, Any],
    typed: str,
    member: Member,
    language: str,
    actor_label: str = "",
) -> tuple[dict[str, Any], str]:
    """The typed name of the audience to save: (Dialog data updates, the answer line)."""
    try:
        saved = await save_audience(
            session=session,
            name=typed,
            audience=Audience.from_json(data.get("audience")),
            actor=member,
            actor_label=actor_label,
        )
    except AudienceNameError as error:
        return {}, t(error.key, language, **error.values)
    return {"aud_view": "main"}, t("audiences.saved_as", language, name=saved.name)


async def reach_for(
    session: AsyncSession, settings: Settings, audience: dict[str, Any] | None, *, urgent: bool
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
        "audiences.reach",
        language,
        total=reach.total,
        telegram=reach.telegram,
        sms=reach.sms,
        unreachable=reach.unreachable,
        opted_out=reach.opted_out,
    )


def _label(code: str, language: str) -> str:
    """A sector, gender or role code in words (the three sets of codes do not overlap)."""
    names: dict[str, str] = {
        Sector.PUBLIC: t("audiences.sector_public", language),
        Sector.PRIVATE: t("audiences.sector_private", language),
        Sector.CIVIL: t("audiences.sector_civil", language),
        Gender.FEMALE: t("audiences.gender_female", language),
        Gender.MALE: t("audiences.gender_male", language),
        Role.MEMBER: t("audiences.role_member", language),
        Role.BOARD: t("audiences.role_board", language),
        Role.SECRETARIAT: t("audiences.role_secretariat", language),
    }
    return names.get(code, code)


async def describe(
    session: AsyncSession, settings: Settings, audience: dict[str, Any] | None, language: str
) -> str:
    """The audience in words: "Kabali, Pona · Private sector · Youth only"."""
    chosen = Audience.from_json(audience)
    parts: list[str] = []
    if chosen.communities:
        names = {c.id: c.name(language) for c in await list_communities(session=session)}
        parts.append(", ".join(names.get(c, str(c)) for c in chosen.communities))
    if chosen.sectors:
        parts.append(", ".join(_label(s, language) for s in chosen.sectors))
    if chosen.youth is not None:
        key = "audiences.youth_only" if chosen.youth else "audiences.youth_none"
        parts.append(t(key, language))
    if chosen.genders:
        parts.append(", ".join(_label(g, language) for g in chosen.genders))
    if chosen.interests:
        known = {i.code: i.name(language) for i in load_interests(settings.interests_file)}
        parts.append(", ".join(known.get(i, i) for i in chosen.interests))
    if chosen.roles:
        parts.append(", ".join(_label(r, language) for r in chosen.roles))
    if chosen.lag_members_only:
        parts.append(t("audiences.lag_members", language))
    return " · ".join(parts) if parts else t("audiences.everyone", language)


def _mark(label: str, on: bool) -> str:
    return CHECK + label if on else label


def _pairs(buttons: list[Button], size: int = 2) -> Rows:
    return [buttons[i : i + size] for i in range(0, len(buttons), size)]


async def screen(
    session: AsyncSession,
    settings: Settings,
    picker: Picker,
    data: dict[str, Any],
    language: str,
    *,
    title: str,
    finish: Callable[[Reach], Rows],
    urgent: bool = False,
) -> tuple[str, Rows]:
    """The picker's text (title, audience in words, live counts) and buttons for the view the
    Dialog is at; `finish` gives the capability's own last rows (Continue, Done (n), …)."""
    audience: dict[str, Any] = data.get("audience") or {}
    view = str(data.get("aud_view") or "main")
    chosen = Audience.from_json(audience)
    reach = await reach_for(session, settings, audience, urgent=urgent)
    lines = [
        title,
        t(
            "audiences.audience_is",
            language,
            audience=await describe(session, settings, audience, language),
        ),
        reach_line(reach, language),
    ]
    back = [Button(t("audiences.back", language), picker.data("v:main"))]
    if view == "name":
        lines += ["", t("audiences.ask_name", language, limit=MAX_NAME)]
        return "\n".join(lines), [back]
    if view == "saved":
        saved = await list_saved(session=session)
        lines += ["", t("audiences.saved_title" if saved else "audiences.none_saved", language)]
        buttons = [Button(s.name, picker.data(f"sv:{s.id}")) for s in saved]
        return "\n".join(lines), [*_pairs(buttons), back]
    text = "\n".join(lines)
    if view == "c":
        communities = await list_communities(session=session)
        buttons = [
            Button(_mark(c.name(language), c.id in chosen.communities), picker.data(f"c:{c.id}"))
            for c in communities
        ]
        return text, [*_pairs(buttons), back]
    fixed: dict[str, tuple[tuple[str, ...], list[str]]] = {
        "s": (SECTORS, chosen.sectors),
        "g": (GENDERS, chosen.genders),
        "r": (ROLES, chosen.roles),
    }
    if view in fixed:
        codes, on = fixed[view]
        return text, [
            [Button(_mark(_label(c, language), c in on), picker.data(f"{view}:{c}"))] for c in codes
        ] + [back]
    if view == "i":
        buttons = [
            Button(_mark(i.name(language), i.code in chosen.interests), picker.data(f"i:{i.code}"))
            for i in load_interests(settings.interests_file)
        ]
        return text, [*_pairs(buttons), back]
    return text, [*_main_rows(picker, chosen, language), *finish(reach)]


async def done_screen(
    session: AsyncSession,
    settings: Settings,
    picker: Picker,
    data: dict[str, Any],
    language: str,
    *,
    title: str,
    extra: Rows | None = None,
) -> tuple[str, Rows]:
    """The picker ending with "✅ Done (n recipients)" (`<prefix>:done`): events, grant calls."""

    def finish(reach: Reach) -> Rows:
        done = Button(t("audiences.done", language, count=reach.total), picker.data("done"))
        return [[done], *(extra or [])]

    return await screen(session, settings, picker, data, language, title=title, finish=finish)


def _main_rows(picker: Picker, chosen: Audience, language: str) -> Rows:
    youth = {
        None: t("audiences.youth_any", language),
        True: t("audiences.youth_only", language),
        False: t("audiences.youth_none", language),
    }[chosen.youth]
    everyone = chosen == Audience(include_simulated=chosen.include_simulated)
    candidates: list[list[tuple[str, Button]]] = [
        [("", Button(_mark(t("audiences.everyone", language), everyone), picker.data("all")))],
        [
            ("c", Button(_mark(t("audiences.communities", language), bool(chosen.communities)),
                         picker.data("v:c"))),
            ("s", Button(_mark(t("audiences.sectors", language), bool(chosen.sectors)),
                         picker.data("v:s"))),
        ],
        [
            ("y", Button(youth, picker.data("y"))),
            ("l", Button(_mark(t("audiences.lag_members", language), chosen.lag_members_only),
                         picker.data("l"))),
        ],
        [
            ("g", Button(_mark(t("audiences.genders", language), bool(chosen.genders)),
                         picker.data("v:g"))),
            ("i", Button(_mark(t("audiences.interests", language), bool(chosen.interests)),
                         picker.data("v:i"))),
            ("r", Button(_mark(t("audiences.roles", language), bool(chosen.roles)),
                         picker.data("v:r"))),
        ],
        [
            ("", Button(t("audiences.btn_saved", language), picker.data("v:saved"))),
            ("save", Button(t("audiences.btn_save_as", language), picker.data("save"))),
        ],
    ]  # fmt: skip
    rows: Rows = []
    for row in candidates:
        kept = [
            button
            for dimension, button in row
            if (dimension != "save" or picker.can_save) and picker.shows(dimension)
        ]
        if kept:
            rows.append(kept)
    return rows


def inline(rows: Rows) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


async def edit_screen(query: CallbackQuery, text: str, rows: Rows) -> None:
    """Redraw the picker in the message whose button was pressed (a double press is fine)."""
    if not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(text, reply_markup=inline(rows))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
