"""Grant calls on Telegram for members: /grants, /grant G3, "I'm interested" and withdrawing.

"I'm interested" is a short guided intent (a Dialog, flow `grant_interest`): applicant type
(buttons, only the types the call accepts) → project idea title (or "not decided yet") →
village (or the one in the profile). Pressing it again before the idea is received changes
the details. The secretariat's side is in grants_new, grants_edit, grants_applicants and
grants_reports; SMS in grants_sms; reminders and the digest in grants_reminders.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers.core import to_inbox
from handlers.grants_forms import chat_send
from handlers.grants_render import card, error_text, interest_button, my_line, short
from models.base import utcnow
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.grants import (
    GrantCall,
    GrantInputError,
    GrantStateError,
    GrantStatus,
    call_by_code,
    get_call,
    info_sessions,
    list_calls,
    open_calls,
)
from models.grants_applicants import (
    ACTIVE,
    Stage,
    applicant_of,
    member_applications,
    register_interest,
    withdraw,
)
from models.grants_input import check_idea_title
from models.grants_labels import stage_label, type_label
from models.members import Member

ORDER = 60
FLOW = "grant_interest"
STALE_AFTER = timedelta(hours=24)


async def member_view(
    rt: Runtime, session: AsyncSession, call: GrantCall, member: Member, now: datetime
) -> tuple[str, list[list[Button]]]:
    """The card with the member's own stage, and what they can do about it."""
    assert call.id is not None and member.id is not None
    language = member.language
    sessions = await info_sessions(session=session, call=call)
    text = card(call, sessions, language, rt.settings, now)
    mine = await applicant_of(session=session, grant_id=call.id, member_id=member.id)
    rows: list[list[Button]] = []
    if mine is not None and mine.stage != Stage.WITHDRAWN:
        text += "\n\n" + my_line(mine, language)
    may_register = mine is None or mine.stage in (Stage.INTERESTED, Stage.WITHDRAWN)
    if call.accepts_interest(now) and may_register:
        if mine is not None and mine.stage == Stage.INTERESTED:
            rows.append([Button(t("grants.btn_change", language), f"gr:i:{call.id}")])
        else:
            rows.append([interest_button(call, language)])
    if mine is not None and mine.stage in ACTIVE and call.status == GrantStatus.PUBLISHED:
        rows.append([Button(t("grants.btn_withdraw", language), f"gr:w:{call.id}")])
    return text, rows


async def grants_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/grants: open calls with the next deadline and days left, and my applications."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    assert member is not None and member.id is not None
    language, now = member.language, utcnow()
    views: list[tuple[str, list[list[Button]]]] = []
    async with rt.db.session() as session:
        calls = await open_calls(session=session, now=now)
        for call in calls:
            views.append(await member_view(rt, session, call, member, now))
        shown = {c.id for c in calls}
        past = [
            (a, c) for a, c in await member_applications(session=session, member_id=member.id)
            if c.id not in shown and c.status != GrantStatus.DRAFT
        ]  # fmt: skip
        admin_calls = (
            await list_calls(session=session, statuses=(GrantStatus.DRAFT, GrantStatus.PUBLISHED))
            if member.is_admin
            else []
        )
    if not views:
        await chat_send(update, t("grants.none_open", language), [])
    for text, rows in views:
        await chat_send(update, text, rows)
    if past:
        lines = [t("grants.my_past", language)]
        lines += [
            f"{c.code} · {c.title_in(language)} — {stage_label(a.stage, language)}" for a, c in past
        ]
        await chat_send(update, "\n".join(lines), [])
    if admin_calls:
        lines = [t("grants.admin_list", language)]
        lines += [f"{c.code} · {c.title_in(language)} ({c.status})" for c in admin_calls]
        lines.append(t("grants.admin_hint", language))
        await chat_send(update, "\n".join(lines), [])


