"""The screens of /newpoll: each step's text and buttons, and the preview before sending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGE_NAMES, t
from bot.outbound import Button, quiet_until, with_stop_line
from bot.runtime import Runtime
from bot.settings import Settings
from bot.sms.encoding import sms_info
from bot.sms.translit import LATIN_SMS_LANGUAGES, to_latin_sms
from handlers import audience_picker as picker
from handlers.polls_render import ballot_text, option_label, sms_ballot, when
from models.base import utcnow
from models.dialogs import Dialog
from models.polls import (
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_QUESTION,
    TRANSLATIONS,
    Poll,
    reminder_time,
)

FLOW = "newpoll"
PICKER = picker.Picker("np:a")
QUICK_CLOSING = (
    ("polls.np_in_hour", 60),
    ("polls.np_in_day", 1440),
    ("polls.np_in_3days", 4320),
    ("polls.np_in_week", 10080),
)
Screen = tuple[str, list[list[Button]]]


def _cancel(language: str) -> list[Button]:
    return [Button(t("polls.np_cancel", language), "np:x")]


def _draft_poll(data: dict[str, Any], now: datetime) -> Poll:
    """An unsaved Poll from the draft (with its versions), to render the preview exactly as
    members will see it."""
    closes = datetime.fromisoformat(data["closes_at"])
    versions = data.get("versions", {})
    return Poll(
        id=None,
        question=data["question"],
        options=list(data["options"]),
        multiple=bool(data["multiple"]),
        anonymous=bool(data["anonymous"]),
        closes_at=closes,
        reminder_at=reminder_time(now, closes),
        results_live=bool(data["results_live"]),
        results_to_voters=bool(data["results_to_voters"]),
        question_versions={code: question for code, (question, _) in versions.items()} or None,
        option_versions={code: list(texts) for code, (_, texts) in versions.items()} or None,
    )


async def screen(rt: Runtime, session: AsyncSession, dialog: Dialog, language: str) -> Screen:
    """The text and buttons of the step the dialog is at."""
    data, step, now = dialog.data, dialog.step, utcnow()
    yes_no = {True: t("polls.yes", language), False: t("polls.no", language)}
    if step == "question":
        return t("polls.np_question", language, max=MAX_QUESTION), [_cancel(language)]
    if step == "options":
        options: list[str] = data.get("options", [])
        text = t("polls.np_options", language, max=MAX_OPTIONS, length=MAX_OPTION)
        rows: list[list[Button]] = []
        if options:
            listed = "\n".join(option_label(n, o) for n, o in enumerate(options, start=1))
            text += "\n\n" + t("polls.np_options_so_far", language, options=listed)
            row = [Button(t("polls.np_options_undo", language), "np:ou")]
            if len(options) >= 2:
                row.insert(0, Button(t("polls.np_options_done", language), "np:od"))
            rows.append(row)
            if len(options) >= 2:  # optional az / ru / en versions
                rows.append([Button(t("polls.np_edit_versions", language), "np:vs")])
        return text, [*rows, _cancel(language)]
    if step == "versions":
        return versions_screen(data, language)
    if step in ("version_question", "version_options"):
        name = LANGUAGE_NAMES.get(data.get("version_of", ""), "")
        if step == "version_question":
            asked = t(
                "polls.np_version_question", language, language=name, question=data["question"]
            )
        else:
            listed = "\n".join(option_label(n, o) for n, o in enumerate(data["options"], start=1))
            asked = t("polls.np_version_options", language, language=name, options=listed)
        return asked, [_cancel(language)]
    if step == "kind":
        return t("polls.np_kind", language), [
            [
                Button(t("polls.np_single", language), "np:k:1"),
                Button(t("polls.np_multiple", language), "np:k:n"),
            ],
            _cancel(language),
        ]
    if step == "privacy":
        return t("polls.np_privacy", language), [
            [
                Button(t("polls.np_anonymous", language), "np:p:a"),
                Button(t("polls.np_named", language), "np:p:n"),
            ],
            _cancel(language),
        ]
    if step == "audience":
        return await picker.screen(
            session,
            rt.settings,
            PICKER,
            data,
            language,
            title=t("polls.np_audience", language),
            finish=lambda _: [
                [Button(t("polls.np_next", language), PICKER.data("next"))],
                _cancel(language),
            ],
        )
    if step == "closing":
        quick = [Button(t(key, language), f"np:c:{minutes}") for key, minutes in QUICK_CLOSING]
        return t("polls.np_closing", language), [quick[:2], quick[2:], _cancel(language)]
    if step == "live":
        return t("polls.np_live", language), [
            [
                Button(t("polls.np_live_yes", language), "np:l:y"),
                Button(t("polls.np_live_no", language), "np:l:n"),
            ],
            _cancel(language),
        ]
    if step == "share":
        return t("polls.np_share", language), [
            [Button(yes_no[True], "np:s:y"), Button(yes_no[False], "np:s:n")],
            _cancel(language),
        ]
    return await preview(rt, session, data, language, now)


def versions_screen(data: dict[str, Any], language: str) -> Screen:
    """Optional az / ru / en versions: members get theirs, else az → ru → ka, ru/en → ka."""
    versions: dict[str, list[Any]] = data.get("versions", {})
    text = t("polls.np_versions", language)
    for code in TRANSLATIONS:
        if code in versions:
            question, options = versions[code]
            text += f"\n\n{LANGUAGE_NAMES[code]}: {question}\n" + "\n".join(
                option_label(n, o) for n, o in enumerate(options, start=1)
            )
    add = [
        Button(("✎ " if code in versions else "+ ") + LANGUAGE_NAMES[code], f"np:v:{code}")
        for code in TRANSLATIONS
    ]
    remove = [Button(f"✕ {LANGUAGE_NAMES[code]}", f"np:vx:{code}") for code in versions]
    rows = [add, *([remove] if remove else [])]
    return text, [*rows, [Button(t("polls.np_next", language), "np:vd")], _cancel(language)]


def _sms_cost(poll: Poll, code: str, settings: Settings, language: str) -> str:
    """`Azərbaycanca: 2 SMS (1 in Latin letters)`: what one version's ballot costs as sent."""
    sms = with_stop_line(sms_ballot(poll, code, settings), code, "sms")
    name, parts = LANGUAGE_NAMES[code], sms_info(sms).parts
    if code not in LATIN_SMS_LANGUAGES:
        return t("polls.np_preview_version", language, language_name=name, parts=parts)
    latin = sms_info(to_latin_sms(sms)).parts
    return t(
        "polls.np_preview_version_latin",
        language,
        language_name=name,
        parts=parts,
        latin_parts=latin,
    )


