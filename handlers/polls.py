"""Quick polls (issue #8): the secretariat's commands, and the wiring of voting and the clock.

/newpoll (handlers.polls_create) · /polls · /results P7 (text, breakdowns, chart) ·
/closepoll P7 (with a confirmation) · /pollcsv P7. Voting: handlers.polls_vote. Reminder and
close: handlers.polls_jobs. Telegram ballot edits: handlers.polls_ballots.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, allowed
from bot.runtime import Runtime, runtime_of
from bot.senders import keyboard
from handlers.polls_ballots import poke
from handlers.polls_chart import chart_data, render_chart
from handlers.polls_create import setup_create
from handlers.polls_export import export_csv
from handlers.polls_jobs import (
    PollClosing,
    PollReminders,
    close_and_announce,
    communities_by_id,
    digest_section,
)
from handlers.polls_render import results_text, when
from handlers.polls_vote import setup_voting
from models.audit import record_audit
from models.base import utcnow
from models.members import Member, member_by_telegram
from models.polls import Poll, get_poll, list_polls, parse_poll_code
from models.polls_results import poll_results

ORDER = 40
MAX_TEXT = 4000


async def _caller(session: AsyncSession, update: Update) -> Member:
    user = update.effective_user
    assert user is not None
    member = await member_by_telegram(session=session, telegram_id=user.id)
    assert member is not None  # add_command checked the role
    return member


async def _named_poll(
    session: AsyncSession, update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str
) -> tuple[Member, Poll | None, str | None]:
    """The poll named in the command (`/results P7`), or the answer explaining what is wrong."""
    member = await _caller(session, update)
    language = member.language
    args = context.args or []
    poll_id = parse_poll_code(args[0]) if args else None
    if poll_id is None:
        recent = ", ".join(p.code for p in await list_polls(session=session, limit=5))
        return member, None, t(usage, language) + (f"\n{recent}" if recent else "")
    poll = await get_poll(session=session, poll_id=poll_id)
    if poll is None:
        return member, None, t("polls.err_unknown", language, code=f"P{poll_id}")
    return member, poll, None


def _chunks(text: str) -> list[str]:
    """Telegram takes 4096 characters a message: split on line ends."""
    chunks, current = [], ""
    for line in text.split("\n"):
        if len(current) + len(line) + 1 > MAX_TEXT and current:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return [*chunks, current]


async def polls_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open and recent polls with turnout."""
    rt = runtime_of(context)
    assert update.effective_message is not None
    async with rt.db.session() as session:
        member = await _caller(session, update)
        language = member.language
        lines = [t("polls.list_title", language)]
        for poll in await list_polls(session=session):
            results = await poll_results(session=session, poll=poll)
            status = (
                t("polls.status_open", language, when=when(poll.closes_at, language, rt.settings))
                if poll.is_open
                else t(
                    "polls.status_closed",
                    language,
                    when=when(poll.closed_at or poll.closes_at, language, rt.settings),
                )
            )
            question = poll.question if len(poll.question) <= 70 else poll.question[:69] + "…"
            lines.append(
                t(
                    "polls.list_line",
                    language,
                    code=poll.code,
                    question=question,
                    status=status,
                    voters=results.voters,
                    audience=results.audience,
                )
            )
        if len(lines) == 1:
            lines = [t("polls.list_empty", language)]
    await update.effective_message.reply_text("\n".join(lines))


async def results_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/results P7: counts, turnout, breakdowns, then the chart (and CSV for the secretariat)."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    async with rt.db.session() as session:
        member, poll, problem = await _named_poll(session, update, context, "polls.usage_results")
        if poll is None:
            await message.reply_text(problem or "")
            return
        language = member.language
        results = await poll_results(session=session, poll=poll)
        communities = await communities_by_id(session)
        text = results_text(poll, results, language, rt.settings, communities=communities)
        await record_audit(
            session=session,
            action="poll.results",
            actor_member_id=member.id,
            actor_label=f"telegram:{member.telegram_id}",
            target=poll.code,
        )
    for chunk in _chunks(text):
        await message.reply_text(chunk)
    png, _ = render_chart(chart_data(poll, results, language))
    buttons = []
    if allowed(member, Access.SECRETARIAT):
        buttons = [[[t("polls.csv_button", language), f"px:{poll.id}"]]]
        if poll.is_open:
            buttons.append([[t("polls.close_button", language), f"pc:{poll.id}:ask"]])
    await message.reply_photo(
        png,
        caption=f"{poll.code} · {poll.question}"[:1000],
        filename=f"{poll.code}.png",
        reply_markup=keyboard({"buttons": buttons}),
    )


async def closepoll_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    async with rt.db.session() as session:
        member, poll, problem = await _named_poll(session, update, context, "polls.usage_closepoll")
        if poll is None:
            await message.reply_text(problem or "")
            return
        text, buttons = await _close_question(session, poll, member.language)
    await message.reply_text(text, reply_markup=keyboard({"buttons": buttons}))


