"""How an event looks: its card, the member's answer, the buttons, and every message about it.

Everything here is in one member's language; the same texts serve Telegram (card + buttons +
.ics + map pin) and SMS (a short text with the code and how to answer).
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import LANGUAGES, t
from bot.outbound import Button, Outgoing, with_stop_line
from bot.settings import Settings
from models.event_calendar import event_ics, ics_filename
from models.event_rsvps import Answer, RsvpOutcome
from models.events import Event, EventStatus
from models.seats import SeatCounts, SeatStatus

CHECK = "✓"


def kind_label(kind: str, language: str) -> str:
    return {
        "assembly": t("events.kind_assembly", language),
        "board": t("events.kind_board", language),
        "training": t("events.kind_training", language),
        "workshop": t("events.kind_workshop", language),
        "seminar": t("events.kind_seminar", language),
        "conference": t("events.kind_conference", language),
        "info_session": t("events.kind_info_session", language),
    }.get(kind, t("events.kind_other", language))


def event_when(event: Event, language: str, settings: Settings) -> str:
    """`შაბათი, 5 დეკემბერი 2026, 10:00–12:00` in the LAG's time zone."""
    start, end = event.starts_at.astimezone(settings.tz), event.ends_at.astimezone(settings.tz)
    first = format_datetime(start, "EEEE, d MMMM y, HH:mm", locale=language)
    if start.date() == end.date():
        return f"{first}–{format_datetime(end, 'HH:mm', locale=language)}"
    return f"{first} – {format_datetime(end, 'd MMMM, HH:mm', locale=language)}"


def short_when(moment: datetime, language: str, settings: Settings) -> str:
    """`5 დეკ, 10:00`: for SMS and lists."""
    return format_datetime(moment.astimezone(settings.tz), "d MMM, HH:mm", locale=language)


def seats_line(event: Event, counts: SeatCounts | None, language: str) -> str | None:
    if event.capacity is None:
        return None
    free = counts.free(event.capacity) if counts else event.capacity
    if free:
        return t("events.card_seats", language, free=free, capacity=event.capacity)
    return t("events.card_full", language, capacity=event.capacity)


def card(
    event: Event,
    language: str,
    settings: Settings,
    *,
    counts: SeatCounts | None = None,
    show_code: bool = True,
) -> str:
    """The event as members see it (no answer line)."""
    lines: list[str] = []
    if event.status == EventStatus.CANCELLED:
        lines.append(t("events.card_cancelled", language))
    elif event.changed_at is not None:
        lines.append(t("events.card_changed", language))
    lines.append(f"📅 {kind_label(event.kind, language)}: {event.title_in(language)}")
    lines.append(f"🕙 {event_when(event, language, settings)}")
    if event.place:
        lines.append(f"📍 {event.place}")
    description = event.description_in(language)
    if description:
        lines += ["", description, ""]
    seats = seats_line(event, counts, language)
    if seats:
        lines.append(f"👥 {seats}")
    if event.rsvp_deadline is not None:
        deadline = short_when(event.rsvp_deadline, language, settings)
        lines.append(f"⏳ {t('events.card_deadline', language, when=deadline)}")
    if show_code:
        lines.append(t("events.card_code", language, code=event.code))
    return "\n".join(line for line in lines).strip()


def answer_line(outcome: RsvpOutcome | None, language: str) -> str:
    """The member's own answer, as shown under the card."""
    if outcome is None or outcome.answer is None:
        return t("events.your_answer_none", language)
    if outcome.answer == Answer.GOING and outcome.seat == SeatStatus.WAITING:
        return t("events.your_answer_waitlist", language, position=outcome.place or 0)
    if outcome.answer == Answer.GOING:
        if outcome.checkin_code:
            return t("events.your_answer_going_code", language, code=outcome.checkin_code)
        return t("events.your_answer_going", language)
    if outcome.answer == Answer.MAYBE:
        return t("events.your_answer_maybe", language)
    return t("events.your_answer_no", language)


def rsvp_buttons(event: Event, language: str, chosen: str | None) -> list[list[Button]]:
    """Going / Maybe / Not going (✓ on the current answer), and withdraw once answered."""

    def label(answer: str, key_label: str) -> str:
        return f"{CHECK} {key_label}" if chosen == answer else key_label

    rows = [
        [
            Button(label("going", t("events.btn_going", language)), f"ev:r:{event.id}:g"),
            Button(label("maybe", t("events.btn_maybe", language)), f"ev:r:{event.id}:m"),
            Button(label("no", t("events.btn_no", language)), f"ev:r:{event.id}:n"),
        ]
    ]
    if chosen is not None:
        rows.append([Button(t("events.btn_withdraw", language), f"ev:r:{event.id}:w")])
    return rows


