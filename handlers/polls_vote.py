"""Voting: Telegram ballot buttons; by SMS `P7 2`, `P7 1,3`, `P7 0`, `P7 კი`, a bare `2` or `კი`."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import sms_body
from bot.roles import Access, _language_of, add_command
from bot.runtime import Runtime, runtime_of
from bot.senders import keyboard
from bot.sms.context import SmsRequest
from bot.sms.grammar import clean, parse_numbers
from bot.sms.router import Handler
from handlers.polls_ballots import poke
from handlers.polls_render import (
    ballot_message,
    choices_text,
    edited_ballot,
    error_text,
    sms_ballot,
    sms_results,
    vote_text,
    when,
)
from handlers.polls_words import poll_option_for_word, polls_named
from models.base import utcnow
from models.event_queries import open_invites
from models.members import Member, member_by_telegram
from models.outbox import Priority, enqueue
from models.polls import Poll, PollError, get_poll, open_polls_for_member
from models.polls_results import poll_results
from models.polls_voting import VoteResult, cast_vote, current_choices, lock_poll, withdraw_vote

log = logging.getLogger(__name__)


async def apply_vote(
    rt: Runtime,
    session: AsyncSession,
    poll: Poll,
    member: Member,
    numbers: list[int],
    *,
    channel: str,
    now: datetime,
) -> VoteResult:
    """`[0]` withdraws; anything else is the member's whole new vote."""
    secret = rt.settings.secret_key
    if numbers == [0]:
        return await withdraw_vote(
            session=session, poll=poll, member=member, app_secret=secret, now=now
        )
    if 0 in numbers:
        raise PollError("bad_option")
    return await cast_vote(
        session=session,
        poll=poll,
        member=member,
        choices=numbers,
        channel=channel,
        app_secret=secret,
        youth_ages=(rt.settings.youth_min_age, rt.settings.youth_max_age),
        now=now,
    )


# -- Telegram -------------------------------------------------------------------------------
async def on_ballot_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A ballot button: toggle (multiple choice) or choose (single), or withdraw."""
    rt = runtime_of(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    _, poll_ref, action = query.data.split(":")
    now = utcnow()
    toast: str
    new_text: str | None = None
    markup: dict[str, object] = {}
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        poll = await get_poll(session=session, poll_id=int(poll_ref))
        if member is None or not member.is_active:
            toast = t(
                "core.not_registered", member.language if member else _language_of(update, rt)
            )
        elif poll is None:
            toast = t("polls.err_unknown", member.language, code=f"P{poll_ref}")
        else:
            language = member.language
            show: bool
            try:
                numbers = [0] if action == "w" else [int(action)]
                if poll.multiple and action != "w":
                    await lock_poll(session, int(poll_ref))  # read-modify-write: no lost toggle
                    mine = await current_choices(
                        session=session,
                        poll=poll,
                        member_id=member.id or 0,
                        app_secret=rt.settings.secret_key,
                    )
                    toggled = set(mine) ^ {int(action)}
                    numbers = sorted(toggled) if toggled else [0]
                result = await apply_vote(
                    rt, session, poll, member, numbers, channel="telegram", now=now
                )
                toast = vote_text(poll, result.outcome, result.choices, language)
                chosen, show = result.choices, True
            except PollError as error:
                toast = error_text(error, poll, language, poll.code)
                chosen, show = [], not poll.is_open  # a stale ballot of a closed poll
            if show:
                results = (
                    await poll_results(session=session, poll=poll)
                    if poll.results_live or not poll.is_open
                    else None
                )
                message = ballot_message(
                    poll, language, rt.settings, chosen=chosen, results=results
                )
                new_text = edited_ballot(message, language)
                markup = message.telegram_payload()
    await query.answer(toast[:200])
    if new_text is not None:
        # BadRequest: not modified (the same vote again), or the message is gone.
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(new_text, reply_markup=keyboard(markup))
    if poll is not None and poll.id is not None:
        poke(rt, poll.id)  # the member's other ballot messages, and live totals


async def vote_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/vote: the ballots of every poll open for this member, again (a lost ballot, a new phone)."""
    rt = runtime_of(context)
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    ballots: list[tuple[str, dict[str, object]]] = []
    async with rt.db.session() as session:
        member = await member_by_telegram(session=session, telegram_id=user.id)
        assert member is not None and member.id is not None  # add_command checked
        language = member.language
        for poll in await open_polls_for_member(session=session, member_id=member.id, now=utcnow()):
            mine = await current_choices(
                session=session, poll=poll, member_id=member.id, app_secret=rt.settings.secret_key
            )
            results = await poll_results(session=session, poll=poll) if poll.results_live else None
            shown = ballot_message(poll, language, rt.settings, chosen=mine, results=results)
            ballots.append((shown.text, shown.telegram_payload()))
    if not ballots:
        await message.reply_text(t("polls.vote_none", language))
    for text, payload in ballots:
        await message.reply_text(text, reply_markup=keyboard(payload))


