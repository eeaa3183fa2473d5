"""/propose: a young member proposes an initiative, step by step (a Dialog, never memory).

title → description → community (buttons) → team size → skills (buttons, or typed free text)
→ sign-up deadline → start date → non-youth helpers? → summary with Send / Cancel.
`/propose Y4` starts the changed version of a proposal the secretariat sent back.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers.youth import keyboard
from handlers.youth_notify import band_of, proposal_to_secretariat
from models.audiences import is_youth
from models.base import utcnow
from models.communities import list_communities
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
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
    data: dict[str, Any] = {"skills": []}
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


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    member = await telegram_member(rt, update)
    language = member.language if member else rt.settings.default_language
    text = (message.text or "").strip()
    step, data = dialog.step, dict(dialog.data)
    today = utcnow().astimezone(rt.settings.tz).date()
    error: str | None = None
    updates: dict[str, Any] = {}
    following = step
    if step == "title":
        error = "youth.refused_title_long" if len(text) > MAX_TITLE else None
        error = error or ("youth.refused_no_title" if not text else None)
        updates, following = {"title": text}, "description"
    elif step == "description":
        error = "youth.refused_description_long" if len(text) > MAX_DESCRIPTION else None
        updates, following = {"description": text}, "community"
    elif step == "size":
        size = int(text) if text.isdigit() else 0
        error = None if 1 <= size <= MAX_TEAM else "youth.refused_size"
        updates, following = {"size": size}, "skills"
    elif step == "skills":
        updates, following = {"skills_other": text[:200]}, "deadline"
    elif step in ("deadline", "start"):
        day = parse_date(text, today)
        if day is None:
            error = "youth.refused_date"
        elif step == "deadline" and day < today:
            error = "youth.refused_deadline_past"
        elif step == "start" and day < date.fromisoformat(str(data.get("deadline"))):
            error = "youth.refused_start_before_deadline"
        updates = {step: day.isoformat() if day else None}
        following = "start" if step == "deadline" else "helpers"
    else:
        await message.reply_text(t("youth.propose_use_buttons", language))
        return
    if error:
        await message.reply_text(t(error, language, max=MAX_TEAM))
        return
    async with rt.db.session() as session:
        await advance_dialog(session=session, dialog=dialog, step=following, **updates)
    if following == "community":
        await _communities_prompt(update, rt, language)
    else:
        await _ask(update, following, {**data, **updates}, language)


def _draft(data: dict[str, Any], rt: Runtime) -> InitiativeDraft:
    tz = rt.settings.tz
    deadline = datetime.combine(date.fromisoformat(data["deadline"]), time(23, 59), tzinfo=tz)
    starts = datetime.combine(date.fromisoformat(data["start"]), time(10, 0), tzinfo=tz)
    return InitiativeDraft(
        title={"ka": data["title"]},
        description={"ka": data.get("description", "")},
        target_size=int(data["size"]),
        signup_deadline=deadline,
        starts_at=max(starts, deadline),
        community_id=data.get("community") or None,
        skills=list(data.get("skills", [])),
        skills_other=str(data.get("skills_other", "")),
        allows_non_youth=bool(data.get("helpers")),
    )


async def _submit(rt: Runtime, member: Member, data: dict[str, Any]) -> str:
    async with rt.db.session() as session:
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


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await telegram_member(rt, update)
    if member is None:
        await query.answer()
        return
    language = member.language
    async with rt.db.session() as session:
        dialog = await get_dialog(
            session=session, channel="telegram", address=str(member.telegram_id)
        )
        if dialog is None or dialog.flow != FLOW:
            await query.answer(t("youth.propose_expired", language))
            return
        parts, data = query.data.split(":"), dict(dialog.data)
        step = dialog.step
        updates: dict[str, Any] = {}
        if parts[1] == "c" and step == "community":
            updates, step = {"community": int(parts[2])}, "size"
        elif parts[1] == "k" and step == "skills":
            if parts[2] == "done":
                step = "deadline"
            elif parts[2] in skill_catalog():
                chosen = list(data.get("skills", []))
                chosen = (
                    [c for c in chosen if c != parts[2]]
                    if parts[2] in chosen
                    else [*chosen, parts[2]]
                )
                updates = {"skills": chosen}
        elif parts[1] == "h" and step == "helpers":
            updates, step = {"helpers": parts[2] == "1"}, "confirm"
        elif parts[1] == "cancel":
            await end_dialog(session=session, channel="telegram", address=str(member.telegram_id))
            await query.answer()
            await context.bot.send_message(
                member.telegram_id or 0, t("youth.propose_cancelled", language)
            )
            return
        elif parts[1] == "send" and step == "confirm":
            step = "send"
        else:
            await query.answer()
            return
        if step != "send":
            await advance_dialog(session=session, dialog=dialog, step=step, **updates)
    data = {**data, **updates}
    await query.answer()
    chat = member.telegram_id or 0
    if step == "send":
        try:
            code = await _submit(rt, member, data)
        except YouthRefused as exc:
            await context.bot.send_message(chat, t(exc.key, language, max=MAX_TEAM))
            return
        rt.delivery.wake()
        await context.bot.send_message(chat, t("youth.proposal_sent", language, code=code))
        return
    if parts[1] == "k" and step == "skills":
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
