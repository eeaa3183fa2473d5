"""/newevent: the secretariat creates an event step by step (state in a Dialog row, never in
memory), ending with a preview and Publish / Save draft.

kind → title (ka) → description (ka) → translations (az/ru/en, optional) → start → end →
place → map location (optional) → capacity (optional) → RSVP deadline (optional) → audience →
preview. Each typed value is checked at once (a date in the past, an end before the start, a
capacity ≤ 0 are refused with the reason and the question asked again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.i18n import LANGUAGE_NAMES, t
from bot.outbound import Button
from bot.roles import Access, add_command
from bot.runtime import Runtime, runtime_of
from handlers import audience_picker as picker
from handlers.events_common import admin_member, answer_stale, chat_send
from handlers.events_edit import apply_typed, audience_screen
from handlers.events_notify import publish_and_announce
from handlers.events_render import card, kind_label
from models.base import utcnow
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.event_input import parse_capacity, parse_coordinates, parse_end, parse_local_datetime
from models.events import (
    MAX_PLACE,
    MAX_TITLE,
    Event,
    EventDraft,
    EventInputError,
    EventKind,
    create_event,
    default_audience,
    default_reminders,
)

ORDER = 60

FLOW = "newevent"
OPTIONAL = {"location": "capacity", "capacity": "deadline", "deadline": "audience"}
TRANSLATIONS = ("az", "ru", "en")
PICKER = picker.Picker("evn:aud")


def _prompt(step: str, data: dict[str, Any], language: str) -> str:
    lang_name = LANGUAGE_NAMES.get(str(data.get("tr_lang")), "")
    return {
        "kind": t("events.ask_kind", language),
        "title": t("events.ask_title", language),
        "description": t("events.ask_description", language),
        "translations": t("events.ask_translations", language),
        "tr_title": t("events.ask_tr_title", language, language=lang_name),
        "tr_description": t("events.ask_tr_description", language, language=lang_name),
        "start": t("events.ask_start", language),
        "end": t("events.ask_end", language),
        "place": t("events.ask_place", language),
        "location": t("events.ask_location", language),
        "capacity": t("events.ask_capacity", language),
        "deadline": t("events.ask_deadline", language),
        "audience": t("events.ask_audience", language),
    }.get(step, "")


def _buttons(step: str, data: dict[str, Any], language: str) -> list[list[Button]]:
    stop = [Button(t("events.btn_stop", language), "evn:stop")]
    if step == "kind":
        kinds = [Button(kind_label(k, language), f"evn:kind:{k}") for k in EventKind]
        return [kinds[i : i + 2] for i in range(0, len(kinds), 2)] + [stop]
    if step == "translations":
        done = set(data.get("title", {}))
        row = [
            Button(("✓ " if lang in done else "+ ") + LANGUAGE_NAMES[lang], f"evn:tr:{lang}")
            for lang in TRANSLATIONS
        ]
        return [row, [Button(t("events.btn_continue", language), "evn:trdone")], stop]
    if step == "tr_description":
        return [[Button(t("events.btn_skip", language), "evn:skip")], stop]
    if step in OPTIONAL:
        label = "events.btn_no_limit" if step == "capacity" else "events.btn_skip"
        return [[Button(t(label, language), "evn:skip")], stop]
    return [stop]


def draft_from(data: dict[str, Any]) -> EventDraft:
    def moment(key: str) -> datetime | None:
        value = data.get(key)
        return datetime.fromisoformat(value) if value else None

    starts, ends = moment("starts_at"), moment("ends_at")
    assert starts is not None and ends is not None
    return EventDraft(
        kind=str(data["kind"]),
        title=dict(data.get("title", {})),
        description=dict(data.get("description", {})),
        starts_at=starts,
        ends_at=ends,
        place=str(data.get("place", "")),
        latitude=data.get("lat"),
        longitude=data.get("lon"),
        capacity=data.get("capacity"),
        rsvp_deadline=moment("deadline"),
        audience=data.get("audience"),
    )


async def _preview(rt: Runtime, session: AsyncSession, data: dict[str, Any], language: str) -> str:
    draft = draft_from(data)
    event = Event(**{k: v for k, v in vars(draft).items() if k != "reminders"})
    audience = draft.audience or {}
    recipients = (await picker.reach_for(session, rt.settings, audience, urgent=False)).total
    reminders = ", ".join(default_reminders(draft.kind, rt.settings))
    return "\n".join(
        [
            t("events.preview_head", language),
            "",
            card(event, language, rt.settings, show_code=False),
            "",
            t(
                "events.preview_audience",
                language,
                audience=await picker.describe(session, rt.settings, audience, language),
                count=recipients,
            ),
            t("events.preview_reminders", language, reminders=reminders),
        ]
    )


async def ask(rt: Runtime, update: Update, dialog: Dialog, language: str) -> None:
    """Send the question of the dialog's current step (or the preview, or the audience)."""
    data, step = dialog.data, dialog.step
    if step == "audience":
        async with rt.db.session() as session:
            text, rows = await audience_screen(rt, session, PICKER, data, language)
        await chat_send(update, text, rows)
        return
    if step == "preview":
        async with rt.db.session() as session:
            text = await _preview(rt, session, data, language)
        rows = [
            [
                Button(t("events.btn_publish", language), "evn:pub"),
                Button(t("events.btn_save_draft", language), "evn:draft"),
            ],
            [Button(t("events.btn_stop", language), "evn:stop")],
        ]
        await chat_send(update, text, rows)
        return
    await chat_send(update, _prompt(step, data, language), _buttons(step, data, language))