# -- SMS ------------------------------------------------------------------------------------
async def reply_about_poll(request: SmsRequest, poll: Poll | None, text: str) -> None:
    """Answer like request.reply, but as `poll_ack:<id>` so an anonymous poll can blank it."""
    if poll is None or poll.id is None:
        await request.reply(text)
        return
    row = await enqueue(
        session=request.session,
        channel="sms",
        provider=request.sms.provider,
        address=request.phone,
        text=sms_body(request.member, text, script=request.script),
        member_id=request.member.id if request.member else None,
        kind=f"poll_ack:{poll.id}",
        priority=Priority.REPLY,
    )
    request.replies.append(row)


async def sms_vote(request: SmsRequest, poll_id: int, text: str) -> None:
    """The SMS vote path shared by `P7 …` and a bare number."""
    member, language = request.member, request.language
    code = f"P{poll_id}"
    if member is None:
        await request.reply(request.t("sms.unknown_newcomer"))
        return
    poll = await get_poll(session=request.session, poll_id=poll_id)
    if poll is None:
        await request.reply(t("polls.err_unknown", language, code=code))
        return
    if poll.anonymous and request.inbound is not None:
        request.inbound.text = f"{code} ···"  # the numbers are never stored
    now = utcnow()
    numbers = parse_numbers(clean(text)) if text.strip() else None
    if not text.strip():
        await reply_about_poll(request, poll, await sms_ballot_now(request, poll, now))
        return
    if numbers is None:
        option = poll_option_for_word(poll, text)  # `P7 კი`: the option's word, any version
        numbers = [option] if option is not None else None
    if numbers is None:
        reason = "bad_numbers" if poll.accepts_votes(now) else "closed"
        await reply_about_poll(request, poll, error_text(PollError(reason), poll, language, code))
        return
    try:
        result = await apply_vote(
            request.rt, request.session, poll, member, numbers, channel="sms", now=now
        )
    except PollError as error:
        await reply_about_poll(request, poll, error_text(error, poll, language, code))
        return
    answer = vote_text(poll, result.outcome, result.choices, language)
    if result.outcome != "withdrawn":
        answer += " " + t(
            "polls.sms_change_hint",
            language,
            code=code,
            when=when(poll.closes_at, language, request.rt.settings),
        )
    await reply_about_poll(request, poll, answer)
    poke(request.rt, poll_id)


async def sms_ballot_now(request: SmsRequest, poll: Poll, now: datetime) -> str:
    """`P7` alone: the ballot again, with the member's current vote."""
    language = request.language
    if not poll.accepts_votes(now):
        return error_text(PollError("closed"), poll, language, poll.code)
    assert request.member is not None and request.member.id is not None
    mine = await current_choices(
        session=request.session,
        poll=poll,
        member_id=request.member.id,
        app_secret=request.rt.settings.secret_key,
    )
    text = sms_ballot(poll, language, request.rt.settings)
    if poll.results_live:
        results = await poll_results(session=request.session, poll=poll)
        text += " " + sms_results(poll, results, language)
    if mine:
        text += " " + t("polls.sms_your_vote", language, choices=choices_text(poll, mine, language))
    return text


