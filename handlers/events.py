"""Events on Telegram for members: /events, /event E12, and the Going / Maybe / Not going buttons.

The secretariat's side is in events_new (/newevent), events_edit (publish, edit, cancel) and
events_admin (attendees, check-in, quorum, attendance sheet); SMS in events_sms; reminders and
the digest section in events_reminders.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, _language_of, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers.events_manage import admin_view
from handlers.events_notify import answer_and_notify
from handlers.events_render import (
    answer_line,
    calendar_file,
    edited_text,
    kind_label,
    markup,
    member_view,
    short_when,
)
from models import seats
from models.base import utcnow
from models.event_attendance import rsvp_counts
from models.event_queries import member_history
from models.event_rsvps import RsvpOutcome, RsvpRefused, in_audience, rsvp_of
from models.events import (
    SEAT_KIND,
    Event,
    EventStatus,
    complete_past_events,
    event_id_from_code,
    get_event,
    list_events,
)
from models.members import Member, member_by_telegram

ORDER = 60
MAX_LIST_TEXT = 3500
ANSWERS = {"g": "going", "m": "maybe", "n": "no", "w": None}


async def outcome_of(session: AsyncSession, event: Event, member: Member) -> RsvpOutcome | None:
    """The member's current answer and seat, without changing anything."""
    assert event.id is not None and member.id is not None
    row = await rsvp_of(session=session, event_id=event.id, member_id=member.id)
    if row is None or row.answer is None:
        return None
    seat = await seats.seat_of(
        session=session, kind=SEAT_KIND, item_id=event.id, member_id=member.id
    )
    code = row.checkin_code if seat.status == seats.SeatStatus.SEATED else None
    return RsvpOutcome(row.answer, seat.status, seat.place, False, code)


async def can_see(session: AsyncSession, event: Event, member: Member, rt: Runtime) -> bool:
    """Members see published (or cancelled / completed) events announced to them or in their
    audience; the secretariat sees everything."""
    assert event.id is not None and member.id is not None
    if member.is_admin:
        return True
    if event.status == EventStatus.DRAFT:
        return False
    row = await rsvp_of(session=session, event_id=event.id, member_id=member.id)
    if row is not None:
        return True
    return in_audience(event, member, rt.settings, utcnow())


async def events_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/events: what is coming, with my answers (members) or with counts (secretariat)."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await telegram_member(rt, update)
    assert member is not None  # Access.MEMBER
    language, now = member.language, utcnow()
    statuses = (
        (EventStatus.DRAFT, EventStatus.PUBLISHED) if member.is_admin else (EventStatus.PUBLISHED,)
    )
    lines: list[str] = []
    buttons: list[list[Button]] = []
    async with rt.db.session() as session:
        await complete_past_events(session=session, now=now)
        for event in await list_events(session=session, now=now, statuses=statuses):
            if not await can_see(session, event, member, rt):
                continue
            head = (
                f"{event.code} · {short_when(event.starts_at, language, rt.settings)} · "
                f"{kind_label(event.kind, language)}: {event.title_in(language)}"
            )
            if member.is_admin:
                counts = await rsvp_counts(session=session, event=event)
                status = (
                    t("events.status_draft", language) if event.status == EventStatus.DRAFT else ""
                )
                lines.append(
                    f"{head}{status}\n   "
                    + t(
                        "events.counts_line",
                        language,
                        going=counts.going,
                        capacity=event.capacity if event.capacity is not None else "∞",
                        waitlist=counts.waitlist,
                        maybe=counts.maybe,
                        no=counts.no,
                        no_answer=counts.no_answer,
                    )
                )
            else:
                outcome = await outcome_of(session, event, member)
                lines.append(f"{head}\n   {answer_line(outcome, language)}")
            buttons.append(
                [Button(f"{event.code} · {event.title_in(language)[:40]}", f"ev:o:{event.id}")]
            )
        attended, _going = (
            await member_history(session=session, member_id=member.id or 0)
            if not member.is_admin
            else (0, 0)
        )
    if not lines:
        text = t("events.list_empty", language)
    else:
        while len("\n\n".join(lines)) > MAX_LIST_TEXT:  # Telegram's limit is 4096
            lines, buttons = lines[:-1], buttons[:-1]
        text = t("events.list_head", language) + "\n\n" + "\n\n".join(lines)
    if attended:
        text += "\n\n" + t("events.history_line", language, count=attended)
    await message.reply_text(text, reply_markup=markup(buttons))