def markup(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


def member_view(
    event: Event,
    language: str,
    settings: Settings,
    outcome: RsvpOutcome | None,
    *,
    counts: SeatCounts | None,
    now: datetime,
) -> tuple[str, list[list[Button]]]:
    """The card with the member's answer and, while RSVP is open, the answer buttons."""
    text = card(event, language, settings, counts=counts) + "\n\n" + answer_line(outcome, language)
    if not event.rsvp_open(now):
        if event.status == EventStatus.PUBLISHED:
            text += "\n" + t("events.rsvp_closed_note", language)
        return text, []
    return text, rsvp_buttons(event, language, outcome.answer if outcome else None)


def edited_text(text: str, original: str | None, language: str) -> str:
    """The text to edit into a message the member answered on. A bulk message (the
    announcement, a reminder) was sent with the "how to stop" line (bot.outbound) and keeps
    it, in the member's language now; a reply (/event's card) or a notice stays without."""
    stop_lines = {t("delivery.stop_telegram", code) for code in LANGUAGES}
    last = (original or "").rstrip().rsplit("\n", 1)[-1].strip()
    return with_stop_line(text, language, "telegram") if last in stop_lines else text


def calendar_file(event: Event, language: str, settings: Settings, now: datetime) -> dict[str, str]:
    return {
        "filename": ics_filename(event),
        "content": event_ics(event, language=language, settings=settings, now=now),
        "mime": "text/calendar",
    }


def _map_pin(event: Event, language: str) -> dict[str, object]:
    """A venue (pin, name and address) when the event has coordinates (bot.senders)."""
    if not event.has_location:
        return {}
    return {
        "location": {
            "lat": event.latitude,
            "lon": event.longitude,
            "title": event.title_in(language),
            "address": event.place,
        }
    }


def sms_how_to_answer(event: Event, language: str) -> str:
    return t("events.sms_how_to_answer", language, code=event.code)


def announcement(
    event: Event, language: str, settings: Settings, now: datetime, *, counts: SeatCounts | None
) -> Outgoing:
    """Publishing: the card, the answer buttons, the .ics and the map pin; SMS: short + codes."""
    text = (
        t("events.announce_head", language)
        + "\n\n"
        + card(event, language, settings, counts=counts)
    )
    sms = t(
        "events.sms_announce",
        language,
        kind=kind_label(event.kind, language),
        title=event.title_in(language),
        when=short_when(event.starts_at, language, settings),
        place=event.place,
    )
    return Outgoing(
        text=text,
        buttons=rsvp_buttons(event, language, None),
        sms_text=f"{sms}\n{sms_how_to_answer(event, language)}",
        document=calendar_file(event, language, settings, now),
        extra=_map_pin(event, language),
    )


def promoted_notice(
    event: Event, language: str, settings: Settings, now: datetime, code: str | None
) -> Outgoing:
    """A seat freed up and is now this member's."""
    values = {
        "title": event.title_in(language),
        "when": short_when(event.starts_at, language, settings),
        "code": code or "—",
        "event": event.code,
    }
    return Outgoing(
        text=t("events.promoted", language, **values),
        sms_text=t("events.sms_promoted", language, **values),
        buttons=rsvp_buttons(event, language, Answer.GOING),
        document=calendar_file(event, language, settings, now),
    )


def change_notice(
    event: Event, language: str, settings: Settings, now: datetime, answer: str
) -> Outgoing:
    """Time or place changed: the new details, and a fresh .ics that replaces the old entry."""
    values = {
        "title": event.title_in(language),
        "when": event_when(event, language, settings),
        "place": event.place,
        "event": event.code,
    }
    return Outgoing(
        text=t("events.changed", language, **values) + "\n\n" + card(event, language, settings),
        sms_text=t(
            "events.sms_changed",
            language,
            title=values["title"],
            when=short_when(event.starts_at, language, settings),
            place=event.place,
            event=event.code,
        ),
        buttons=rsvp_buttons(event, language, answer),
        document=calendar_file(event, language, settings, now),
        extra=_map_pin(event, language),
    )


def cancel_notice(event: Event, language: str, settings: Settings, now: datetime) -> Outgoing:
    values = {
        "title": event.title_in(language),
        "when": short_when(event.starts_at, language, settings),
        "event": event.code,
    }
    return Outgoing(
        text=t("events.cancelled_notice", language, **values),
        sms_text=t("events.sms_cancelled_notice", language, **values),
        document=calendar_file(event, language, settings, now),
    )