async def on_sms_code(request: SmsRequest) -> None:
    """`P7 2`, `P7 1,3`, `P7 1 3`, `P7 0`, or `P7` alone."""
    assert request.code is not None
    await sms_vote(request, int(request.code[1:]), " ".join(request.args))


async def ask_which_poll(request: SmsRequest, polls: list[Poll], typed: str) -> None:
    """Several open polls could take this answer: which one? (`P7 2`, `P7 კი`)"""
    codes = ", ".join(poll.code for poll in polls)
    example = f"{polls[0].code} {typed}"
    await request.reply(request.t("polls.sms_which_poll", codes=codes, example=example))


async def resolve_bare_number(request: SmsRequest) -> Handler | None:
    """A plain `2` is a vote when exactly one poll is open for this member and no step waits;
    with several open, we ask which (as for a word: `P7 2`)."""
    if request.member is None or request.member.id is None or request.dialog is not None:
        return None
    numbers = parse_numbers(clean(request.text))
    if numbers is None:
        return None
    polls = await open_polls_for_member(
        session=request.session, member_id=request.member.id, now=utcnow()
    )
    if not polls or polls[0].id is None:
        return None
    poll_id, text = polls[0].id, clean(request.text)

    async def vote(req: SmsRequest) -> None:
        if len(polls) > 1:
            await ask_which_poll(req, polls, text)
        else:
            await sms_vote(req, poll_id, text)

    return vote


async def resolve_bare_word(request: SmsRequest) -> Handler | None:
    """A lone `კი` is a vote when exactly one open poll of this member has exactly one option
    it names (and no step waits); several such polls: we ask which; none open but one closed
    lately: we say it is closed. Otherwise not ours (an RSVP, a number, the fallback)."""
    member = request.member
    words = clean(request.text).split()
    if member is None or member.id is None or request.dialog is not None or len(words) != 1:
        return None
    if parse_numbers(words[0]) is not None:
        return None  # resolve_bare_number's
    open_, closed = await polls_named(request)
    if not open_ and not closed:
        return None
    if not open_ and await open_invites(session=request.session, member=member, now=utcnow()):
        return None  # a late answer to a closed poll, or an RSVP: the open invitation's
    word = words[0]

    async def handle(req: SmsRequest) -> None:
        if len(open_) == 1:
            poll, _ = open_[0]
            assert poll.id is not None
            await sms_vote(req, poll.id, word)
        elif open_:
            await ask_which_poll(req, [poll for poll, _ in open_], word)
        else:
            poll = closed[-1]
            closed_text = error_text(PollError("closed"), poll, req.language, poll.code)
            await reply_about_poll(req, poll, closed_text)

    return handle


async def resolve_bare_answer(request: SmsRequest) -> Handler | None:
    """A bare `2` or a bare `კი` (the router's precedence 5)."""
    return await resolve_bare_number(request) or await resolve_bare_word(request)


async def which_hint(request: SmsRequest) -> str | None:
    """When an open invitation claims the lone word too: how to send it to the poll."""
    if request.member is None or request.member.id is None:
        return None
    open_, _ = await polls_named(request)
    if not open_:
        return None
    word = clean(request.text)
    example = " / ".join(f"{poll.code} {word}" for poll, _ in open_)
    return request.t("polls.sms_which_word", example=example)


def setup_voting(rt: Runtime) -> None:
    add_command(rt, "vote", vote_command, description_key="polls.cmd_vote", access=Access.MEMBER)
    rt.add_telegram_handler(
        CallbackQueryHandler(on_ballot_press, pattern=r"^pv:\d{1,9}:(\d{1,2}|w)$")
    )
    rt.sms_router.code_prefix("p", on_sms_code)
    rt.sms_router.bare("polls", resolve_bare_answer, which=which_hint)
    rt.sms_help_keys.append("polls.sms_help")
    rt.sms_help_details["code:p"] = "polls.sms_help_vote"