async def _close_question(
    session: AsyncSession, poll: Poll, language: str
) -> tuple[str, list[list[list[str]]]]:
    if not poll.is_open:
        return t("polls.already_closed", language, code=poll.code), []
    results = await poll_results(session=session, poll=poll)
    text = t(
        "polls.close_confirm",
        language,
        code=poll.code,
        voters=results.voters,
        audience=results.audience,
    )
    return text, [
        [
            [t("polls.close_yes", language), f"pc:{poll.id}:y"],
            [t("polls.close_no", language), f"pc:{poll.id}:n"],
        ]
    ]


async def on_close_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The confirmation of /closepoll (and the "close now" button under /results)."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    _, poll_ref, answer = query.data.split(":")
    target = query.message if isinstance(query.message, Message) else None
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=query.from_user.id)
        if member is None or not member.is_admin:
            await _refuse(session, member, query.from_user.id, f"closepoll P{poll_ref}")
            await query.answer(t("core.not_allowed", member.language if member else "ka"))
            return
        language = member.language
        poll = await get_poll(session=session, poll_id=int(poll_ref))
        if poll is None:
            await query.answer(t("polls.err_unknown", language, code=f"P{poll_ref}"))
            return
        if answer == "ask":
            text, buttons = await _close_question(session, poll, language)
            await query.answer()
            if target is not None:
                await target.reply_text(text, reply_markup=keyboard({"buttons": buttons}))
            return
        if answer == "n":
            text = t("polls.close_kept", language, code=poll.code)
        else:
            closed = await close_and_announce(
                rt,
                session,
                int(poll_ref),
                closed_by=f"member:{member.id}",
                actor_member_id=member.id,
                now=utcnow(),
            )
            key = "polls.closed_now" if closed else "polls.already_closed"
            text = t(key, language, code=poll.code)
    await query.answer()
    if target is not None:
        await query.edit_message_text(text)
    rt.delivery.wake()
    poke(rt, int(poll_ref))


async def _refuse(
    session: AsyncSession, member: Member | None, telegram_id: int, target: str
) -> None:
    await record_audit(
        session=session,
        action="access.refused",
        actor_member_id=member.id if member else None,
        actor_label=f"telegram:{telegram_id}",
        target=target,
    )


async def _send_csv(
    rt: Runtime, session: AsyncSession, member: Member, poll: Poll
) -> tuple[str, bytes]:
    communities = await communities_by_id(session)
    filename, content = await export_csv(session, poll, member.language, rt.settings, communities)
    await record_audit(
        session=session,
        action="poll.export",
        actor_member_id=member.id,
        actor_label=f"telegram:{member.telegram_id}",
        target=poll.code,
        details={"file": filename},
    )
    return filename, content.encode("utf-8")


async def pollcsv_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    async with rt.db.session() as session:
        member, poll, problem = await _named_poll(session, update, context, "polls.usage_pollcsv")
        if poll is None:
            await message.reply_text(problem or "")
            return
        filename, content = await _send_csv(rt, session, member, poll)
        caption = _csv_caption(poll, member.language)
    await message.reply_document(content, filename=filename, caption=caption)


def _csv_caption(poll: Poll, language: str) -> str:
    key = "polls.csv_totals_caption" if poll.anonymous else "polls.csv_votes_caption"
    return t(key, language, code=poll.code)


async def on_csv_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    poll_id = int(query.data.split(":")[1])
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=query.from_user.id)
        poll = await get_poll(session=session, poll_id=poll_id)
        if member is None or not member.is_admin or poll is None:
            await _refuse(session, member, query.from_user.id, f"pollcsv P{poll_id}")
            await query.answer(t("core.not_allowed", member.language if member else "ka"))
            return
        filename, content = await _send_csv(rt, session, member, poll)
        caption = _csv_caption(poll, member.language)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.reply_document(content, filename=filename, caption=caption)


def setup(rt: Runtime) -> None:
    setup_create(rt)
    add_command(rt, "polls", polls_command, description_key="polls.cmd_polls", access=Access.BOARD)
    add_command(
        rt, "results", results_command, description_key="polls.cmd_results", access=Access.BOARD
    )
    add_command(
        rt,
        "closepoll",
        closepoll_command,
        description_key="polls.cmd_closepoll",
        access=Access.SECRETARIAT,
    )
    add_command(
        rt,
        "pollcsv",
        pollcsv_command,
        description_key="polls.cmd_pollcsv",
        access=Access.SECRETARIAT,
    )
    rt.add_telegram_handler(
        CallbackQueryHandler(on_close_button, pattern=r"^pc:\d{1,9}:(y|n|ask)$")
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_csv_button, pattern=r"^px:\d{1,9}$"))
    setup_voting(rt)

    async def close_hook(poll_id: int, *, actor_member_id: int | None, actor_label: str) -> bool:
        """For other front ends (the dashboard): close now, with results and ballot edits."""
        async with rt.db.session() as session:
            closed = await close_and_announce(
                rt,
                session,
                poll_id,
                closed_by=actor_label,
                actor_member_id=actor_member_id,
                now=utcnow(),
            )
        rt.delivery.wake()
        poke(rt, poll_id)
        return closed is not None

    rt.hooks["polls.close"] = close_hook
    if rt.scheduler is not None:
        rt.scheduler.register(PollReminders(rt))
        rt.scheduler.register(PollClosing(rt))
        rt.scheduler.add_digest_section(digest_section(rt))
