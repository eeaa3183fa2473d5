"""The secretariat's event card and its actions: publish, cancel (/cancelevent), and the
buttons under the card. Cancelling notifies everyone Going, Maybe or waitlisted and closes
answers; every change is audited (models.events)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, add_command
from bot.runtime import Runtime, runtime_of
from handlers import audience_picker as picker
from handlers.events_common import admin_member, chat_send
from handlers.events_edit import start_edit
from handlers.events_notify import (
    cancel_and_notify,
    publish_and_announce,
)
from handlers.events_render import card
from models import seats
from models.base import utcnow
from models.event_attendance import rsvp_counts
from models.events import (
    SEAT_KIND,
    Event,
    EventInputError,
    EventKind,
    EventStateError,
    EventStatus,
    event_id_from_code,
    get_event,
    reminders_of,
)
from models.members import Member

ORDER = 60


def status_label(event: Event, language: str) -> str:
    return {
        EventStatus.DRAFT: t("events.status_is_draft", language),
        EventStatus.PUBLISHED: t("events.status_is_published", language),
        EventStatus.CANCELLED: t("events.status_is_cancelled", language),
        EventStatus.COMPLETED: t("events.status_is_completed", language),
    }[EventStatus(event.status)]


async def admin_view(
    rt: Runtime, session: AsyncSession, event: Event, language: str, now: datetime
) -> tuple[str, list[list[Button]]]:
    """The card with status, counts, audience and reminders, and the secretariat's buttons."""
    assert event.id is not None
    counts = await rsvp_counts(session=session, event=event)
    seat_counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=event.id)
    custom = event.reminders is not None
    reminders = ", ".join(reminders_of(event, rt.settings)) or "—"
    lines = [
        card(event, language, rt.settings, counts=seat_counts),
        "",
        status_label(event, language),
        t(
            "events.counts_line",
            language,
            going=counts.going,
            capacity=event.capacity if event.capacity is not None else "∞",
            waitlist=counts.waitlist,
            maybe=counts.maybe,
            no=counts.no,
            no_answer=counts.no_answer,
        ),
        t(
            "events.admin_audience",
            language,
            audience=await picker.describe(session, rt.settings, event.audience, language),
        ),
        t(
            "events.admin_reminders_custom" if custom else "events.admin_reminders_default",
            language,
            reminders=reminders,
        ),
    ]
    if counts.checked_in:
        lines.append(t("events.admin_checked_in", language, count=counts.checked_in))
    eid = event.id
    rows: list[list[Button]] = []
    if event.status == EventStatus.DRAFT:
        rows.append([Button(t("events.btn_publish", language), f"ev:a:pub:{eid}")])
    if event.status != EventStatus.DRAFT:
        rows.append(
            [
                Button(t("events.btn_attendees", language), f"ev:a:att:{eid}"),
                Button(t("events.btn_sheet", language), f"ev:a:sheet:{eid}"),
            ]
        )
    if event.kind == EventKind.ASSEMBLY and event.status != EventStatus.DRAFT:
        rows.append([Button(t("events.btn_quorum", language), f"ev:a:q:{eid}")])
    if event.status in (EventStatus.DRAFT, EventStatus.PUBLISHED):
        rows.append(
            [
                Button(t("events.btn_edit", language), f"ev:a:edit:{eid}"),
                Button(t("events.btn_cancel_event", language), f"ev:a:cx:{eid}"),
            ]
        )
    return "\n".join(lines), rows


# -- publish and cancel -----------------------------------------------------------------------
async def _publish(rt: Runtime, update: Update, member: Member, event_id: int) -> None:
    language, now = member.language, utcnow()
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=event_id, lock=True)
        if event is None:
            await chat_send(update, t("events.unknown_event", language), [])
            return
        try:
            invited, reached = await publish_and_announce(rt, session, event, member, now)
        except (EventInputError, EventStateError) as exc:
            await chat_send(update, t(exc.key, language), [])
            return
    rt.delivery.wake()
    text = t("events.published", language, code=event.code, invited=invited, reached=reached)
    await chat_send(update, text, [])


async def _ask_cancel(rt: Runtime, update: Update, member: Member, event_id: int) -> None:
    language = member.language
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=event_id)
        if event is None or event.status not in (EventStatus.DRAFT, EventStatus.PUBLISHED):
            key = "events.unknown_event" if event is None else "events.err_not_editable"
            await chat_send(update, t(key, language), [])
            return
        counts = await rsvp_counts(session=session, event=event)
    told = counts.going + counts.waitlist + counts.maybe
    rows = [
        [
            Button(t("events.btn_cancel_yes", language), f"ev:a:cxy:{event_id}"),
            Button(t("events.btn_cancel_no", language), f"ev:a:cxn:{event_id}"),
        ]
    ]
    title = event.title_in(language)
    await chat_send(update, t("events.cancel_confirm", language, title=title, count=told), rows)


async def _cancel(rt: Runtime, update: Update, member: Member, event_id: int) -> None:
    language, now = member.language, utcnow()
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=event_id, lock=True)
        if event is None:
            await chat_send(update, t("events.unknown_event", language), [])
            return
        try:
            told = await cancel_and_notify(rt, session, event, member, now)
        except EventStateError as exc:
            await chat_send(update, t(exc.key, language), [])
            return
    rt.delivery.wake()
    await chat_send(update, t("events.cancelled_done", language, code=event.code, count=told), [])


async def cancelevent_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    args = context.args or []
    event_id = event_id_from_code(args[0]) if args else None
    if member is None:
        return
    if event_id is None:
        await chat_send(update, t("events.cancelevent_usage", member.language), [])
        return
    await _ask_cancel(rt, update, member, event_id)


async def on_admin_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ev:a:pub|edit|cx|cxy|cxn:<event id> from the secretariat's event card."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await admin_member(rt, update)
    if member is None:
        return
    await query.answer()
    _, _, action, raw_id = query.data.split(":")
    event_id = int(raw_id)
    if action == "pub":
        await _publish(rt, update, member, event_id)
    elif action == "edit":
        await start_edit(rt, update, member, event_id)
    elif action == "cx":
        await _ask_cancel(rt, update, member, event_id)
    elif action == "cxy":
        await _cancel(rt, update, member, event_id)
    else:
        await chat_send(update, t("events.cancel_kept", member.language), [])


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "cancelevent",
        cancelevent_command,
        description_key="events.cmd_cancelevent",
        access=Access.SECRETARIAT,
    )
    rt.add_telegram_handler(
        CallbackQueryHandler(on_admin_button, pattern=r"^ev:a:(pub|edit|cx|cxy|cxn):\d+$")
    )