async def grant_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/grant G3: one call, with my stage and the buttons."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    args = list(context.args or [])
    language = member.language
    if not args:
        await message.reply_text(t("grants.grant_usage", language))
        return
    await show_call(rt, update, member, args[0])


async def show_call(rt: Runtime, update: Update, member: Member, code: str) -> None:
    async with rt.db.session() as session:
        call = await call_by_code(session=session, code=code)
        visible = call is not None and (call.status != GrantStatus.DRAFT or member.is_admin)
        if call is not None and visible:
            text, rows = await member_view(rt, session, call, member, utcnow())
    if call is None or not visible:
        await chat_send(update, t("grants.unknown_code", member.language, code=code.upper()), [])
        return
    await chat_send(update, text, rows)


# -- "I'm interested" ---------------------------------------------------------------------------


async def ask(update: Update, dialog: Dialog, member: Member, note: str = "") -> None:
    """The question of the intent step the member is at."""
    language, step = member.language, dialog.step
    stop = [Button(t("grants.btn_stop", language), "gr:x")]
    head = f"{note}\n\n" if note else ""
    if step == "type":
        rows = [
            [Button(type_label(code, language), f"gr:t:{code}")]
            for code in dialog.data.get("types", [])
        ]
        text = t("grants.ask_type", language, code=dialog.data.get("code", ""))
    elif step == "title":
        rows = [[Button(t("grants.btn_no_title", language), "gr:nt")]]
        text = t("grants.ask_idea", language)
    else:
        rows = [[Button(member.village, "gr:mv")]] if member.village else []
        text = t("grants.ask_village", language)
    await chat_send(update, head + text, [*rows, stop])


async def _start_interest(rt: Runtime, update: Update, member: Member, grant_id: int) -> None:
    language, now = member.language, utcnow()
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        problem: str | None = None
        if call is None or call.status == GrantStatus.DRAFT:
            problem = t("grants.unknown_code", language, code=f"G{grant_id}")
        elif not call.accepts_interest(now):
            key = "grants.err_interest_closed" if call.status == GrantStatus.PUBLISHED else None
            exc = GrantStateError(key or "grants.err_not_open", code=call.code,
                                  when=call.idea_deadline)  # fmt: skip
            problem = error_text(exc, language, rt.settings.tz)
        else:
            assert member.id is not None
            mine = await applicant_of(session=session, grant_id=grant_id, member_id=member.id)
            if mine is not None and mine.stage not in (Stage.INTERESTED, Stage.WITHDRAWN):
                problem = t("grants.err_details_locked", language, code=call.code)
        if problem is None and call is not None:
            dialog = await start_dialog(
                session=session, channel="telegram", address=str(member.telegram_id), flow=FLOW,
                step="type", member_id=member.id,
                data={"grant_id": grant_id, "code": call.code, "types": call.applicant_types},
            )  # fmt: skip
    if problem is not None:
        await chat_send(update, problem, [])
        return
    await ask(update, dialog, member)


async def _finish(
    rt: Runtime, update: Update, member: Member, dialog: Dialog, village: str
) -> None:
    language, now = member.language, utcnow()
    note = ""
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=int(dialog.data["grant_id"]), lock=True)
        try:
            if call is None:
                raise GrantStateError("grants.err_not_open", code="")
            outcome = await register_interest(
                session=session, call=call, member=member,
                applicant_type=str(dialog.data["type"]),
                idea_title=str(dialog.data.get("idea", "")), village=village, channel="telegram",
                now=now,
                youth_ages=(rt.settings.youth_min_age, rt.settings.youth_max_age),
            )  # fmt: skip
        except GrantInputError as exc:
            note = error_text(exc, language, rt.settings.tz)
        except GrantStateError as exc:
            await end_dialog(session=session, channel="telegram", address=dialog.address)
            text = error_text(exc, language, rt.settings.tz)
            dialog.step = "done"
        else:
            await end_dialog(session=session, channel="telegram", address=dialog.address)
            key = (
                "grants.interest_saved"
                if outcome.created or outcome.restored
                else ("grants.interest_updated")
            )
            text = t(key, language, code=call.code, title=call.title_in(language),
                     when=short(call.idea_deadline, language, rt.settings.tz))  # fmt: skip
            dialog.step = "done"
    if dialog.step != "done":
        await ask(update, dialog, member, note=note)
        return
    await chat_send(update, text, [])