async def send_event(
    rt: Runtime, update: Update, context: ContextTypes.DEFAULT_TYPE, event_id: int | None
) -> None:
    """The event's card for this person: with their answer and buttons, plus the .ics file."""
    message = update.effective_message
    assert message is not None
    member = await telegram_member(rt, update)
    language = member.language if member else _language_of(update, rt)
    now = utcnow()
    async with rt.db.session() as session:
        await complete_past_events(session=session, now=now)
        event = await get_event(session=session, event_id=event_id) if event_id else None
        if event is None or member is None or not await can_see(session, event, member, rt):
            await message.reply_text(t("events.unknown_event", language))
            return
        if member.is_admin:
            text, buttons = await admin_view(rt, session, event, language, now)
        else:
            assert event.id is not None
            counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=event.id)
            outcome = await outcome_of(session, event, member)
            text, buttons = member_view(
                event, language, rt.settings, outcome, counts=counts, now=now
            )
    await message.reply_text(text, reply_markup=markup(buttons))
    if event.status != EventStatus.DRAFT:
        ics = calendar_file(event, language, rt.settings, now)
        await message.reply_document(ics["content"].encode("utf-8"), filename=ics["filename"])


async def event_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/event E12: one event."""
    rt = runtime_of(context)
    args = context.args or []
    event_id = event_id_from_code(args[0]) if args else None
    if event_id is None:
        member = await telegram_member(rt, update)
        language = member.language if member else _language_of(update, rt)
        assert update.effective_message is not None
        await update.effective_message.reply_text(t("events.event_usage", language))
        return
    await send_event(rt, update, context, event_id)


async def on_open(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button from /events: open that event."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    await send_event(rt, update, context, int(query.data.split(":")[2]))


async def on_rsvp(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Going / Maybe / Not going / withdraw: record it and show it on the same message."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    _, _, raw_id, raw_answer = query.data.split(":")
    answer = ANSWERS.get(raw_answer, "?")
    now = utcnow()
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        language = member.language if member else _language_of(update, rt)
        event = await get_event(session=session, event_id=int(raw_id))
        if member is None or event is None or answer == "?":
            key = "events.refused_not_member" if member is None else "events.refused_unknown"
            await query.answer(t(key, language, code=f"E{raw_id}"), show_alert=True)
            return
        outcome: RsvpOutcome | None
        refused: str | None = None
        try:
            outcome = await answer_and_notify(
                rt, session, event, member, answer, channel="telegram", now=now
            )
        except RsvpRefused as exc:
            refused, outcome = exc.key, await outcome_of(session, event, member)
        assert event.id is not None
        counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=event.id)
        text, buttons = member_view(event, language, rt.settings, outcome, counts=counts, now=now)
    original = query.message.text if isinstance(query.message, Message) else None
    text = edited_text(text, original, language)
    if outcome is not None and outcome.promoted:
        rt.delivery.wake()
    if refused is not None:
        await query.answer(t(refused, language, code=f"E{raw_id}"), show_alert=True)
    elif not outcome or not outcome.changed:
        await query.answer(t("events.unchanged", language))
        return
    else:
        await query.answer(t("events.saved", language))
    # "message is not modified" and the like: the answer is saved either way.
    with contextlib.suppress(TelegramError):
        await query.edit_message_text(text, reply_markup=markup(buttons))


def setup(rt: Runtime) -> None:
    add_command(
        rt, "events", events_command, description_key="events.cmd_events", access=Access.MEMBER
    )
    add_command(
        rt,
        "event",
        event_command,
        description_key="events.cmd_event",
        access=Access.MEMBER,
        menu=False,
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_rsvp, pattern=r"^ev:r:\d+:[gmnw]$"))
    rt.add_telegram_handler(CallbackQueryHandler(on_open, pattern=r"^ev:o:\d+$"))
