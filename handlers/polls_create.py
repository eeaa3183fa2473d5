"""/newpoll: a guided flow kept in a Dialog (flow "newpoll"), secretariat only.

Steps: question → options [⇄ versions: optional az / ru / en question and options, each
version_question → version_options; from the options' "Languages" button or the preview] →
one/several → anonymous/named → audience → closing time →
live results? → results to voters? → preview → send. Buttons edit the flow's message in
place; typed answers (question, options, closing time) get a new message. From the preview
any part can be changed again.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, _language_of, add_command
from bot.runtime import Runtime, runtime_of
from bot.senders import keyboard
from handlers import audience_picker as picker
from handlers.polls_create_screens import FLOW, PICKER, screen
from handlers.polls_jobs import queue_ballots
from handlers.polls_render import when
from handlers.polls_when import parse_closing
from models.audiences import Audience
from models.audit import record_audit
from models.base import utcnow
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.members import Member, member_by_telegram
from models.polls import (
    MAX_DURATION,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_QUESTION,
    MIN_DURATION,
    TRANSLATIONS,
    PollInvalid,
    open_poll,
)


def next_step(dialog: Dialog, after: str) -> str:
    """The step after `after`; back to the preview when changing an already complete draft."""
    order = [
        "question",
        "options",
        "kind",
        "privacy",
        "audience",
        "closing",
        "live",
        "share",
        "preview",
    ]
    if dialog.data.get("editing") and after in ("question", "options", "audience", "closing"):
        return "preview"
    return order[order.index(after) + 1]


async def _admin(rt: Runtime, session: AsyncSession, user_id: int) -> Member | None:
    member = await member_by_telegram(session=session, telegram_id=user_id)
    return member if member is not None and member.is_admin else None


async def newpoll(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    async with rt.db.session() as session:
        member = await _admin(rt, session, user.id)
        assert member is not None  # guarded by add_command
        dialog = await start_dialog(
            session=session,
            channel="telegram",
            address=str(user.id),
            flow=FLOW,
            step="question",
            data={"language": member.language, "options": [], "audience": {}},
            member_id=member.id,
        )
        text, buttons = await screen(rt, session, dialog, member.language)
    await message.reply_text(text, reply_markup=keyboard({"buttons": _pairs(buttons)}))


def _pairs(buttons: list[list[Button]]) -> list[list[list[str]]]:
    return [[[b.label, b.data] for b in row] for row in buttons]


async def _show(
    message: Message | None, text: str, buttons: list[list[Button]], *, edit: bool
) -> None:
    if message is None:
        return
    markup = keyboard({"buttons": _pairs(buttons)})
    if edit:
        with contextlib.suppress(BadRequest):  # unchanged (a double press)
            await message.edit_text(text, reply_markup=markup)
        return
    await message.reply_text(text, reply_markup=markup)


def _split_options(text: str) -> list[str]:
    return [line.strip().lstrip("-•*").strip() for line in text.splitlines() if line.strip()]


async def on_text_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    """Typed answers: the question, options (one per line), or a closing time."""
    rt = runtime_of(context)
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    text = (message.text or "").strip()
    async with rt.db.session() as session:
        member = await _admin(rt, session, user.id)
        fresh = await get_dialog(session=session, channel="telegram", address=str(user.id))
        if member is None or fresh is None or fresh.flow != FLOW:
            await end_dialog(session=session, channel="telegram", address=str(user.id))
            await message.reply_text(t("core.not_allowed", member.language if member else "ka"))
            return
        language, dialog, problem = member.language, fresh, None
        if dialog.step == "question":
            if not text or len(text) > MAX_QUESTION:
                problem = t(
                    "polls.np_question_too_long", language, length=len(text), max=MAX_QUESTION
                )
            else:
                await advance_dialog(
                    session=session,
                    dialog=dialog,
                    step=next_step(dialog, "question"),
                    question=text,
                )
        elif dialog.step == "options":
            options = list(dialog.data.get("options", []))
            notes: list[str] = []
            for option in _split_options(text):
                if len(option) > MAX_OPTION:
                    notes.append(
                        t("polls.np_option_too_long", language, option=option[:40], max=MAX_OPTION)
                    )
                elif option.casefold() in {o.casefold() for o in options}:
                    notes.append(t("polls.np_option_duplicate", language, option=option))
                elif len(options) >= MAX_OPTIONS:
                    notes.append(
                        t("polls.np_options_too_many", language, max=MAX_OPTIONS, option=option)
                    )
                else:
                    options.append(option)
            await advance_dialog(session=session, dialog=dialog, step="options", options=options)
            problem = "\n".join(notes) or None
        elif dialog.step in ("version_question", "version_options"):
            problem = await _version_text(session, dialog, text, language)
        elif dialog.step == "closing":
            now = utcnow()
            moment = parse_closing(text, now, rt.settings.tz)
            if moment is None:
                problem = t("polls.np_closing_bad", language)
            elif not MIN_DURATION <= moment - now <= MAX_DURATION:
                problem = t(
                    "polls.np_closing_range", language, when=when(moment, language, rt.settings)
                )
            else:
                await advance_dialog(
                    session=session,
                    dialog=dialog,
                    step=next_step(dialog, "closing"),
                    closes_at=moment.isoformat(),
                )
        elif dialog.step == "audience" and picker.is_naming(dialog.data):
            updates, problem = await picker.take_name(
                session, dialog.data, text, member, language, f"telegram:{user.id}"
            )
            await advance_dialog(session=session, dialog=dialog, step="audience", **updates)
        else:
            problem = t("polls.np_use_buttons", language)
        screen_text, buttons = await screen(rt, session, dialog, language)
    if problem:
        screen_text = problem + "\n\n" + screen_text
    await _show(message, screen_text, buttons, edit=False)


async def _version_text(
    session: AsyncSession, dialog: Dialog, text: str, language: str
) -> str | None:
    """A typed version: its question, then all its options at once (as many as in Georgian)."""
    code, options = dialog.data.get("version_of", ""), list(dialog.data.get("options", []))
    versions = dict(dialog.data.get("versions", {}))
    if dialog.step == "version_question":
        if not text or len(text) > MAX_QUESTION:
            return t("polls.np_question_too_long", language, length=len(text), max=MAX_QUESTION)
        await advance_dialog(
            session=session, dialog=dialog, step="version_options", version_question=text
        )
        return None
    typed = _split_options(text)
    if len(typed) != len(options) or any(not o or len(o) > MAX_OPTION for o in typed):
        return t("polls.np_version_count", language, count=len(options))
    if len({o.casefold() for o in typed}) != len(typed):
        return t("polls.np_option_duplicate", language, option=typed[0])
    versions[code] = [dialog.data.get("version_question", ""), typed]
    await advance_dialog(session=session, dialog=dialog, step="versions", versions=versions)
    return None


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    parts = query.data.split(":", 2)  # np:a:tc:7 → verb "a", arg "tc:7"
    verb, arg = parts[1], parts[2] if len(parts) > 2 else None
    toast: str | None = None
    final: str | None = None
    async with rt.db.session() as session:
        member = await _admin(rt, session, user.id)
        dialog = await get_dialog(session=session, channel="telegram", address=str(user.id))
        if member is None:
            await query.answer(t("core.not_allowed", _language_of(update, rt)), show_alert=True)
            return
        language = member.language
        if dialog is None or dialog.flow != FLOW:
            await query.answer(t("polls.np_expired", language), show_alert=True)
            return
        if verb == "x":
            await end_dialog(session=session, channel="telegram", address=str(user.id))
            final = t("polls.np_cancelled", language)
        elif verb == "send" and dialog.step == "preview":
            final, toast = await send_poll(rt, session, dialog, member, user.id)
        else:
            toast = await apply_button(rt, session, dialog, verb, arg, language)
        if final is None:
            text, buttons = await screen(rt, session, dialog, language)
    await query.answer(toast)
    if final is not None:
        await _show(
            query.message if isinstance(query.message, Message) else None, final, [], edit=True
        )
        return
    await _show(
        query.message if isinstance(query.message, Message) else None, text, buttons, edit=True
    )


async def apply_button(
    rt: Runtime, session: AsyncSession, dialog: Dialog, verb: str, arg: str | None, language: str
) -> str | None:
    """Move the draft on by one button; a toast text when the press was refused."""
    step, data = dialog.step, dialog.data
    if verb in ("od", "vs") and step == "options":
        if len(data.get("options", [])) < 2:
            return t("polls.np_options_need_two", language)
        count = len(data.get("options", []))  # versions with another count no longer fit
        versions = {c: v for c, v in data.get("versions", {}).items() if len(v[1]) == count}
        after = next_step(dialog, "options") if verb == "od" else "versions"
        await advance_dialog(session=session, dialog=dialog, step=after, versions=versions)
    elif verb == "v" and step == "versions" and arg in TRANSLATIONS:
        await advance_dialog(
            session=session, dialog=dialog, step="version_question", version_of=arg
        )
    elif verb == "vx" and step == "versions" and arg in TRANSLATIONS:
        versions = {c: v for c, v in data.get("versions", {}).items() if c != arg}
        await advance_dialog(session=session, dialog=dialog, step="versions", versions=versions)
    elif verb == "vd" and step == "versions":
        after = "preview" if data.get("editing") else "kind"
        await advance_dialog(session=session, dialog=dialog, step=after)
    elif verb == "ou" and step == "options":
        await advance_dialog(
            session=session,
            dialog=dialog,
            step="options",
            options=list(data.get("options", []))[:-1],
        )
    elif verb == "k" and step == "kind":
        await advance_dialog(session=session, dialog=dialog, step="privacy", multiple=arg == "n")
    elif verb == "p" and step == "privacy":
        await advance_dialog(session=session, dialog=dialog, step="audience", anonymous=arg == "a")
    elif verb == "a" and step == "audience":
        return await audience_button(rt, session, dialog, arg or "", language)
    elif verb == "c" and step == "closing" and arg and arg.isdigit():
        moment = utcnow() + timedelta(minutes=int(arg))
        await advance_dialog(
            session=session,
            dialog=dialog,
            step=next_step(dialog, "closing"),
            closes_at=moment.isoformat(),
        )
    elif verb == "l" and step == "live":
        await advance_dialog(session=session, dialog=dialog, step="share", results_live=arg == "y")
    elif verb == "s" and step == "share":
        await advance_dialog(
            session=session,
            dialog=dialog,
            step="preview",
            results_to_voters=arg == "y",
            editing=True,
        )
    elif (
        verb == "e"
        and step == "preview"
        and arg in ("question", "options", "versions", "audience", "closing")
    ):
        await advance_dialog(session=session, dialog=dialog, step=arg)
    else:
        return t("polls.np_stale", language)
    return None


async def audience_button(
    rt: Runtime, session: AsyncSession, dialog: Dialog, arg: str, language: str
) -> str | None:
    """A press in the audience picker (np:a:<token>), or Next."""
    if arg == "next":
        found = await picker.reach_for(
            session, rt.settings, dialog.data.get("audience"), urgent=False
        )
        if found.total == 0:
            return t("polls.aud_empty", language)
        await advance_dialog(session=session, dialog=dialog, step=next_step(dialog, "audience"))
        return None
    updates, notice = await picker.press(session, PICKER, dialog.data, arg, language)
    await advance_dialog(session=session, dialog=dialog, step="audience", **updates)
    return notice


async def send_poll(
    rt: Runtime, session: AsyncSession, dialog: Dialog, member: Member, user_id: int
) -> tuple[str | None, str | None]:
    """Open the poll and queue its ballots: (final text, or None with a refusal toast)."""
    data, language, now = dialog.data, member.language, utcnow()
    try:
        poll, members = await open_poll(
            session=session,
            question=data["question"],
            options=list(data["options"]),
            multiple=bool(data["multiple"]),
            anonymous=bool(data["anonymous"]),
            audience=Audience.from_json(data.get("audience")),
            closes_at=datetime.fromisoformat(data["closes_at"]),
            results_live=bool(data["results_live"]),
            results_to_voters=bool(data["results_to_voters"]),
            created_by=member.id,
            youth_ages=(rt.settings.youth_min_age, rt.settings.youth_max_age),
            now=now,
            versions={c: (q, list(o)) for c, (q, o) in data.get("versions", {}).items()},
        )
    except PollInvalid as error:
        step = "closing" if error.reason == "closing" else "options"
        await advance_dialog(session=session, dialog=dialog, step=step)
        if step == "closing":
            return None, t("polls.np_invalid_closing", language)
        return None, t("polls.np_invalid_options", language)
    if not members:
        await advance_dialog(session=session, dialog=dialog, step="audience")
        return None, t("polls.aud_empty", language)
    counts = await queue_ballots(rt, session, poll, members, now)
    await record_audit(
        session=session,
        action="poll.create",
        actor_member_id=member.id,
        actor_label=f"telegram:{user_id}",
        target=poll.code,
        details={
            "question": poll.question,
            "options": poll.options,
            "versions": sorted(poll.question_versions or {}),
            "anonymous": poll.anonymous,
            "multiple": poll.multiple,
            "audience": poll.audience,
            "closes_at": poll.closes_at.isoformat(),
            "recipients": len(members),
        },
    )
    await end_dialog(session=session, channel="telegram", address=str(user_id))
    rt.delivery.wake()
    return (
        t(
            "polls.np_sent",
            language,
            code=poll.code,
            count=len(members),
            telegram=counts["telegram"],
            sms=counts["sms"],
            none=counts["none"],
            when=when(poll.closes_at, language, rt.settings),
        ),
        None,
    )


def setup_create(rt: Runtime) -> None:
    add_command(
        rt, "newpoll", newpoll, description_key="polls.cmd_newpoll", access=Access.SECRETARIAT
    )
    rt.telegram_step(FLOW, on_text_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=r"^np:"))
