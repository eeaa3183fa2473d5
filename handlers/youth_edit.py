"""Editing an initiative on Telegram (the lead and the secretariat): `/edit_initiative Y4`, or
"✏️ Change" on the initiative's card, shows what can change with a button each.

- 👥 team size, 📅 sign-up deadline, 🚀 start date: the next message is the new value (a
  Dialog, flow youth_edit), checked by models.youth_changes.update_initiative;
- 📍 community: buttons (the whole municipality or a community); 🧩 skills: toggle buttons;
  🤝 non-youth helpers: one toggle.

Every change goes through handlers.youth_notify.update_and_notify (whoever a larger team
promotes from the reserve list is told, new dates go to the lead and the team), is audited
("youth.updated"), and a date on a public holiday is saved with the scheduler's warning.
Anyone else pressing a (forwarded or forged) button is refused and the try audited.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers._youth_common import refuse_unless_lead
from handlers.youth import keyboard
from handlers.youth_notify import holiday_notes, local_date, refusal, update_and_notify, where_of
from handlers.youth_propose import parse_date
from models import seats
from models.base import utcnow
from models.communities import list_communities
from models.dialogs import Dialog, end_dialog, start_dialog
from models.members import Member
from models.youth import (
    MAX_TEAM,
    SEAT_KIND,
    Initiative,
    YouthRefused,
    get_initiative,
    initiative_id_from_code,
    may_manage,
    skill_catalog,
    skill_label,
)
from models.youth_changes import EDITABLE, InitiativeUpdate

ORDER = 65
FLOW = "youth_edit"
TYPED = ("size", "deadline", "start")


async def edit_card(
    rt: Runtime, session: AsyncSession, initiative: Initiative, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What can change, as it is now, with a button per field."""
    assert initiative.id is not None
    counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
    skills = ", ".join(skill_label(s, language) for s in initiative.skills)
    text = t(
        "youth.edit_card",
        language,
        code=initiative.code,
        title=initiative.title_in(language),
        team=counts.seated,
        target=initiative.target_size,
        waiting=counts.waiting,
        deadline=local_date(initiative.signup_deadline, rt.settings),
        starts=local_date(initiative.starts_at, rt.settings),
        where=await where_of(session, initiative, language),
        skills=skills or "—",
        helpers=t("youth.yes" if initiative.allows_non_youth else "youth.no", language),
    )
    i = initiative.id
    rows = [
        [(t("youth.btn_edit_size", language), f"ye:z:{i}")],
        [(t("youth.btn_edit_deadline", language), f"ye:d:{i}"),
         (t("youth.btn_edit_start", language), f"ye:s:{i}")],
        [(t("youth.btn_edit_community", language), f"ye:c:{i}")],
        [(t("youth.btn_edit_skills", language), f"ye:k:{i}")],
        [(t("youth.btn_edit_helpers", language), f"ye:h:{i}")],
    ]  # fmt: skip
    return text, keyboard(rows)


def _skills_rows(initiative: Initiative, language: str) -> list[list[tuple[str, str]]]:
    rows = [
        [(("✓ " if c in initiative.skills else "") + skill_label(c, language),
          f"ye:k:{initiative.id}:{c}")]
        for c in skill_catalog()
    ]  # fmt: skip
    rows.append([(t("youth.btn_done", language), f"ye:x:{initiative.id}")])
    return rows


def saved_text(rt: Runtime, initiative: Initiative, update: InitiativeUpdate, language: str) -> str:
    """ "Saved", who was promoted, and any holiday warning for a new date."""
    if not update.changed:
        return t("youth.edit_unchanged", language, code=initiative.code)
    lines = [t("youth.edit_saved", language, code=initiative.code)]
    if update.promoted:
        lines.append(t("youth.edit_promoted", language, count=len(update.promoted)))
    lines += holiday_notes(initiative, update, language, rt.settings)
    return "\n".join(lines)


async def edit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    raw = context.args[0] if context.args else ""
    initiative_id = initiative_id_from_code(raw) if raw else None
    if initiative_id is None:
        await message.reply_text(t("youth.edit_usage", language))
        return
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=initiative_id)
        if initiative is None:
            await message.reply_text(t("youth.refused_unknown", language, code=raw.upper()))
            return
        if not await refuse_unless_lead(update, session, member, initiative, what="edit"):
            return
        if initiative.status not in EDITABLE:
            exc = YouthRefused("youth.refused_not_editable", status=initiative.status)
            await message.reply_text(refusal(exc, language, initiative.code))
            return
        text, markup = await edit_card(rt, session, initiative, language)
    await message.reply_text(text, reply_markup=markup)


async def send_card(
    rt: Runtime, context: ContextTypes.DEFAULT_TYPE, chat_id: int, initiative_id: int,
    language: str, note: str = "",
) -> None:  # fmt: skip
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=initiative_id)
        if initiative is None:
            return
        text, markup = await edit_card(rt, session, initiative, language)
    await context.bot.send_message(chat_id, f"{note}\n\n{text}" if note else text,
                                   reply_markup=markup)  # fmt: skip


