"""/newgrant: the secretariat creates a grant call step by step (state in a Dialog row, never in
memory), ending with a preview and Publish / Save draft.

title (ka) → description (ka) → translations (az/ru/en, optional) → LDS priority areas →
eligible applicant types → grant range (GEL) → co-financing % → manual link (optional) →
info sessions (event codes, optional) → idea deadline → shortlist → training (optional) →
full application deadline → interviews → results → contract (optional) → audience → preview.

Each typed value is checked at once; every phase must come after the one before and lie in
the future; a date on a public holiday is accepted with the scheduler's holiday warning.
"""

from __future__ import annotations

import itertools
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
from handlers import grants_forms as forms
from handlers.grants_forms import admin_member, answer_stale, chat_send
from handlers.grants_notify import publish_and_announce
from handlers.grants_render import card, error_text, markup
from models.base import utcnow
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.events import Event
from models.grants import (
    APPLICANT_TYPES,
    PHASES,
    GrantCall,
    GrantDraft,
    GrantInputError,
    GrantStateError,
    check_phases,
    create_call,
    linkable_events,
)
from models.members import Member

ORDER = 60
FLOW = "newgrant"
P = "grn"  # callback prefix
PICKER = picker.Picker(f"{P}:aud", can_save=False)
NEXT = {
    "title": "description", "description": "translations", "tr_title": "tr_description",
    "tr_description": "translations", "translations": "priorities", "priorities": "types",
    "types": "amount", "amount": "cofinancing", "cofinancing": "manual", "manual": "sessions",
    "sessions": PHASES[0], **{a: b for a, b in itertools.pairwise(PHASES)},
    PHASES[-1]: "audience", "audience": "preview",
}  # fmt: skip


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def draft_from(data: dict[str, Any]) -> GrantDraft:
    phases = {name: _moment(data.get("phases", {}).get(name)) for name in PHASES}
    idea, full = phases.pop("idea_deadline"), phases.pop("full_deadline")
    assert idea is not None and full is not None
    return GrantDraft(
        title=dict(data.get("title", {})),
        description=dict(data.get("description", {})),
        priorities=list(data.get("priorities", [])),
        applicant_types=list(data.get("types", [])),
        min_amount=int(data["min"]),
        max_amount=int(data["max"]),
        cofinancing_pct=int(data.get("pct", 0)),
        manual_url=data.get("manual"),
        idea_deadline=idea,
        full_deadline=full,
        audience=dict(data.get("audience") or {}),
        info_sessions=[int(i) for i in data.get("sessions", [])],
        **phases,
    )


async def _preview(rt: Runtime, session: AsyncSession, data: dict[str, Any], language: str) -> str:
    draft = draft_from(data)
    fields = {k: v for k, v in vars(draft).items() if k != "info_sessions"}
    call = GrantCall(**fields, status="draft")
    sessions = [e for i in draft.info_sessions if (e := await session.get(Event, i)) is not None]
    count = (await picker.reach_for(session, rt.settings, draft.audience, urgent=False)).total
    return "\n".join(
        [
            t("grants.preview_head", language),
            "",
            card(call, sessions, language, rt.settings, utcnow()),
            "",
            t(
                "grants.preview_audience",
                language,
                audience=await picker.describe(session, rt.settings, draft.audience, language),
                count=count,
            ),
        ]
    )


def stop_row(language: str) -> list[Button]:
    return [Button(t("grants.btn_stop", language), f"{P}:stop")]


async def ask(rt: Runtime, update: Update, dialog: Dialog, language: str, note: str = "") -> None:
    """Send the question of the dialog's current step (or the audience picker, or the preview)."""
    data, step = dialog.data, dialog.step
    head = f"{note}\n\n" if note else ""
    if step == "audience":
        async with rt.db.session() as session:
            title = head + forms.prompt(step, data, language)
            text, rows = await picker.done_screen(
                session, rt.settings, PICKER, data, language, title=title
            )
        await chat_send(update, text, rows)
        return
    if step == "preview":
        async with rt.db.session() as session:
            text = await _preview(rt, session, data, language)
        rows = [
            [
                Button(t("grants.btn_publish", language), f"{P}:pub"),
                Button(t("grants.btn_save_draft", language), f"{P}:draft"),
            ],
            stop_row(language),
        ]
        await chat_send(update, head + text, rows)
        return
    rows = [*forms.step_buttons(P, step, data, language, rt), stop_row(language)]
    await chat_send(update, head + forms.prompt(step, data, language), rows)


