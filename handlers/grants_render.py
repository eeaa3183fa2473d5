"""How a grant call looks, and every message about it, in one reader's language.

The same texts serve Telegram (card + buttons) and SMS (short, with the code and what to
type). Dates are shown in the LAG's time zone; amounts as `20 000`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import t
from bot.outbound import Button, Outgoing
from bot.settings import Settings
from models.events import Event, EventStatus
from models.grants import GrantCall, GrantStatus
from models.grants_applicants import GrantApplicant, Stage
from models.grants_input import GrantInputError, GrantStateError, priority_name
from models.grants_labels import phase_label, stage_label, type_label

# What each stage notice mentions next (the call's phases, when it has them).
NEXT_PHASES: dict[str, tuple[str, ...]] = {
    Stage.INTERESTED: ("idea_deadline",),
    Stage.IDEA_RECEIVED: ("shortlist_at",),
    Stage.SHORTLISTED: ("training_at", "full_deadline"),
    Stage.FULL_APPLICATION: ("interviews_at", "results_at"),
    Stage.INTERVIEW: ("interviews_at", "results_at"),
    Stage.FUNDED: ("contract_at",),
}


def markup(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


def amount(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def when(moment: datetime, language: str, tz: tzinfo) -> str:
    """`პარასკევი, 18 დეკემბერი 2026, 18:00`."""
    return format_datetime(moment.astimezone(tz), "EEEE, d MMMM y, HH:mm", locale=language)


def short(moment: datetime, language: str, tz: tzinfo) -> str:
    """`18 დეკ, 18:00`: for SMS and lists."""
    return format_datetime(moment.astimezone(tz), "d MMM, HH:mm", locale=language)


def days_left(moment: datetime, now: datetime, language: str, tz: tzinfo) -> str:
    days = (moment.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days <= 0:
        return t("grants.days_today", language)
    if days == 1:
        return t("grants.days_tomorrow", language)
    return t("grants.days_left", language, days=days)


def error_text(exc: GrantInputError | GrantStateError, language: str, tz: tzinfo) -> str:
    """A refusal in words: phase codes become their names, datetimes local dates."""
    values: dict[str, object] = {}
    for name, value in exc.values.items():
        if isinstance(value, datetime):
            values[name] = short(value, language, tz)
        elif name in ("phase", "previous") and isinstance(value, str):
            values[name] = phase_label(value, language)
        else:
            values[name] = value
    return t(exc.key, language, **values)


def terms_lines(call: GrantCall, language: str) -> list[str]:
    priorities = ", ".join(priority_name(code, language) for code in call.priorities)
    types = ", ".join(type_label(code, language) for code in call.applicant_types)
    lines = [
        f"🎯 {t('grants.card_priorities', language, priorities=priorities)}",
        f"👥 {t('grants.card_types', language, types=types)}",
        f"💰 {t('grants.card_amount', language, low=amount(call.min_amount), high=amount(call.max_amount))}",  # noqa: E501
    ]
    if call.cofinancing_pct:
        lines.append(f"🤝 {t('grants.card_cofinancing', language, pct=call.cofinancing_pct)}")
    else:
        lines.append(f"🤝 {t('grants.card_no_cofinancing', language)}")
    if call.manual_url:
        lines.append(f"📘 {t('grants.card_manual', language, url=call.manual_url)}")
    return lines


def session_line(event: Event, language: str, tz: tzinfo) -> str:
    text = f"{event.code} · {short(event.starts_at, language, tz)}"
    if event.place:
        text += f" · {event.place}"
    if event.status == EventStatus.CANCELLED:
        text += f" ({t('grants.session_cancelled', language)})"
    return text


def phase_lines(
    call: GrantCall, sessions: list[Event], language: str, tz: tzinfo, now: datetime
) -> list[str]:
    lines = [f"🗓 {t('grants.card_phases', language)}"]
    for event in sessions:
        lines.append(
            f"• {phase_label('info_sessions', language)}: {session_line(event, language, tz)}"
        )
    for name, moment in call.phases().items():
        if moment is None:
            continue
        mark = "✓ " if moment <= now else ""
        lines.append(f"• {mark}{phase_label(name, language)}: {when(moment, language, tz)}")
    return lines


def next_deadline_line(call: GrantCall, language: str, tz: tzinfo, now: datetime) -> str | None:
    found = call.next_deadline(now)
    if found is None or call.status != GrantStatus.PUBLISHED:
        return None
    name, moment = found
    return "⏳ " + t(
        "grants.card_next_deadline",
        language,
        phase=phase_label(name, language),
        when=short(moment, language, tz),
        left=days_left(moment, now, language, tz),
    )


def card(
    call: GrantCall, sessions: list[Event], language: str, settings: Settings, now: datetime
) -> str:
    """The call as members see it."""
    tz = settings.tz
    lines: list[str] = []
    if call.status == GrantStatus.CANCELLED:
        lines.append(t("grants.card_cancelled", language))
    elif call.status == GrantStatus.CLOSED:
        lines.append(t("grants.card_closed", language))
    lines.append(
        f"💶 {t('grants.card_head', language, code=call.code, title=call.title_in(language))}"
    )
    description = call.description_in(language)
    if description:
        lines += ["", description]
    lines += ["", *terms_lines(call, language), "", *phase_lines(call, sessions, language, tz, now)]
    deadline = next_deadline_line(call, language, tz, now)
    if deadline:
        lines += ["", deadline]
    return "\n".join(lines)


def interest_button(call: GrantCall, language: str) -> Button:
    return Button(t("grants.btn_interested", language), f"gr:i:{call.id}")


def announcement(
    call: GrantCall, sessions: list[Event], language: str, settings: Settings, now: datetime
) -> Outgoing:
    """The call as it is announced to its audience (Telegram card with the button; SMS short)."""
    text = "\n\n".join(
        [
            t("grants.announce_head", language),
            card(call, sessions, language, settings, now),
            t("grants.announce_how", language, code=call.code),
        ]
    )
    return Outgoing(
        text=text,
        buttons=[[interest_button(call, language)]],
        sms_text=sms_announcement(call, sessions, language, settings),
    )


def sms_announcement(
    call: GrantCall, sessions: list[Event], language: str, settings: Settings
) -> str:
    tz = settings.tz
    text = t(
        "grants.sms_announce",
        language,
        code=call.code,
        title=call.title_in(language),
        low=amount(call.min_amount),
        high=amount(call.max_amount),
        pct=call.cofinancing_pct,
        when=short(call.idea_deadline, language, tz),
    )
    live = [e for e in sessions if e.status != EventStatus.CANCELLED]
    if live:
        codes = ", ".join(f"{e.code} {short(e.starts_at, language, tz)}" for e in live[:3])
        text += "\n" + t("grants.sms_sessions", language, sessions=codes)
    return text


def idea_phrase(applicant: GrantApplicant, language: str) -> str:
    if applicant.idea_title:
        return t("grants.idea_named", language, idea=applicant.idea_title)
    return t("grants.idea_unnamed", language)


def stage_notice(
    call: GrantCall, applicant: GrantApplicant, language: str, settings: Settings, now: datetime
) -> Outgoing:
    """What an applicant is told when the secretariat records their new stage."""
    values = {
        "code": call.code,
        "title": call.title_in(language),
        "idea": idea_phrase(applicant, language),
    }
    keys = {
        Stage.INTERESTED: "grants.notice_interested",
        Stage.IDEA_RECEIVED: "grants.notice_idea_received",
        Stage.SHORTLISTED: "grants.notice_shortlisted",
        Stage.NOT_SHORTLISTED: "grants.notice_not_shortlisted",
        Stage.FULL_APPLICATION: "grants.notice_full_application",
        Stage.INTERVIEW: "grants.notice_interview",
        Stage.FUNDED: "grants.notice_funded",
        Stage.NOT_FUNDED: "grants.notice_not_funded",
        Stage.WITHDRAWN: "grants.notice_withdrawn",
    }
    lines = [t(keys[Stage(applicant.stage)], language, **values)]
    for name in NEXT_PHASES.get(applicant.stage, ()):
        moment = call.phase(name)
        if moment is not None and moment > now:
            lines.append(
                t(
                    "grants.notice_next",
                    language,
                    phase=phase_label(name, language),
                    when=short(moment, language, settings.tz),
                )
            )
    text = "\n".join(lines)
    return Outgoing(text=text, sms_text=text)


def change_notice(
    call: GrantCall, changed: list[str], language: str, settings: Settings
) -> Outgoing:
    """A published call changed what applicants rely on: the new values."""
    tz = settings.tz
    lines = [t("grants.change_head", language, code=call.code, title=call.title_in(language))]
    for name in changed:
        moment = call.phase(name) if name in call.phases() else None
        if moment is not None:
            lines.append(f"• {phase_label(name, language)}: {short(moment, language, tz)}")
    if {"min_amount", "max_amount"} & set(changed):
        lines.append("• " + t("grants.card_amount", language, low=amount(call.min_amount),
                                high=amount(call.max_amount)))  # fmt: skip
    if "cofinancing_pct" in changed:
        lines.append("• " + t("grants.card_cofinancing", language, pct=call.cofinancing_pct))
    if "applicant_types" in changed:
        types = ", ".join(type_label(code, language) for code in call.applicant_types)
        lines.append("• " + t("grants.card_types", language, types=types))
    if "manual_url" in changed and call.manual_url:
        lines.append("• " + t("grants.card_manual", language, url=call.manual_url))
    lines.append(t("grants.change_more", language, code=call.code))
    text = "\n".join(lines)
    return Outgoing(text=text, sms_text=text)


def cancel_notice(call: GrantCall, language: str) -> Outgoing:
    text = t("grants.cancel_notice", language, code=call.code, title=call.title_in(language))
    return Outgoing(text=text, sms_text=text)


def my_line(applicant: GrantApplicant, language: str) -> str:
    """The member's own status under a card."""
    return t(
        "grants.your_stage",
        language,
        stage=stage_label(applicant.stage, language),
        type=type_label(applicant.applicant_type, language),
        idea=applicant.idea_title or "—",
    )