async def _apply(
    rt: Runtime, session: AsyncSession, initiative: Initiative, member: Member,
    language: str, **changes: Any,
) -> str:  # fmt: skip
    """Save through update_and_notify; the answer to show (saved, or the refusal)."""
    try:
        async with session.begin_nested():
            update = await update_and_notify(rt, session, initiative, member, utcnow(), **changes)
    except YouthRefused as exc:
        return refusal(exc, language, initiative.code)
    return saved_text(rt, initiative, update, language)


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
    language, chat = member.language, member.telegram_id or 0
    note = ""
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=initiative_id)
        allowed = await refuse_unless_lead(
            update,
            session,
            member,
            initiative,
            what="edit",
            initiative_ref=initiative_id,
            alert=True,
        )
        if not allowed or initiative is None:
            return
        if action == "e":  # from the initiative's card
            await query.answer()
            text, markup = await edit_card(rt, session, initiative, language)
            await context.bot.send_message(chat, text, reply_markup=markup)
            return
        if action in ("z", "d", "s"):
            step = {"z": "size", "d": "deadline", "s": "start"}[action]
            await start_dialog(session=session, channel="telegram", address=str(chat),
                               flow=FLOW, step=step, data={"initiative": initiative_id},
                               member_id=member.id)  # fmt: skip
            await query.answer()
            await context.bot.send_message(
                chat, t(f"youth.edit_ask_{step}", language, code=initiative.code, max=MAX_TEAM)
            )
            return
        if action == "c" and len(parts) == 3:
            communities = await list_communities(session=session)
            rows = [[(t("youth.whole_municipality", language), f"ye:c:{initiative_id}:0")]]
            rows += [[(c.name(language), f"ye:c:{initiative_id}:{c.id}")] for c in communities]
            await query.answer()
            await context.bot.send_message(chat, t("youth.edit_ask_community", language),
                                           reply_markup=keyboard(rows))  # fmt: skip
            return
        if action == "k" and len(parts) == 3:
            await query.answer()
            markup = keyboard(_skills_rows(initiative, language))
            await context.bot.send_message(
                chat, t("youth.edit_ask_skills", language), reply_markup=markup
            )
            return
        if action == "k":
            code = parts[3]
            chosen = list(initiative.skills)
            chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
            answer = await _apply(rt, session, initiative, member, language, skills=chosen)
            rows = _skills_rows(initiative, language)
            await query.answer(answer[:190])
            if query.message is not None:
                await query.edit_message_reply_markup(keyboard(rows))
            return
        if action == "c":
            community = int(parts[3]) or None
            note = await _apply(rt, session, initiative, member, language, community_id=community)
        elif action == "h":
            note = await _apply(rt, session, initiative, member, language,
                                allows_non_youth=not initiative.allows_non_youth)  # fmt: skip
        elif action == "x":
            note = ""
    rt.delivery.wake()
    await query.answer()
    await send_card(rt, context, chat, initiative_id, language, note)


def _typed(step: str, text: str, rt: Runtime) -> dict[str, Any] | str:
    """The typed value as update_initiative's keyword, or the error key."""
    if step == "size":
        return {"target_size": int(text)} if text.isdigit() else "youth.refused_size"
    today = utcnow().astimezone(rt.settings.tz).date()
    day: date | None = parse_date(text, today)
    if day is None:
        return "youth.refused_date"
    tz = rt.settings.tz
    if step == "deadline":  # the end of that day, as /propose and the web form keep it
        return {"signup_deadline": datetime.combine(day, time(23, 59), tzinfo=tz)}
    return {"starts_at": datetime.combine(day, time(10, 0), tzinfo=tz)}


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """The new team size or date, typed after pressing its button."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await telegram_member(rt, update)
    if member is None:
        return
    language, text = member.language, (message.text or "").strip()
    initiative_id = int(dialog.data.get("initiative", 0))
    parsed = _typed(dialog.step, text, rt) if dialog.step in TYPED else "youth.refused_date"
    if isinstance(parsed, str):  # asked again: the dialog stays
        await message.reply_text(t(parsed, language, max=MAX_TEAM))
        return
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=initiative_id)
        if initiative is None or not may_manage(member, initiative):
            await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
            await message.reply_text(t("youth.manage_not_allowed", language))
            return
        note = await _apply(rt, session, initiative, member, language, **parsed)
        await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
    rt.delivery.wake()
    await send_card(rt, context, message.chat.id, initiative_id, language, note)


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "edit_initiative",
        edit_command,
        description_key="youth.cmd_edit",
        access=Access.MEMBER,
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^ye:[ezdsckhx]:\d+(:\w+)?$"))
    rt.telegram_step(FLOW, on_text)