async def newgrant_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
            step="title",
            data={"types": list(APPLICANT_TYPES), "audience": {}},
            member_id=member.id,
        )
    await ask(rt, update, dialog, member.language)


async def _typed(
    rt: Runtime, session: AsyncSession, step: str, text: str, data: dict[str, Any], language: str
) -> tuple[str, dict[str, Any], str]:
    """One typed answer: (next step, updates, a note such as a holiday warning)."""
    now = utcnow()
    value = forms.parse_value(step, text, rt=rt, now=now)
    if step in ("title", "description"):
        return NEXT[step], {step: {**data.get(step, {}), "ka": value}}, ""
    if step in ("tr_title", "tr_description"):
        field = step.removeprefix("tr_")
        return NEXT[step], {field: {**data.get(field, {}), str(data["tr_lang"]): value}}, ""
    if step == "amount":
        return NEXT[step], {"min": value[0], "max": value[1]}, ""
    if step == "cofinancing":
        return NEXT[step], {"pct": value}, ""
    if step == "manual":
        return NEXT[step], {"manual": value}, ""
    if step == "sessions":
        events = await linkable_events(session=session, event_ids=value, now=now)
        starts = [e.starts_at.isoformat() for e in events]
        return NEXT[step], {"sessions": value, "session_starts": starts}, ""
    phases = {**data.get("phases", {}), step: value.isoformat()}
    check_phases(
        {name: _moment(phases.get(name)) for name in PHASES},
        now=now,
        sessions=[m for s in data.get("session_starts", []) if (m := _moment(s))],
        complete=False,
    )
    return NEXT[step], {"phases": phases}, forms.holiday_note(value, language, rt) or ""


async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """A typed answer while /newgrant is open."""
    rt = runtime_of(context)
    message = update.effective_message
    member = await admin_member(rt, update)
    if member is None or message is None:
        return
    language, note = member.language, ""
    async with rt.db.session() as session:
        fresh = await get_dialog(session=session, channel="telegram", address=dialog.address)
        if fresh is None or fresh.flow != FLOW:
            return
        try:
            step, updates, note = await _typed(
                rt, session, fresh.step, message.text or "", fresh.data, language
            )
        except GrantInputError as exc:
            note = error_text(exc, language, rt.settings.tz)
        else:
            fresh = await advance_dialog(session=session, dialog=fresh, step=step, **updates)
    await ask(rt, update, fresh, language, note=note)