async def preview(
    rt: Runtime, session: AsyncSession, data: dict[str, Any], language: str, now: datetime
) -> Screen:
    settings = rt.settings
    poll = _draft_poll(data, now)
    found = await picker.reach_for(session, settings, data.get("audience"), urgent=False)
    sms = with_stop_line(sms_ballot(poll, language, settings), language, "sms")  # as sent
    reminder = poll.reminder_at
    if rt.scheduler is not None:  # moved out of quiet hours and holidays, as it will be
        reminder = rt.scheduler.calendar.plan(reminder, not_after=poll.closes_at).send_at
    yes_no = {True: t("polls.yes", language), False: t("polls.no", language)}
    summary = t(
        "polls.np_summary",
        language,
        audience=await picker.describe(session, settings, data.get("audience"), language),
        count=picker.reach_line(found, language),
        closes=when(poll.closes_at, language, settings),
        reminder=when(reminder, language, settings),
        kind=t("polls.np_multiple" if poll.multiple else "polls.np_single", language),
        privacy=t("polls.np_anonymous" if poll.anonymous else "polls.np_named", language),
        live=yes_no[poll.results_live],
        share=yes_no[poll.results_to_voters],
    )
    text = t(
        "polls.np_preview",
        language,
        ballot=ballot_text(poll, language, settings),
        options="\n".join(option_label(n, o) for n, o in enumerate(poll.options, start=1)),
        sms=sms,
        parts=sms_info(sms).parts,
        latin_parts=sms_info(to_latin_sms(sms)).parts,
        summary=summary,
    )
    quiet = quiet_until(settings, now)
    text += "\n\n" + t(
        "polls.np_preview_versions",
        language,
        languages="\n".join(_sms_cost(poll, code, settings, language) for code in poll.versions()),
    )
    if quiet is not None and found.sms:
        text += "\n\n" + t("polls.np_quiet_warning", language, when=when(quiet, language, settings))
    edit = [
        Button(t("polls.np_edit_question", language), "np:e:question"),
        Button(t("polls.np_edit_options", language), "np:e:options"),
    ]
    edit2 = [
        Button(t("polls.np_edit_versions", language), "np:e:versions"),
        Button(t("polls.np_edit_audience", language), "np:e:audience"),
        Button(t("polls.np_edit_closing", language), "np:e:closing"),
    ]
    return text, [
        [Button(t("polls.np_send", language), "np:send")],
        edit,
        edit2,
        _cancel(language),
    ]