async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """Typed text during the intent: the idea title or the village."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    if member is None or message is None:
        return
    if utcnow() - dialog.updated_at > STALE_AFTER:  # left a day ago: not an answer any more
        async with rt.db.session() as session:
            await end_dialog(session=session, channel="telegram", address=dialog.address)
        await to_inbox(rt, update)
        return
    text = message.text or ""
    if dialog.step == "type":
        await ask(update, dialog, member, note=t("grants.use_buttons", member.language))
        return
    if dialog.step == "title":
        try:
            idea = check_idea_title(text)
        except GrantInputError as exc:
            await ask(update, dialog, member, note=error_text(exc, member.language, rt.settings.tz))
            return
        async with rt.db.session() as session:
            dialog = await advance_dialog(session=session, dialog=dialog, step="village", idea=idea)
        await ask(update, dialog, member)
        return
    await _finish(rt, update, member, dialog, text)


async def _withdraw(rt: Runtime, update: Update, member: Member, grant_id: int) -> None:
    language, now = member.language, utcnow()
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        assert member.id is not None
        mine = await applicant_of(session=session, grant_id=grant_id, member_id=member.id)
        try:
            if call is None or mine is None:
                raise GrantStateError("grants.err_not_applied", code=f"G{grant_id}")
            await withdraw(session=session, call=call, applicant=mine, member=member, now=now)
            text = t("grants.withdrawn", language, code=call.code, title=call.title_in(language))
        except GrantStateError as exc:
            text = error_text(exc, language, rt.settings.tz)
    await chat_send(update, text, [])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    member = await telegram_member(rt, update)
    if member is None or not member.is_active:
        await query.answer(t("core.not_registered", member.language if member else "ka"),
                           show_alert=True)  # fmt: skip
        return
    parts = [*query.data.split(":"), ""]
    action, arg, language = parts[1], parts[2], member.language
    await query.answer()
    if action == "i" and arg.isdigit():
        await _start_interest(rt, update, member, int(arg))
        return
    if action == "w" and arg.isdigit():
        rows = [[Button(t("grants.btn_withdraw_yes", language), f"gr:wy:{arg}"),
                 Button(t("grants.btn_back", language), "gr:wn")]]  # fmt: skip
        await chat_send(update, t("grants.confirm_withdraw", language, code=f"G{arg}"), rows)
        return
    if action == "wy" and arg.isdigit():
        await _withdraw(rt, update, member, int(arg))
        return
    if action == "wn":
        await query.edit_message_reply_markup(reply_markup=None)
        return
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
        if dialog is None or dialog.flow != FLOW:
            dialog = None
        elif action == "x":
            await end_dialog(session=session, channel="telegram", address=str(user.id))
        elif action == "t" and dialog.step == "type" and arg in dialog.data.get("types", []):
            dialog = await advance_dialog(session=session, dialog=dialog, step="title", type=arg)
        elif action == "nt" and dialog.step == "title":
            dialog = await advance_dialog(session=session, dialog=dialog, step="village", idea="")
    if dialog is None:
        await chat_send(update, t("grants.step_over", language), [])
    elif action == "x":
        await chat_send(update, t("grants.interest_stopped", language), [])
    elif action == "mv" and dialog.step == "village" and member.village:
        await _finish(rt, update, member, dialog, member.village)
    else:
        await ask(update, dialog, member)


def setup(rt: Runtime) -> None:
    add_command(rt, "grants", grants_command, description_key="grants.cmd_grants")
    add_command(rt, "grant", grant_command, description_key="grants.cmd_grant", menu=False)
    rt.telegram_step(FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^gr:"))