def _button_step(
    action: str, parts: list[str], step: str, data: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """A pressed button: (next step or None when it does not fit the step, updates)."""
    skippable = ("tr_description", "manual", "sessions", *forms.OPTIONAL_PHASES)
    if action == "skip" and step in skippable:
        updates: dict[str, Any] = {}
        if step in PHASES:
            updates = {"phases": {k: v for k, v in data.get("phases", {}).items() if k != step}}
        return NEXT[step], updates
    if action == "tr" and step == "translations" and parts[2] in forms.TRANSLATIONS:
        return "tr_title", {"tr_lang": parts[2]}
    if action == "trdone" and step == "translations":
        return NEXT[step], {}
    if action in ("p", "t") and step == ("priorities" if action == "p" else "types"):
        field = "priorities" if action == "p" else "types"
        allowed = forms.priority_codes() if action == "p" else list(APPLICANT_TYPES)
        return step, {field: forms.toggle(list(data.get(field, [])), parts[2], allowed)}
    if action in ("pdone", "tdone") and step == ("priorities" if action == "pdone" else "types"):
        field = "priorities" if action == "pdone" else "types"
        if not data.get(field):
            key = "grants.err_priorities" if field == "priorities" else "grants.err_types"
            raise GrantInputError(key)
        return NEXT[step], {}
    return None, {}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Translations, toggles, skip, audience, publish / save draft / stop."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await admin_member(rt, update)
    if member is None:
        return
    language, parts = member.language, [*query.data.split(":"), ""]
    action = parts[1]
    redraw: list[list[Button]] | None = None
    screen: tuple[str, list[list[Button]]] = ("", [])
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
        if dialog is None or dialog.flow != FLOW:
            outcome = "stale"
        elif action == "stop":
            await end_dialog(session=session, channel="telegram", address=str(user.id))
            outcome = "stopped"
        elif action in ("pub", "draft") and dialog.step == "preview":
            outcome = action
        elif action == "aud" and dialog.step == "audience" and parts[2] != "done":
            token = ":".join(parts[2:-1])
            updates, _ = await picker.press(session, PICKER, dialog.data, token, language)
            dialog = await advance_dialog(
                session=session, dialog=dialog, step="audience", **updates
            )
            title = forms.prompt("audience", dialog.data, language)
            screen = await picker.done_screen(
                session, rt.settings, PICKER, dialog.data, language, title=title
            )
            outcome = "picker"
        elif action == "aud" and dialog.step == "audience":
            dialog = await advance_dialog(session=session, dialog=dialog, step="preview")
            outcome = "ask"
        else:
            step = dialog.step
            try:
                nxt, updates = _button_step(action, parts, step, dialog.data)
            except GrantInputError as exc:
                outcome = error_text(exc, language, rt.settings.tz)
                nxt = None
            else:
                outcome = "stale" if nxt is None else ("redraw" if nxt == step else "ask")
            if nxt is not None:
                dialog = await advance_dialog(session=session, dialog=dialog, step=nxt, **updates)
                if nxt == step:  # a toggle: redraw the buttons in place
                    redraw = forms.step_buttons(P, step, dialog.data, language, rt)
                    redraw.append(stop_row(language))
    if outcome == "stale":
        await answer_stale(query, language)
    elif outcome == "stopped":
        await query.answer()
        await chat_send(update, t("grants.new_stopped", language), [])
    elif outcome in ("pub", "draft"):
        assert dialog is not None
        await _finish(rt, update, dialog, member, publish=outcome == "pub")
    elif outcome == "picker":
        await query.answer()
        await picker.edit_screen(query, *screen)
    elif outcome == "redraw":
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=markup(redraw or []))
    elif outcome == "ask":
        assert dialog is not None
        await query.answer()
        await ask(rt, update, dialog, language)
    else:  # a refusal to show
        await query.answer(outcome, show_alert=True)


async def _finish(
    rt: Runtime, update: Update, dialog: Dialog, member: Member, *, publish: bool
) -> None:
    query = update.callback_query
    assert query is not None
    language, now = member.language, utcnow()
    try:
        async with rt.db.session() as session:
            call = await create_call(
                session=session, draft=draft_from(dialog.data), actor=member, now=now
            )
            audience = reached = 0
            if publish:
                audience, reached = await publish_and_announce(rt, session, call, member, now)
            await end_dialog(session=session, channel="telegram", address=dialog.address)
    except (GrantInputError, GrantStateError) as exc:
        await query.answer()
        await chat_send(update, error_text(exc, language, rt.settings.tz), [])
        return
    await query.answer()
    if publish:
        rt.delivery.wake()
        text = t("grants.published", language, code=call.code, audience=audience, reached=reached)
    else:
        text = t("grants.saved_draft", language, code=call.code)
    await chat_send(update, text, [])


def setup(rt: Runtime) -> None:
    add_command(
        rt, "newgrant", newgrant_command, description_key="grants.cmd_newgrant",
        access=Access.SECRETARIAT,
    )  # fmt: skip
    rt.telegram_step(FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=rf"^{P}:"))
