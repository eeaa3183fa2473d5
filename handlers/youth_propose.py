"""/propose: a young member proposes an initiative, step by step (a Dialog, never memory).

title → description → community (buttons) → team size → skills (buttons, or typed free text)
→ sign-up deadline → start date → non-youth helpers? → summary with Send / Cancel.
`/propose Y4` starts the changed version of a proposal the secretariat sent back.

The title and description are kept in the proposer's language; other languages are added
later with /initiative_text (the proposer leads the initiative). Every step is one atomic
read-modify-write of the Dialog row (`_locked_dialog`: SELECT … FOR UPDATE on PostgreSQL, the
BEGIN IMMEDIATE every SQLite transaction starts with), so two fast taps never lose an answer,
and the proposal is submitted in that same transaction (a double tap on Send sends one).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers.youth import keyboard
from handlers.youth_notify import band_of, proposal_to_secretariat, refusal
from models.audiences import is_youth
from models.base import utcnow
from models.communities import list_communities
from models.dialogs import Dialog, advance_dialog, end_dialog, start_dialog
from models.members import Member
from models.youth import (
    MAX_DESCRIPTION,
    MAX_TEAM,
    MAX_TITLE,
    InitiativeDraft,
    Review,
    YouthRefused,
    get_initiative,
    initiative_id_from_code,
    propose_initiative,
    resubmit_initiative,
    skill_catalog,
    skill_label,
)

ORDER = 64
FLOW = "youth_propose"
DATE_RE = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2,4}))?$")


def parse_date(text: str, today: date) -> date | None:
    """`25.12.2026`, `25.12` (the next such day), `25/12/26`."""
    match = DATE_RE.match(text.strip())
    if not match:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    try:
        if year is None:
            found = date(today.year, month, day)
            return found if found >= today else date(today.year + 1, month, day)
        return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
    except ValueError:
        return None


def _prompt(step: str, data: dict[str, Any], language: str) -> tuple[str, Any]:
    rows: list[list[tuple[str, str]]] = []
    if step == "skills":
        chosen = set(data.get("skills", []))
        rows = [
            [(("✓ " if c in chosen else "") + skill_label(c, language), f"yp:k:{c}")]
            for c in skill_catalog()
        ]
        rows.append([(t("youth.btn_done", language), "yp:k:done")])
    elif step == "helpers":
        rows = [[(t("youth.yes", language), "yp:h:1"), (t("youth.no", language), "yp:h:0")]]
    elif step == "confirm":
        rows = [
            [
                (t("youth.btn_send", language), "yp:send"),
                (t("youth.btn_cancel", language), "yp:cancel"),
            ]
        ]
    return t(f"youth.propose_{step}", language), keyboard(rows)


async def _ask(update: Update, step: str, data: dict[str, Any], language: str) -> None:
    message = update.effective_message
    assert message is not None
    text, markup = _prompt(step, data, language)
    await message.reply_text(text, reply_markup=markup)


async def propose_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language, now = member.language, utcnow()
    band = band_of(rt.settings)
    if not member.is_admin and not is_youth(
        member, year=now.year, min_age=band.youth_min, max_age=band.youth_max
    ):
        await message.reply_text(t("youth.propose_youth_only", language))
        return
    data: dict[str, Any] = {"skills": [], "language": language}
    if context.args:
        initiative_id = initiative_id_from_code(context.args[0])
        async with rt.db.session() as session:
            found = (
                await get_initiative(session=session, initiative_id=initiative_id)
                if initiative_id
                else None
            )
        if found is None or found.proposer_member_id != member.id or found.review != Review.CHANGES:
            await message.reply_text(t("youth.refused_not_resubmittable", language))
            return
        data["resubmit"] = found.id
        await message.reply_text(t("youth.propose_changes_were", language, note=found.review_note))
    async with rt.db.session() as session:
        await start_dialog(
            session=session,
            channel="telegram",
            address=str(member.telegram_id),
            flow=FLOW,
            step="title",
            data=data,
            member_id=member.id,
        )
    await message.reply_text(t("youth.propose_intro", language))
    await _ask(update, "title", data, language)


async def _communities_prompt(update: Update, rt: Runtime, language: str) -> None:
    message = update.effective_message
    assert message is not None
    async with rt.db.session() as session:
        communities = await list_communities(session=session)
    rows = [[(t("youth.whole_municipality", language), "yp:c:0")]]
    rows += [[(c.name(language), f"yp:c:{c.id}")] for c in communities]
    await message.reply_text(t("youth.propose_community", language), reply_markup=keyboard(rows))


async def _locked_dialog(session: AsyncSession, address: str) -> Dialog | None:
    """This address's Dialog row, read fresh and locked until the transaction ends."""
    query = (
        select(Dialog)
        .where(Dialog.channel == "telegram", Dialog.address == address)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalars().first()


def _text_step(
    step: str, text: str, data: dict[str, Any], today: date
) -> tuple[str | None, dict[str, Any], str | None]:
    """(error key, answers, next step) for a typed answer; next step None: use the buttons."""
    if step == "title":
        error = "youth.refused_title_long" if len(text) > MAX_TITLE else None
        return (
            error or ("youth.refused_no_title" if not text else None),
            {"title": text},
            ("description"),
        )
    if step == "description":
        error = "youth.refused_description_long" if len(text) > MAX_DESCRIPTION else None
        return error, {"description": text}, "community"
    if step == "size":
        size = int(text) if text.isdigit() else 0
        return (None if 1 <= size <= MAX_TEAM else "youth.refused_size"), {"size": size}, "skills"
    if step == "skills":
        return None, {"skills_other": text[:200]}, "deadline"
    if step in ("deadline", "start"):
        day = parse_date(text, today)
        error = None
        if day is None:
            error = "youth.refused_date"
        elif step == "deadline" and day < today:
            error = "youth.refused_deadline_past"
        elif step == "start" and day < date.fromisoformat(str(data.get("deadline"))):
            error = "youth.refused_start_before_deadline"
        following = "start" if step == "deadline" else "helpers"
        return error, {step: day.isoformat() if day else None}, following
    return None, {}, None


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await telegram_member(rt, update)
    language = member.language if member else rt.settings.default_language
    text = (message.text or "").strip()
    today = utcnow().astimezone(rt.settings.tz).date()
    async with rt.db.session() as session:
        fresh = await _locked_dialog(session, dialog.address)
        if fresh is None or fresh.flow != FLOW:
            return
        data = dict(fresh.data)
        error, updates, following = _text_step(fresh.step, text, data, today)
        if following is not None and error is None:
            await advance_dialog(session=session, dialog=fresh, step=following, **updates)
    if following is None:
        await message.reply_text(t("youth.propose_use_buttons", language))
    elif error:
        await message.reply_text(t(error, language, max=MAX_TEAM))
    elif following == "community":
        await _communities_prompt(update, rt, language)
    else:
        await _ask(update, following, {**data, **updates}, language)


def _draft(data: dict[str, Any], rt: Runtime) -> InitiativeDraft:
    tz = rt.settings.tz
    deadline = datetime.combine(date.fromisoformat(data["deadline"]), time(23, 59), tzinfo=tz)
    starts = datetime.combine(date.fromisoformat(data["start"]), time(10, 0), tzinfo=tz)
    language = str(data.get("language") or "ka")
    return InitiativeDraft(
        title={language: data["title"]},
        description={language: data.get("description", "")},
        target_size=int(data["size"]),
        signup_deadline=deadline,
        starts_at=max(starts, deadline),
        community_id=data.get("community") or None,
        skills=list(data.get("skills", [])),
        skills_other=str(data.get("skills_other", "")),
        allows_non_youth=bool(data.get("helpers")),
    )


async def _submit(rt: Runtime, session: AsyncSession, member: Member, data: dict[str, Any]) -> str:
    """The proposal (or its changed version) to the secretariat; the dialog ends."""
    draft, now = _draft(data, rt), utcnow()
    if data.get("resubmit"):
        initiative = await get_initiative(session=session, initiative_id=int(data["resubmit"]))
        if initiative is None:
            raise YouthRefused("youth.refused_not_resubmittable")
        await resubmit_initiative(
            session=session, initiative=initiative, draft=draft, proposer=member, now=now
        )
    else:
        initiative = await propose_initiative(
            session=session, draft=draft, proposer=member, now=now
        )
    await proposal_to_secretariat(rt, session, initiative)
    await end_dialog(session=session, channel="telegram", address=str(member.telegram_id))
    return initiative.code


def _button_step(
    parts: list[str], step: str, data: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """(next step, answers) for a pressed button; None: not for this step (ignored)."""
    if parts[1] == "c" and step == "community" and len(parts) > 2:
        return "size", {"community": int(parts[2])}
    if parts[1] == "k" and step == "skills" and len(parts) > 2:
        if parts[2] == "done":
            return "deadline", {}
        if parts[2] in skill_catalog():
            chosen = list(data.get("skills", []))
            chosen = (
                [c for c in chosen if c != parts[2]] if parts[2] in chosen else [*chosen, parts[2]]
            )
            return "skills", {"skills": chosen}
    if parts[1] == "h" and step == "helpers" and len(parts) > 2:
        return "confirm", {"helpers": parts[2] == "1"}
    if parts[1] == "cancel":
        return "cancel", {}
    if parts[1] == "send" and step == "confirm":
        return "send", {}
    return None, {}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await telegram_member(rt, update)
    if member is None:
        await query.answer()
        return
    language, chat = member.language, member.telegram_id or 0
    parts = query.data.split(":")
    code: str | None = None
    refused: YouthRefused | None = None
    async with rt.db.session() as session:
        # One transaction: the fresh, locked row → the answer → the write (or the submission).
        dialog = await _locked_dialog(session, str(member.telegram_id))
        if dialog is None or dialog.flow != FLOW:
            expired = True
        else:
            expired = False
            data = dict(dialog.data)
            step, updates = _button_step(parts, dialog.step, data)
            if step == "cancel":
                await end_dialog(session=session, channel="telegram", address=dialog.address)
            elif step == "send":
                try:
                    async with session.begin_nested():
                        code = await _submit(rt, session, member, data)
                except YouthRefused as exc:
                    refused = exc
            elif step is not None:
                await advance_dialog(session=session, dialog=dialog, step=step, **updates)
    if expired:
        await query.answer(t("youth.propose_expired", language))
        return
    await query.answer()
    data = {**data, **updates}
    if step is None:
        return
    if step == "cancel":
        await context.bot.send_message(chat, t("youth.propose_cancelled", language))
        return
    if step == "send":
        if refused is not None:
            await context.bot.send_message(chat, refusal(refused, language, ""))
            return
        rt.delivery.wake()
        await context.bot.send_message(chat, t("youth.proposal_sent", language, code=code))
        return
    if step == "skills":
        _, markup = _prompt("skills", data, language)
        await query.edit_message_reply_markup(markup)
        return
    text, markup = _prompt(step, data, language)
    if step == "confirm":
        summary = t(
            "youth.propose_summary",
            language,
            title=data["title"],
            size=data["size"],
            deadline=data["deadline"],
            start=data["start"],
        )
        text = f"{summary}\n\n{text}"
    await context.bot.send_message(chat, text, reply_markup=markup)


def setup(rt: Runtime) -> None:
    add_command(
        rt, "propose", propose_command, description_key="youth.cmd_propose", access=Access.MEMBER
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^yp:"))
    rt.telegram_step(FLOW, on_text)