async def newevent_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    if member is None or update.effective_user is None:
        return
    async with rt.db.session() as session:
        dialog = await start_dialog(
            session=session,
            channel="telegram",
            address=str(update.effective_user.id),
            flow=FLOW,
            step="kind",
            member_id=member.id,
        )
    await ask(rt, update, dialog, member.language)


def _text_value(
    step: str, text: str, data: dict[str, Any], rt: Runtime
) -> tuple[str, dict[str, Any]]:
    """Validate one typed answer: (next step, updates) or EventInputError."""
    now, tz = utcnow(), rt.settings.tz
    text = text.strip()
    if step in ("title", "tr_title"):
        if not text:
            raise EventInputError("events.err_title_required")
        if len(text) > MAX_TITLE:
            raise EventInputError("events.err_too_long", limit=MAX_TITLE)
        lang = "ka" if step == "title" else str(data["tr_lang"])
        nxt = "description" if step == "title" else "tr_description"
        return nxt, {"title": {**data.get("title", {}), lang: text}}
    if step in ("description", "tr_description"):
        lang = "ka" if step == "description" else str(data["tr_lang"])
        if step == "description" and not text:
            raise EventInputError("events.err_description_required")
        return "translations", {"description": {**data.get("description", {}), lang: text}}
    if step == "start":
        start = parse_local_datetime(text, tz=tz, now=now)
        if start <= now:
            raise EventInputError("events.err_past")
        return "end", {"starts_at": start.isoformat()}
    if step == "end":
        start = datetime.fromisoformat(data["starts_at"])
        return "place", {"ends_at": parse_end(text, start=start, tz=tz, now=now).isoformat()}
    if step == "place":
        if not text:
            raise EventInputError("events.err_place_required")
        if len(text) > MAX_PLACE:
            raise EventInputError("events.err_too_long", limit=MAX_PLACE)
        return "location", {"place": text}
    if step == "location":
        coords = parse_coordinates(text)
        if coords is None:
            raise EventInputError("events.err_location")
        return "capacity", {"lat": coords[0], "lon": coords[1]}
    if step == "capacity":
        return "deadline", {"capacity": parse_capacity(text)}
    if step == "deadline":
        deadline = parse_local_datetime(text, tz=tz, now=now)
        if deadline <= now:
            raise EventInputError("events.err_deadline_past")
        if deadline > datetime.fromisoformat(data["starts_at"]):
            raise EventInputError("events.err_deadline_after_start")
        return "audience", {"deadline": deadline.isoformat()}
    raise EventInputError("events.use_buttons")


