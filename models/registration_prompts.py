"""Registration questions: which step comes next and what it asks (key + choices).

Channel-free: the Telegram adapter turns a `Prompt` into a message with buttons, the SMS
adapter into a numbered list. See models.registration for the flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, t
from bot.settings import Settings
from models.communities import Community, list_communities
from models.dialogs import Dialog
from models.member_fields import (
    Choice,
    FieldError,
    community_choices,
    gender_choices,
    gender_label,
    interest_choices,
    interest_labels,
    sector_choices,
    sector_label,
)
from models.members import SmsScript

FLOW = "registration"
TELEGRAM, SMS = "telegram", "sms"
TELEGRAM_STEPS: tuple[str, ...] = (
    "consent_data", "consent_ann", "name", "phone", "community", "village", "sector",
    "birth_year", "gender_consent", "gender", "interests", "summary",
)  # fmt: skip
SMS_STEPS: tuple[str, ...] = (
    "language", "script", "consent_data", "consent_ann", "name", "community", "sector",
    "birth_year",
)  # fmt: skip
EDITABLE: tuple[str, ...] = (
    "name", "phone", "community", "village", "sector", "birth_year", "gender", "interests",
    "consent_ann",
)  # fmt: skip
YES_NO_STEPS = frozenset({"consent_data", "consent_ann", "gender_consent", "link"})
TEXT_STEPS = frozenset({"name", "phone", "village", "birth_year"})


@dataclass
class Contact:
    """A phone number shared with Telegram's contact button; `own` when it is the sender's."""

    phone: str
    own: bool


@dataclass
class Prompt:
    step: str
    key: str
    values: dict[str, object] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)
    error: FieldError | None = None
    numbered: bool = True  # SMS shows the choices as a numbered list
    multi: bool = False  # toggles (interests)


def language_of(dialog: Dialog, settings: Settings) -> str:
    language = dialog.data.get("language")
    return language if language in LANGUAGES else settings.default_language


def steps_for(channel: str, data: dict[str, object]) -> list[str]:
    if channel == SMS:
        return [s for s in SMS_STEPS if s != "script" or data.get("language") == "ka"]
    return [s for s in TELEGRAM_STEPS if s != "gender" or data.get("gender_consent") is True]


def next_step(channel: str, data: dict[str, object]) -> str:
    done = set(as_list(data.get("done")))
    for step in steps_for(channel, data):
        if step not in done:
            return step
    return "summary" if channel == TELEGRAM else "birth_year"


def is_valid_step(channel: str, step: str) -> bool:
    return step in (TELEGRAM_STEPS if channel == TELEGRAM else SMS_STEPS) or step == "link"


async def prompt_for(
    *,
    session: AsyncSession,
    settings: Settings,
    channel: str,
    dialog: Dialog,
    error: FieldError | None = None,
) -> Prompt:
    step, data, language = dialog.step, dialog.data, language_of(dialog, settings)
    sms = channel == SMS

    def yes_no(yes_key: str, no_key: str) -> list[Choice]:
        return [Choice("yes", t(yes_key, language)), Choice("no", t(no_key, language))]

    prompt: Prompt
    if step == "language":
        choices = [Choice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]
        prompt = Prompt(step, "registration.sms_language", choices=choices)
    elif step == "script":
        choices = [
            Choice(SmsScript.NATIVE, t("registration.script_native", language)),
            Choice(SmsScript.LATIN, t("registration.script_latin", language)),
        ]
        prompt = Prompt(step, "registration.sms_script", choices=choices)
    elif step == "consent_data":
        key = "registration.sms_consent_data" if sms else "registration.consent_data"
        choices = yes_no("registration.btn_consent_yes", "registration.btn_consent_no")
        prompt = Prompt(step, key, {"version": settings.consent_text_version}, choices)
    elif step == "consent_ann":
        key = "registration.sms_consent_ann" if sms else "registration.consent_ann"
        prompt = Prompt(step, key, choices=yes_no("registration.btn_yes", "registration.btn_no"))
    elif step == "name":
        prompt = Prompt(step, "registration.sms_ask_name" if sms else "registration.ask_name")
    elif step == "phone":
        prompt = Prompt(step, "registration.ask_phone")
    elif step == "community":
        communities = await list_communities(session=session)
        key = "registration.sms_ask_community" if sms else "registration.ask_community"
        prompt = Prompt(step, key, choices=community_choices(communities, language))
    elif step == "village":
        prompt = Prompt(
            step, "registration.ask_village", choices=await village_choices(session, data, language)
        )
    elif step == "sector":
        key = "registration.sms_ask_sector" if sms else "registration.ask_sector"
        prompt = Prompt(step, key, choices=sector_choices(language))
    elif step == "birth_year":
        key = "registration.sms_ask_birth_year" if sms else "registration.ask_birth_year"
        prompt = Prompt(step, key, {"consent_age": settings.consent_age})
    elif step == "gender_consent":
        choices = yes_no("registration.btn_gender_yes", "registration.btn_gender_no")
        prompt = Prompt(step, "registration.ask_gender_consent", choices=choices)
    elif step == "gender":
        prompt = Prompt(step, "registration.ask_gender", choices=gender_choices(language))
    elif step == "interests":
        selected = as_list(data.get("interests"))
        choices = interest_choices(settings.interests_file, language, selected)
        choices.append(Choice("done", t("registration.btn_done", language)))
        prompt = Prompt(step, "registration.ask_interests", choices=choices, multi=True)
    elif step == "link":
        choices = yes_no("registration.btn_link_yes", "registration.btn_link_no")
        prompt = Prompt(
            step, "registration.ask_link", {"name": data.get("link_name") or ""}, choices
        )
    else:  # summary
        summary = await summary_text(
            session=session, settings=settings, data=data, language=language
        )
        choices = [Choice(f"edit:{f}", "✏️ " + field_label(f, language)) for f in EDITABLE]
        choices.append(Choice("confirm", t("registration.btn_confirm", language)))
        prompt = Prompt("summary", "registration.summary", {"summary": summary}, choices)
    if step in YES_NO_STEPS:
        prompt.numbered = False
    prompt.error = error
    return prompt


async def village_choices(
    session: AsyncSession, data: dict[str, object], language: str
) -> list[Choice]:
    community = await community_of(session, data)
    villages = community.village_list if community is not None else []
    choices = [Choice(f"v{i}", village_name(v, language)) for i, v in enumerate(villages)]
    choices.append(Choice("skip", t("registration.btn_skip", language)))
    return choices


def village_name(village: str, language: str) -> str:
    from bot.sms.translit import romanize

    return village if language == "ka" else romanize(village).title()


async def community_of(session: AsyncSession, data: dict[str, object]) -> Community | None:
    community_id = data.get("community_id")
    return await session.get(Community, community_id) if isinstance(community_id, int) else None


def field_label(name: str, language: str) -> str:
    labels = {
        "name": "registration.field_name",
        "phone": "registration.field_phone",
        "community": "registration.field_community",
        "village": "registration.field_village",
        "sector": "registration.field_sector",
        "birth_year": "registration.field_birth_year",
        "gender": "registration.field_gender",
        "interests": "registration.field_interests",
        "consent_ann": "registration.field_announcements",
        "sms_script": "registration.field_sms_script",
        "language": "registration.field_language",
    }
    return t(labels[name], language)


async def summary_text(
    *, session: AsyncSession, settings: Settings, data: dict[str, object], language: str
) -> str:
    community = await community_of(session, data)
    village = data.get("village")
    interests = interest_labels(settings.interests_file, as_list(data.get("interests")), language)
    values = {
        "name": str(data.get("name") or "—"),
        "phone": str(data.get("phone") or "—"),
        "community": community.name(language) if community else "—",
        "village": village_name(str(village), language) if village else "—",
        "sector": sector_label(as_str(data.get("sector")), language),
        "birth_year": str(data.get("birth_year") or "—"),
        "gender": gender_label(as_str(data.get("gender")), language),
        "interests": ", ".join(interests) or "—",
        "consent_ann": t(
            "registration.btn_yes" if data.get("consent_ann") else "registration.btn_no", language
        ),
    }
    return "\n".join(f"{field_label(k, language)}: {v}" for k, v in values.items())


# -- answering --------------------------------------------------------------------------------


def as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
