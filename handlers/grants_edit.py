"""/editgrant G3: the secretariat changes any field of a call from its card (handlers.grants_admin
has the card and publish / close / cancel).

A change applicants rely on (a date, the range, co-financing, who may apply, the manual) of a
published call is sent to everyone still in the running; a wider audience is announced to the
newcomers; newly linked draft info sessions are published as events; cancelling tells every
active applicant. Every change is audited (models.grants).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, add_command
from bot.runtime import Runtime, runtime_of
from handlers import audience_picker as picker
from handlers import grants_forms as forms
from handlers.grants_admin import (
    FIELD_KEYS,
    P,
    ask_confirm,
    life_cycle,
    show_admin,
)
from handlers.grants_forms import admin_member, answer_stale, chat_send
from handlers.grants_notify import (
    announce,
    notify_change,
    publish_sessions,
)
from handlers.grants_render import error_text, markup
from models.base import utcnow
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.grants import (
    APPLICANT_TYPES,
    PHASES,
    REQUIRED_PHASES,
    GrantCall,
    GrantInputError,
    GrantStateError,
    GrantStatus,
    call_by_code,
    get_call,
)
from models.grants_changes import NOTIFYING, apply_changes
from models.members import Member

ORDER = 60
PICKER = picker.Picker(f"{P}:aud", can_save=False)
FLOW = "editgrant"
CLEARABLE = {"manual": {"manual_url": None}, "sessions": {}} | {
    name: {name: None} for name in PHASES if name not in REQUIRED_PHASES
}


async def editgrant_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    message = update.effective_message
    if member is None or message is None:
        return
    args = list(context.args or [])
    async with rt.db.session() as session:
        call = await call_by_code(session=session, code=args[0]) if args else None
    if call is None or call.id is None:
        key = "grants.editgrant_usage" if not args else "grants.unknown_code"
        await message.reply_text(t(key, member.language, code=args[0] if args else ""))
        return
    await show_admin(rt, update, call.id, member.language)


def _edit_prompt(
    step: str, data: dict[str, Any], call: GrantCall, language: str, rt: Runtime
) -> str:
    question = forms.prompt(step, data, language)
    current = call.phase(step) if step in PHASES else None
    if current is not None:
        value = current.astimezone(rt.settings.tz).strftime("%d.%m.%Y %H:%M")
        question += "\n" + t("grants.current_value", language, value=value)
    return question


async def _ask_field(
    rt: Runtime, update: Update, dialog: Dialog, language: str, note: str = ""
) -> None:
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=int(dialog.data["grant_id"]))
        if call is None:
            return
        step = dialog.step
        text = _edit_prompt(step, dialog.data, call, language, rt)
        if step == "audience":
            text, rows = await picker.done_screen(
                session, rt.settings, PICKER, dialog.data, language, title=text
            )
        else:
            rows = forms.step_buttons(P, step, dialog.data, language, rt)
    if step in ("manual", "sessions", *forms.OPTIONAL_PHASES):
        rows = [[Button(t("grants.btn_clear", language), f"{P}:skip")]]
    rows.append([Button(t("grants.btn_back", language), f"{P}:stop")])
    await chat_send(update, f"{note}\n\n{text}" if note else text, rows)


async def _save(
    rt: Runtime, member: Member, grant_id: int, changes: dict[str, Any],
    sessions: list[int] | None = None,
) -> tuple[bool, str]:  # fmt: skip
    """Apply, tell whom it concerns, and say what happened (False: refused, and why)."""
    language, now = member.language, utcnow()
    try:
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=grant_id, lock=True)
            if call is None:
                return False, t("grants.unknown_code", language, code=f"G{grant_id}")
            audience_before = dict(call.audience)
            changed = await apply_changes(
                session=session, call=call, changes=changes, actor=member, now=now,
                info_session_ids=sessions,
            )  # fmt: skip
            told = newcomers = 0
            if call.status == GrantStatus.PUBLISHED:
                if NOTIFYING & set(changed):
                    told = await notify_change(rt, session, call, changed, now)
                if "info_sessions" in changed:
                    await publish_sessions(rt, session, call, member, now)
                if call.audience != audience_before:
                    newcomers = (await announce(rt, session, call, now))[1]
            await end_dialog(session=session, channel="telegram", address=str(member.telegram_id))
    except (GrantInputError, GrantStateError) as exc:
        return False, error_text(exc, language, rt.settings.tz)
    rt.delivery.wake()
    if not changed:
        return True, t("grants.nothing_changed", language)
    return True, t("grants.saved", language, told=told, newcomers=newcomers)


def _changes_for(step: str, value: Any, data: dict[str, Any], call: GrantCall) -> dict[str, Any]:
    if step == "title":
        return {"title": {**call.title, "ka": value}}
    if step == "description":
        return {"description": {**call.description, "ka": value}}
    if step == "amount":
        return {"min_amount": value[0], "max_amount": value[1]}
    if step == "cofinancing":
        return {"cofinancing_pct": value}
    if step == "manual":
        return {"manual_url": value}
    return {step: value}  # a phase


async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """A typed value while /editgrant waits for one field."""
    rt = runtime_of(context)
    message = update.effective_message
    member = await admin_member(rt, update)
    if member is None or message is None:
        return
    language, step, text = member.language, dialog.step, message.text or ""
    grant_id = int(dialog.data["grant_id"])
    try:
        value = forms.parse_value(step, text, rt=rt, now=utcnow())
    except GrantInputError as exc:
        await _ask_field(
            rt, update, dialog, language, note=error_text(exc, language, rt.settings.tz)
        )
        return
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        if call is None:
            return
        if step in ("tr_title", "tr_description"):
            field, lang = step.removeprefix("tr_"), str(dialog.data["tr_lang"])
            texts = {**getattr(call, field), lang: value}
            if step == "tr_title":
                dialog = await advance_dialog(session=session, dialog=dialog, step="tr_description",
                                              title_tr=value)  # fmt: skip
                outcome = None
            else:
                title = {**call.title, lang: str(dialog.data.get("title_tr", ""))}
                outcome = {"title": title, "description": texts}
        else:
            outcome = _changes_for(step, value, dialog.data, call)
    if outcome is None:
        await _ask_field(rt, update, dialog, language)
        return
    sessions = value if step == "sessions" else None
    changes = {} if step == "sessions" else outcome
    ok, note = await _save(rt, member, grant_id, changes, sessions)
    if not ok:
        await _ask_field(rt, update, dialog, language, note=note)
        return
    warning = forms.holiday_note(value, language, rt) if isinstance(value, datetime) else None
    await show_admin(rt, update, grant_id, language, note="\n".join(filter(None, [note, warning])))


async def _start_field(
    rt: Runtime, update: Update, member: Member, grant_id: int, name: str
) -> None:
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        if call is None or call.status not in (GrantStatus.DRAFT, GrantStatus.PUBLISHED):
            outcome = None
        else:
            data = {
                "grant_id": grant_id,
                "priorities": list(call.priorities),
                "types": list(call.applicant_types),
                "audience": dict(call.audience),
                "title": dict(call.title),
            }
            outcome = await start_dialog(
                session=session, channel="telegram", address=str(member.telegram_id), flow=FLOW,
                step=name, data=data, member_id=member.id,
            )  # fmt: skip
    if outcome is None:
        await show_admin(rt, update, grant_id, member.language)
        return
    await _ask_field(rt, update, outcome, member.language)


async def _in_dialog(
    rt: Runtime, update: Update, member: Member, action: str, parts: list[str]
) -> None:
    """A button of the field being edited: toggles, translations, clear, done, back."""
    query = update.callback_query
    assert query is not None
    language, address = member.language, str(member.telegram_id)
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=address)
        if dialog is None or dialog.flow != FLOW:
            dialog = None
        elif action == "stop":
            await end_dialog(session=session, channel="telegram", address=address)
    if dialog is None:
        await answer_stale(query, language)
        return
    await query.answer()
    grant_id, step, data = int(dialog.data["grant_id"]), dialog.step, dialog.data
    if action == "stop":
        await show_admin(rt, update, grant_id, language)
        return
    changes: dict[str, Any] | None = None
    if action in ("p", "t") and step == ("priorities" if action == "p" else "types"):
        field = "priorities" if action == "p" else "types"
        allowed = forms.priority_codes() if action == "p" else list(APPLICANT_TYPES)
        chosen = forms.toggle(list(data.get(field, [])), parts[2], allowed)
        async with rt.db.session() as session:
            fresh = await get_dialog(session=session, channel="telegram", address=address)
            if fresh is not None:
                await advance_dialog(session=session, dialog=fresh, step=step, **{field: chosen})
        rows = forms.step_buttons(P, step, {**data, field: chosen}, language, rt)
        rows.append([Button(t("grants.btn_back", language), f"{P}:stop")])
        await query.edit_message_reply_markup(reply_markup=markup(rows))
        return
    if action == "aud" and step == "audience" and parts[2] != "done":
        async with rt.db.session() as session:
            fresh = await get_dialog(session=session, channel="telegram", address=address)
            call = await get_call(session=session, grant_id=grant_id)
            if fresh is None or call is None:
                return
            token = ":".join(parts[2:-1])
            updates, _ = await picker.press(session, PICKER, fresh.data, token, language)
            fresh = await advance_dialog(session=session, dialog=fresh, step=step, **updates)
            title = _edit_prompt(step, fresh.data, call, language, rt)
            back = [[Button(t("grants.btn_back", language), f"{P}:stop")]]
            text, rows = await picker.done_screen(
                session, rt.settings, PICKER, fresh.data, language, title=title, extra=back
            )
        await picker.edit_screen(query, text, rows)
        return
    if action == "tr" and step == "translations" and parts[2] in forms.TRANSLATIONS:
        async with rt.db.session() as session:
            fresh = await get_dialog(session=session, channel="telegram", address=address)
            if fresh is None:
                return
            fresh = await advance_dialog(session=session, dialog=fresh, step="tr_title",
                                         tr_lang=parts[2])  # fmt: skip
        await _ask_field(rt, update, fresh, language)
        return
    if action == "pdone" and step == "priorities":
        changes = {"priorities": list(data.get("priorities", []))}
    elif action == "tdone" and step == "types":
        changes = {"applicant_types": list(data.get("types", []))}
    elif action == "aud" and step == "audience":
        changes = {"audience": dict(data.get("audience") or {})}
    elif action == "skip" and step in CLEARABLE:
        changes = dict(CLEARABLE[step])
    elif action == "skip" and step == "tr_description":
        lang = str(data.get("tr_lang"))
        changes = {"title": {**data.get("title", {}), lang: str(data.get("title_tr", ""))}}
    elif action == "trdone" and step == "translations":
        async with rt.db.session() as session:
            await end_dialog(session=session, channel="telegram", address=address)
        await show_admin(rt, update, grant_id, language)
        return
    if changes is None:
        return
    ok, note = await _save(rt, member, grant_id, changes, [] if step == "sessions" else None)
    if not ok:
        await _ask_field(rt, update, dialog, language, note=note)
        return
    await show_admin(rt, update, grant_id, language, note=note)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await admin_member(rt, update)
    if member is None:
        return
    parts = [*query.data.split(":"), ""]
    action = parts[1]
    if action in ("f", "pub", "close", "cancel", "closey", "cancely") and parts[2].isdigit():
        await query.answer()
        grant_id = int(parts[2])
        if action == "f" and parts[3] in (*FIELD_KEYS, *PHASES):
            await _start_field(rt, update, member, grant_id, parts[3])
        elif action in ("close", "cancel"):
            await ask_confirm(rt, update, member, action, grant_id)
        elif action in ("pub", "closey", "cancely"):
            await life_cycle(rt, update, member, action, grant_id)
        return
    if action == "back":
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        return
    await _in_dialog(rt, update, member, action, parts)


def setup(rt: Runtime) -> None:
    add_command(
        rt, "editgrant", editgrant_command, description_key="grants.cmd_editgrant",
        access=Access.SECRETARIAT,
    )  # fmt: skip
    rt.telegram_step(FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=rf"^{P}:"))
