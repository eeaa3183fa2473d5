"""/editevent: change a draft or published event field by field. Changing time or place of a
published event notifies everyone Going, Maybe or waitlisted (with a fresh .ics); more seats
promote from the waitlist; a wider audience is announced to the newcomers. Every change is
audited (models.events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, add_command
from bot.runtime import Runtime, runtime_of
from handlers import audience_picker as picker
from handlers.events_common import admin_member, answer_stale, chat_send
from handlers.events_notify import apply_and_notify
from models.base import utcnow
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.event_input import (
    parse_capacity,
    parse_coordinates,
    parse_end,
    parse_local_datetime,
    parse_offsets,
)
from models.events import (
    Event,
    EventInputError,
    EventStateError,
    EventStatus,
    event_id_from_code,
    get_event,
)
from models.members import Member

ORDER = 60

FLOW = "editevent"
PICKER = picker.Picker("eve:aud")


async def audience_screen(
    rt: Runtime, session: AsyncSession, chosen: picker.Picker, data: dict[str, Any], language: str
) -> tuple[str, list[list[Button]]]:
    """The audience picker of /newevent and /editevent, ending with Done (n recipients)."""
    title = t("events.ask_audience", language)
    return await picker.done_screen(session, rt.settings, chosen, data, language, title=title)


REMOVAL: dict[str, dict[str, Any]] = {
    "location": {"latitude": None, "longitude": None},
    "capacity": {"capacity": None},
    "deadline": {"rsvp_deadline": None},
    "reminders": {"reminders": []},
}

FIELDS = ("title", "description", "time", "place", "location", "capacity", "deadline",
          "reminders", "audience")  # fmt: skip


# -- /editevent -------------------------------------------------------------------------------
def _field_rows(language: str) -> list[list[Button]]:
    labels = {
        "title": t("events.field_title", language),
        "description": t("events.field_description", language),
        "time": t("events.field_time", language),
        "place": t("events.field_place", language),
        "location": t("events.field_location", language),
        "capacity": t("events.field_capacity", language),
        "deadline": t("events.field_deadline", language),
        "reminders": t("events.field_reminders", language),
        "audience": t("events.field_audience", language),
    }
    buttons = [Button(labels[f], f"eve:f:{f}") for f in FIELDS]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return [*rows, [Button(t("events.btn_stop", language), "eve:stop")]]


async def start_edit(rt: Runtime, update: Update, member: Member, event_id: int) -> None:
    user = update.effective_user
    assert user is not None
    language = member.language
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=event_id)
        if event is None or event.status not in (EventStatus.DRAFT, EventStatus.PUBLISHED):
            key = "events.unknown_event" if event is None else "events.err_not_editable"
            await chat_send(update, t(key, language), [])
            return
        await start_dialog(
            session=session,
            channel="telegram",
            address=str(user.id),
            flow=FLOW,
            step="field",
            data={"event_id": event_id},
            member_id=member.id,
        )
    text = t("events.edit_which", language, code=event.code, title=event.title_in(language))
    await chat_send(update, text, _field_rows(language))


async def editevent_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    args = context.args or []
    event_id = event_id_from_code(args[0]) if args else None
    if member is None:
        return
    if event_id is None:
        await chat_send(update, t("events.editevent_usage", member.language), [])
        return
    await start_edit(rt, update, member, event_id)


def _edit_prompt(step: str, language: str) -> tuple[str, list[list[Button]]]:
    stop = [Button(t("events.btn_stop", language), "eve:stop")]
    remove = [Button(t("events.btn_remove", language), "eve:skip")]
    prompts = {
        "title": t("events.edit_ask_title", language),
        "description": t("events.edit_ask_description", language),
        "time": t("events.ask_start", language),
        "time_end": t("events.ask_end", language),
        "place": t("events.ask_place", language),
        "location": t("events.ask_location", language),
        "capacity": t("events.ask_capacity", language),
        "deadline": t("events.ask_deadline", language),
        "reminders": t("events.edit_ask_reminders", language),
    }
    rows = [stop]
    if step in ("location", "capacity", "deadline"):
        rows = [remove, stop]
    if step == "reminders":
        rows = [[Button(t("events.btn_default", language), "eve:default")], remove, stop]
    return prompts.get(step, ""), rows


def _typed_change(
    step: str, text: str, event: Event, data: dict[str, Any], rt: Runtime
) -> tuple[str | None, dict[str, Any]]:
    """(next step or None when done, changes or dialog updates) — EventInputError if wrong."""
    now, tz, text = utcnow(), rt.settings.tz, text.strip()
    if step in ("title", "description"):
        prefix, colon, rest = text.partition(":")
        lang, value = prefix.strip().lower(), rest.strip()
        if not colon or lang not in ("ka", "az", "ru", "en"):
            lang, value = "ka", text
        current = dict(getattr(event, step))
        if value in ("", "-") and lang != "ka":
            current.pop(lang, None)
        else:
            current[lang] = value
        return None, {step: current}
    if step == "time":
        start = parse_local_datetime(text, tz=tz, now=now)
        if start <= now:
            raise EventInputError("events.err_past")
        return "time_end", {"starts_at": start.isoformat()}
    if step == "time_end":
        start = datetime.fromisoformat(data["starts_at"])
        return None, {"starts_at": start, "ends_at": parse_end(text, start=start, tz=tz, now=now)}
    if step == "place":
        return None, {"place": text}
    if step == "location":
        coords = parse_coordinates(text)
        if coords is None:
            raise EventInputError("events.err_location")
        return None, {"latitude": coords[0], "longitude": coords[1]}
    if step == "capacity":
        return None, {"capacity": parse_capacity(text)}
    if step == "deadline":
        return None, {"rsvp_deadline": parse_local_datetime(text, tz=tz, now=now)}
    if step == "reminders":
        return None, {"reminders": parse_offsets(text)}
    raise EventInputError("events.use_buttons")


async def apply_typed(rt: Runtime, update: Update, dialog: Dialog, text: str) -> None:
    member = await admin_member(rt, update)
    if member is None:
        return
    language = member.language
    if dialog.step == "audience" and picker.is_naming(dialog.data):
        async with rt.db.session() as session:
            updates, answer = await picker.take_name(
                session, dialog.data, text, member, language, "telegram"
            )
            dialog = await advance_dialog(
                session=session, dialog=dialog, step="audience", **updates
            )
            screen_text, rows = await audience_screen(rt, session, PICKER, dialog.data, language)
        await chat_send(update, answer, [])
        await chat_send(update, screen_text, rows)
        return
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=int(dialog.data["event_id"]), lock=True)
        if event is None:
            await end_dialog(session=session, channel="telegram", address=dialog.address)
            await chat_send(update, t("events.unknown_event", language), [])
            return
        try:
            nxt, changes = _typed_change(dialog.step, text, event, dialog.data, rt)
            if nxt is not None:
                await advance_dialog(session=session, dialog=dialog, step=nxt, **changes)
            else:
                await _apply(rt, update, session, event, changes, member, dialog)
                return
        except EventInputError as exc:
            prompt, rows = _edit_prompt(dialog.step, language)
            await chat_send(update, t(exc.key, language, **exc.values) + "\n\n" + prompt, rows)
            return
    prompt, rows = _edit_prompt(nxt, language)
    await chat_send(update, prompt, rows)


async def _apply(
    rt: Runtime,
    update: Update,
    session: AsyncSession,
    event: Event,
    changes: dict[str, Any],
    member: Member,
    dialog: Dialog,
) -> None:
    """Save, then tell whoever must know; raises EventInputError before anything is saved."""
    language, now = member.language, utcnow()
    try:
        changed, told = await apply_and_notify(rt, session, event, changes, member, now)
    except EventStateError as exc:
        await end_dialog(session=session, channel="telegram", address=dialog.address)
        await chat_send(update, t(exc.key, language), [])
        return
    await end_dialog(session=session, channel="telegram", address=dialog.address)
    await session.commit()
    rt.delivery.wake()
    key = "events.edit_saved" if changed else "events.edit_nothing"
    await chat_send(update, t(key, language, code=event.code, count=told), [])


async def on_edit_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    message = update.effective_message
    if message is None:
        return
    await apply_typed(runtime_of(context), update, dialog, message.text or "")


async def on_edit_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """eve:f:<field>, eve:skip (remove), eve:default, eve:aud:<toggle>|done, eve:stop."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await admin_member(rt, update)
    if member is None:
        return
    language, parts = member.language, query.data.split(":")
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
        if dialog is None or dialog.flow != FLOW:
            await answer_stale(query, language)
            return
        await query.answer()
        if parts[1] == "stop":
            await end_dialog(session=session, channel="telegram", address=str(user.id))
            await chat_send(update, t("events.edit_stopped", language), [])
            return
        event = await get_event(session=session, event_id=int(dialog.data["event_id"]), lock=True)
        if event is None:
            return
        if parts[1] == "f" and dialog.step == "field" and parts[2] in FIELDS:
            if parts[2] == "audience":
                start = {"audience": dict(event.audience or {}), "aud_view": "main"}
                dialog = await advance_dialog(
                    session=session, dialog=dialog, step="audience", **start
                )
                text, rows = await audience_screen(rt, session, PICKER, dialog.data, language)
                await chat_send(update, text, rows)
                return
            await advance_dialog(session=session, dialog=dialog, step=parts[2])
            prompt, rows = _edit_prompt(parts[2], language)
            await chat_send(update, prompt, rows)
            return
        removal = REMOVAL
        if parts[1] == "skip" and dialog.step in removal:
            await _apply(rt, update, session, event, removal[dialog.step], member, dialog)
            return
        if parts[1] == "default" and dialog.step == "reminders":
            await _apply(rt, update, session, event, {"reminders": None}, member, dialog)
            return
        if parts[1] == "aud" and dialog.step == "audience":
            audience = dialog.data.get("audience", event.audience)
            if parts[2] == "done":
                await _apply(rt, update, session, event, {"audience": audience}, member, dialog)
                return
            token = ":".join(parts[2:])
            updates, notice = await picker.press(session, PICKER, dialog.data, token, language)
            dialog = await advance_dialog(
                session=session, dialog=dialog, step="audience", **updates
            )
            text, rows = await audience_screen(rt, session, PICKER, dialog.data, language)
            if notice:
                await chat_send(update, notice, [])
            await picker.edit_screen(query, text, rows)
            return
    await chat_send(update, t("events.step_over", language), [])


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "editevent",
        editevent_command,
        description_key="events.cmd_editevent",
        access=Access.SECRETARIAT,
    )
    rt.telegram_step(FLOW, on_edit_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_edit_button, pattern=r"^eve:"))
