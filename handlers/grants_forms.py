"""The questions of /newgrant and /editgrant, their buttons, and reading a typed answer.

Shared by both flows (state in a Dialog row): each typed value is parsed and checked at once
(an amount range upside down, a percentage over 90, a date in the past are refused with the
reason and the question asked again); a date on a public holiday is accepted with a warning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import CallbackQuery, Update

from bot.i18n import LANGUAGE_NAMES, t
from bot.outbound import Button
from bot.roles import Access, member_with_access
from bot.runtime import Runtime
from handlers.grants_render import markup
from models.grants import APPLICANT_TYPES, DEADLINES, PHASES, REQUIRED_PHASES
from models.grants_input import (
    GrantInputError,
    check_description,
    check_title,
    load_priorities,
    parse_amount_range,
    parse_event_codes,
    parse_percent,
    parse_phase_time,
    parse_url,
)
from models.grants_labels import phase_label, type_label
from models.holidays import holiday_warning
from models.members import Member

CHECK = "✓"
TRANSLATIONS = ("az", "ru", "en")
OPTIONAL_PHASES = tuple(name for name in PHASES if name not in REQUIRED_PHASES)


def prompt(step: str, data: dict[str, Any], language: str) -> str:
    """The question for one step of the form."""
    if step in PHASES:
        key = "grants.ask_deadline" if step in DEADLINES else "grants.ask_phase"
        return t(key, language, phase=phase_label(step, language))
    lang_name = LANGUAGE_NAMES.get(str(data.get("tr_lang")), "")
    return {
        "title": t("grants.ask_title", language),
        "description": t("grants.ask_description", language),
        "translations": t("grants.ask_translations", language),
        "tr_title": t("grants.ask_tr_title", language, language=lang_name),
        "tr_description": t("grants.ask_tr_description", language, language=lang_name),
        "priorities": t("grants.ask_priorities", language),
        "types": t("grants.ask_types", language),
        "amount": t("grants.ask_amount", language),
        "cofinancing": t("grants.ask_cofinancing", language),
        "manual": t("grants.ask_manual", language),
        "sessions": t("grants.ask_sessions", language),
        "audience": t("grants.ask_audience", language),
    }.get(step, "")


def toggle_rows(
    prefix: str, kind: str, chosen: list[str], language: str, rt: Runtime
) -> list[list[Button]]:
    """Priority areas (`p`) or applicant types (`t`): one toggle each, ✓ on chosen, Done."""
    if kind == "p":
        options = [
            (code, names.get(language) or names.get("ka") or code)
            for code, names in load_priorities()
        ]
    else:
        options = [(code, type_label(code, language)) for code in APPLICANT_TYPES]
    rows = [
        [Button(f"{CHECK} {label}" if code in chosen else label, f"{prefix}:{kind}:{code}")]
        for code, label in options
    ]
    rows.append([Button(t("grants.btn_done", language), f"{prefix}:{kind}done")])
    return rows


def step_buttons(
    prefix: str, step: str, data: dict[str, Any], language: str, rt: Runtime
) -> list[list[Button]]:
    """The buttons under a question (toggles, Skip, translations); Stop is added by callers."""
    if step == "priorities":
        return toggle_rows(prefix, "p", list(data.get("priorities", [])), language, rt)
    if step == "types":
        return toggle_rows(prefix, "t", list(data.get("types", [])), language, rt)
    if step == "translations":
        done = set(data.get("title", {}))
        row = [
            Button(("✓ " if lang in done else "+ ") + LANGUAGE_NAMES[lang], f"{prefix}:tr:{lang}")
            for lang in TRANSLATIONS
        ]
        return [row, [Button(t("grants.btn_continue", language), f"{prefix}:trdone")]]
    if step in ("tr_description", "manual", "sessions", *OPTIONAL_PHASES):
        return [[Button(t("grants.btn_skip", language), f"{prefix}:skip")]]
    return []


def toggle(chosen: list[str], code: str, allowed: list[str]) -> list[str]:
    if code not in allowed:
        return chosen
    flipped = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
    return [c for c in allowed if c in flipped]  # keep the data file's order


def priority_codes() -> list[str]:
    return [code for code, _ in load_priorities()]


def parse_value(step: str, text: str, *, rt: Runtime, now: datetime) -> Any:
    """A typed answer for `step`, parsed and checked on its own (GrantInputError if not)."""
    if step in ("title", "tr_title"):
        return check_title(text)
    if step == "description":
        return check_description(text, required=True)
    if step == "tr_description":
        return check_description(text, required=False)
    if step == "amount":
        return parse_amount_range(text)
    if step == "cofinancing":
        return parse_percent(text)
    if step == "manual":
        return parse_url(text)
    if step == "sessions":
        return parse_event_codes(text)
    if step in PHASES:
        moment = parse_phase_time(text, deadline=step in DEADLINES, tz=rt.settings.tz, now=now)
        if moment <= now:
            raise GrantInputError("grants.err_phase_past", phase=step)
        return moment
    raise GrantInputError("grants.use_buttons")


def holiday_note(moment: datetime, language: str, rt: Runtime) -> str | None:
    """The scheduler's holiday warning for a phase date (None on a working day)."""
    return holiday_warning(moment.astimezone(rt.settings.tz), language, rt.settings)


# -- shared by the secretariat's grant handlers ------------------------------------------------


async def admin_member(rt: Runtime, update: Update) -> Member | None:
    """The secretariat member behind this update, or None after a refusal (audited)."""
    return await member_with_access(rt, update, Access.SECRETARIAT, target="grants")


async def chat_send(update: Update, text: str, rows: list[list[Button]]) -> None:
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(text, reply_markup=markup(rows))


async def answer_stale(query: CallbackQuery, language: str) -> None:
    await query.answer(t("grants.step_over", language))
