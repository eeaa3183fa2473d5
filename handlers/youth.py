"""Youth initiatives on Telegram for members: /initiatives, one-button sign-up (then an optional
"why me" line and skills), withdraw; on the card, the lead and the secretariat also get the team
list, Change (team size, dates, ...: youth_edit) and Start (open | full → running) / Finish
(running → finished). Proposals are in youth_propose, the lead's and the secretariat's side
in youth_admin, SMS in youth_sms, reminders in youth_reminders.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers.youth_notify import (
    band_of,
    finish_and_notify,
    local_date,
    refusal,
    signup_and_notify,
    start_and_notify,
    where_of,
    withdraw_and_notify,
)
from models import seats
from models.base import utcnow
from models.dialogs import Dialog, end_dialog, start_dialog
from models.members import Member
from models.youth import (
    JOINABLE,
    SEAT_KIND,
    Initiative,
    InitiativeStatus,
    YouthRefused,
    get_initiative,
    may_manage,
    may_see_team,
    skill_catalog,
    skill_label,
    start_due_initiatives,
)
from models.youth_signups import (
    MAX_WHY,
    clip_why,
    eligible,
    my_status,
    open_for,
    signup_of,
    update_signup,
)

ORDER = 62
WHY_FLOW = "youth_why"
MAX_LISTED = 15


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def list_text(
    rt: Runtime, session: AsyncSession, member: Member
) -> tuple[str, InlineKeyboardMarkup | None]:
    now = utcnow()
    await start_due_initiatives(session=session, now=now)
    found = await open_for(session=session, member=member, band=band_of(rt.settings), now=now)
    language = member.language
    if not found:
        return t("youth.list_empty", language), None
    lines = [t("youth.list_title", language)]
    rows: list[list[tuple[str, str]]] = []
    for initiative in found[:MAX_LISTED]:
        assert initiative.id is not None
        counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
        left = counts.free(initiative.target_size) or 0
        spots = (
            t("youth.spots_left", language, left=left, target=initiative.target_size)
            if left
            else t("youth.full_reserve", language, waiting=counts.waiting)
        )
        if not eligible(member, initiative, band=band_of(rt.settings), now=now):
            spots += " · " + t("youth.youth_only", language)
        lines.append(
            t(
                "youth.list_line",
                language,
                code=initiative.code,
                title=initiative.title_in(language),
                where=await where_of(session, initiative, language),
                spots=spots,
                deadline=local_date(initiative.signup_deadline, rt.settings),
            )
        )
        rows.append(
            [(f"{initiative.code} · {initiative.title_in(language)}"[:60], f"yi:o:{initiative.id}")]
        )
    return "\n\n".join(lines), keyboard(rows)


async def detail_view(
    rt: Runtime, session: AsyncSession, initiative: Initiative, member: Member
) -> tuple[str, InlineKeyboardMarkup | None]:
    assert initiative.id is not None
    language, now = member.language, utcnow()
    counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
    skills = ", ".join(skill_label(s, language) for s in initiative.skills)
    if initiative.skills_other:
        skills = ", ".join(x for x in (skills, initiative.skills_other) if x)
    text = t(
        "youth.detail",
        language,
        code=initiative.code,
        title=initiative.title_in(language),
        description=initiative.description_in(language) or "—",
        where=await where_of(session, initiative, language),
        team=counts.seated,
        target=initiative.target_size,
        waiting=counts.waiting,
        skills=skills or "—",
        deadline=local_date(initiative.signup_deadline, rt.settings),
        starts=local_date(initiative.starts_at, rt.settings),
        status=t(f"youth.status_{initiative.status}", language),
    )
    mine = await my_status(session=session, initiative=initiative, member=member)
    rows: list[list[tuple[str, str]]] = []
    if mine.status == "seated":
        text += "\n\n" + t("youth.you_are_in", language)
    elif mine.status == "waiting":
        text += "\n\n" + t("youth.you_are_reserve", language, place=mine.place or 0)
    if mine.status in ("seated", "waiting"):
        row = await signup_of(
            session=session, initiative_id=initiative.id, member_id=member.id or 0
        )
        chosen = set(row.skills if row else [])
        rows.append([(t("youth.btn_why", language), f"yi:y:{initiative.id}")])
        for code in skill_catalog():
            mark = "✓ " if code in chosen else ""
            rows.append([(mark + skill_label(code, language), f"yi:k:{initiative.id}:{code}")])
        rows.append([(t("youth.btn_withdraw", language), f"yi:w:{initiative.id}")])
    elif initiative.signup_open(now):
        if eligible(member, initiative, band=band_of(rt.settings), now=now):
            label = (
                "youth.btn_signup" if counts.free(initiative.target_size) else "youth.btn_reserve"
            )
            rows.append([(t(label, language), f"yi:s:{initiative.id}")])
        else:
            text += "\n\n" + t("youth.refused_not_youth", language)
    if may_see_team(member, initiative):
        rows.append([(t("youth.btn_team", language), f"yi:t:{initiative.id}")])
    if may_manage(member, initiative):
        if initiative.status in JOINABLE:
            rows.append([(t("youth.btn_edit", language), f"ye:e:{initiative.id}")])
            rows.append([(t("youth.btn_start", language), f"yi:r:{initiative.id}")])
        elif initiative.status == InitiativeStatus.RUNNING:
            rows.append([(t("youth.btn_finish", language), f"yi:f:{initiative.id}")])
    return text, keyboard(rows)


async def initiatives_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    assert member is not None and update.effective_message is not None
    async with rt.db.session() as session:
        text, markup = await list_text(rt, session, member)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    assert query is not None
    with contextlib.suppress(TelegramError):  # "message is not modified"
        await query.edit_message_text(text, reply_markup=markup)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await telegram_member(rt, update)
    if member is None or not member.is_active:
        await query.answer(t("core.not_registered", member.language if member else None))
        return
    parts = query.data.split(":")
    action, initiative_id = parts[1], int(parts[2])
    language = member.language
    answer = ""
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=initiative_id)
        if initiative is None:
            await query.answer(t("youth.refused_unknown", language, code=f"Y{initiative_id}"))
            return
        if action == "t":
            from handlers.youth_admin import send_team

            await query.answer()
            await send_team(rt, update, session, initiative, member)
            return
        try:
            if action == "s":
                outcome = await signup_and_notify(
                    rt, session, initiative, member, channel="telegram", now=utcnow()
                )
                answer = (
                    t("youth.signed_up", language, title=initiative.title_in(language))
                    if outcome.status == "seated"
                    else t("youth.on_reserve", language, place=outcome.place or 0)
                )
            elif action == "w":
                await withdraw_and_notify(
                    rt, session, initiative, member, channel="telegram", now=utcnow()
                )
                answer = t("youth.withdrawn", language, title=initiative.title_in(language))
            elif action in ("r", "f"):
                if not may_manage(member, initiative):
                    await query.answer(t("youth.manage_not_allowed", language))
                    return
                change = start_and_notify if action == "r" else finish_and_notify
                await change(rt, session, initiative, member, utcnow())
                answer = t(
                    "youth.started" if action == "r" else "youth.finished",
                    language,
                    code=initiative.code,
                )
            elif action == "k":
                row = await signup_of(
                    session=session, initiative_id=initiative_id, member_id=member.id or 0
                )
                chosen = list(row.skills) if row else []
                code = parts[3]
                chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
                await update_signup(
                    session=session, initiative=initiative, member=member, skills=chosen
                )
            elif action == "y":
                await update_signup(session=session, initiative=initiative, member=member)
                await start_dialog(
                    session=session,
                    channel="telegram",
                    address=str(member.telegram_id),
                    flow=WHY_FLOW,
                    step="why",
                    data={"initiative": initiative_id},
                    member_id=member.id,
                )
                answer = t("youth.ask_why", language)
        except YouthRefused as exc:
            await query.answer(refusal(exc, language, initiative.code)[:190])
            return
        text, markup = await detail_view(rt, session, initiative, member)
    rt.delivery.wake()
    await query.answer(answer[:190] if answer else None)
    await _edit(update, text, markup)
    if action in ("s", "y") and answer and query.message is not None:
        follow = answer if action == "y" else t("youth.after_signup", language)
        await context.bot.send_message(query.message.chat.id, follow)


async def on_why(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """The "why me" line, typed after pressing its button."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await telegram_member(rt, update)
    language = member.language if member else rt.settings.default_language
    text = (message.text or "").strip()
    async with rt.db.session() as session:
        await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
        initiative = await get_initiative(
            session=session, initiative_id=int(dialog.data.get("initiative", 0))
        )
        if member is None or initiative is None or not text:
            await message.reply_text(t("youth.why_not_saved", language))
            return
        try:
            row = await update_signup(
                session=session, initiative=initiative, member=member, why=text
            )
        except YouthRefused as exc:
            await message.reply_text(refusal(exc, language, initiative.code))
            return
    if clip_why(text)[1]:
        await message.reply_text(t("youth.why_shortened", language, max=MAX_WHY, why=row.why))
        return
    await message.reply_text(t("youth.why_saved", language))


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "initiatives",
        initiatives_command,
        description_key="youth.cmd_initiatives",
        access=Access.MEMBER,
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^yi:[oswkytrf]:\d+(:\w+)?$"))
    rt.telegram_step(WHY_FLOW, on_why)