async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """A typed answer while /newevent is open."""
    rt = runtime_of(context)
    message = update.effective_message
    member = await admin_member(rt, update)
    if member is None or message is None:
        return
    language = member.language
    if dialog.step == "audience" and picker.is_naming(dialog.data):
        async with rt.db.session() as session:
            updates, answer = await picker.take_name(
                session, dialog.data, message.text or "", member, language, "telegram"
            )
            dialog = await advance_dialog(
                session=session, dialog=dialog, step="audience", **updates
            )
        await chat_send(update, answer, [])
        await ask(rt, update, dialog, language)
        return
    try:
        step, updates = _text_value(dialog.step, message.text or "", dialog.data, rt)
    except EventInputError as exc:
        error = t(exc.key, language, **exc.values)
        question = _prompt(dialog.step, dialog.data, language)
        await chat_send(
            update, f"{error}\n\n{question}", _buttons(dialog.step, dialog.data, language)
        )
        return
    async with rt.db.session() as session:
        fresh = await get_dialog(session=session, channel="telegram", address=dialog.address)
        if fresh is None or fresh.flow != FLOW:
            return
        dialog = await advance_dialog(session=session, dialog=fresh, step=step, **updates)
    await ask(rt, update, dialog, language)


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A map pin shared while /newevent or /editevent waits for the location."""
    rt = runtime_of(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.location is None:
        return
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
    if dialog is None or dialog.step != "location" or dialog.flow not in (FLOW, "editevent"):
        return
    text = f"{message.location.latitude}, {message.location.longitude}"
    if dialog.flow == FLOW:
        member = await admin_member(rt, update)
        if member is None:
            return
        async with rt.db.session() as session:
            fresh = await get_dialog(session=session, channel="telegram", address=str(user.id))
            if fresh is None:
                return
            fresh = await advance_dialog(
                session=session,
                dialog=fresh,
                step="capacity",
                lat=message.location.latitude,
                lon=message.location.longitude,
            )
        await ask(rt, update, fresh, member.language)
        return
    await apply_typed(rt, update, dialog, text)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Kind, skip, translations, audience toggles, publish / save draft / stop."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await admin_member(rt, update)
    if member is None:
        await query.answer()
        return
    language, parts = member.language, query.data.split(":")
    action = parts[1]
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
        if dialog is None or dialog.flow != FLOW:
            await answer_stale(query, language)
            return
        step, data = dialog.step, dialog.data
        if action == "stop":
            await end_dialog(session=session, channel="telegram", address=str(user.id))
            await query.answer()
            await chat_send(update, t("events.new_stopped", language), [])
            return
        nxt: str | None = None
        updates: dict[str, Any] = {}
        if action == "kind" and step == "kind" and parts[2] in set(EventKind):
            nxt, updates = "title", {"kind": parts[2], "audience": default_audience(parts[2])}
        elif action == "skip" and step == "tr_description":
            nxt = "translations"
        elif action == "skip" and step in OPTIONAL:
            nxt = OPTIONAL[step]
        elif action == "tr" and step == "translations" and parts[2] in TRANSLATIONS:
            nxt, updates = "tr_title", {"tr_lang": parts[2]}
        elif action == "trdone" and step == "translations":
            nxt = "start"
        elif action == "aud" and step == "audience":
            if parts[2] == "done":
                nxt = "preview"
            else:
                token = ":".join(parts[2:])
                updates, notice = await picker.press(session, PICKER, data, token, language)
                dialog = await advance_dialog(session=session, dialog=dialog, step=step, **updates)
                text, rows = await audience_screen(rt, session, PICKER, dialog.data, language)
                await query.answer(notice)
                await picker.edit_screen(query, text, rows)
                return
        elif action in ("pub", "draft") and step == "preview":
            await _finish(rt, update, session, dialog, member, publish=action == "pub")
            return
        if nxt is None:
            await answer_stale(query, language)
            return
        dialog = await advance_dialog(session=session, dialog=dialog, step=nxt, **updates)
    await query.answer()
    await ask(rt, update, dialog, language)


async def _finish(
    rt: Runtime,
    update: Update,
    session: AsyncSession,
    dialog: Dialog,
    member: Any,
    *,
    publish: bool,
) -> None:
    query = update.callback_query
    assert query is not None
    language, now = member.language, utcnow()
    try:
        event = await create_event(
            session=session, draft=draft_from(dialog.data), actor=member, now=now
        )
        invited = reached = 0
        if publish:
            invited, reached = await publish_and_announce(rt, session, event, member, now)
    except EventInputError as exc:
        await query.answer()
        await chat_send(update, t(exc.key, language, **exc.values), [])
        return
    await end_dialog(session=session, channel="telegram", address=dialog.address)
    await session.commit()
    await query.answer()
    if publish:
        rt.delivery.wake()
        text = t("events.published", language, code=event.code, invited=invited, reached=reached)
    else:
        text = t("events.saved_draft", language, code=event.code)
    await chat_send(update, text, [])


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "newevent",
        newevent_command,
        description_key="events.cmd_newevent",
        access=Access.SECRETARIAT,
    )
    rt.telegram_step(FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^evn:"))
    rt.add_telegram_handler(MessageHandler(filters.LOCATION, on_location))
