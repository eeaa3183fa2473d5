"""Keeping Telegram ballots current: ✓ marks after SMS votes, live totals, "closed" at close.

What a ballot should show is versioned in the database (`PollRecipient.ballot_rev`, bumped
by votes and by the close); `ballot_shown_rev` is what was last edited in. A poke schedules
one pass over the stale ballots of a poll a moment later, and at most one pass per poll every
`spacing` seconds (so a burst of votes with live totals costs one edit per ballot, not one
per vote); the edits go through the bot's shared rate limiter, behind members' replies.
The scheduler tick pokes again for anything left stale, so a restart or a Telegram error
never leaves a ballot wrong for long.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass

from sqlmodel import col, select, update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.runtime import Runtime
from bot.senders import keyboard
from handlers.polls_render import ballot_message, edited_ballot, shows_results_at_close
from models.members import Member
from models.outbox import OutboxMessage, OutStatus
from models.polls import Poll, PollRecipient
from models.polls_results import PollResults, poll_results
from models.polls_voting import current_choices

log = logging.getLogger(__name__)
IN_FLIGHT = (OutStatus.QUEUED, OutStatus.SENDING)


@dataclass(frozen=True)
class Edit:
    member_id: int
    chat_id: int
    message_id: int
    text: str
    markup: dict[str, object]


class BallotRefresher:
    delay = 1.5  # seconds to gather a burst of votes into one pass
    spacing = 15.0  # at least this long between two passes over one poll (live totals)

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._pending: set[int] = set()
        self._last_pass: dict[int, float] = {}

    def poke(self, poll_id: int) -> None:
        app = self.rt.telegram_app
        if app is None or not app.running or poll_id in self._pending:
            return
        self._pending.add(poll_id)
        app.create_task(self._later(poll_id), name=f"poll-ballots-{poll_id}")

    async def _later(self, poll_id: int) -> None:
        app = self.rt.telegram_app
        loop = asyncio.get_running_loop()
        last = self._last_pass.get(poll_id)
        start_at = loop.time() + self.delay
        if last is not None:
            start_at = max(start_at, last + self.spacing)
        try:
            while loop.time() < start_at:
                if app is None or not app.running:
                    return  # shutting down: the ballots stay stale until the next start
                await asyncio.sleep(0.05)
            self._pending.discard(poll_id)  # votes from now on need another pass
            self._last_pass[poll_id] = loop.time()
            await self.flush(poll_id)
        finally:
            self._pending.discard(poll_id)

    async def flush(self, poll_id: int) -> int:
        """Edit every stale ballot of this poll now; returns how many edits were made."""
        bot = self.rt.telegram_bot
        if bot is None:
            return 0
        edits, done = await self._plan(poll_id)
        made = 0
        failed: set[int] = set()
        for index, edit in enumerate(edits):
            try:
                await bot.edit_message_text(
                    edit.text,
                    chat_id=edit.chat_id,
                    message_id=edit.message_id,
                    reply_markup=keyboard(edit.markup),
                )
                made += 1
            except RetryAfter:
                failed.update(e.member_id for e in edits[index:])  # the next pass does these
                break
            except BadRequest:
                continue  # not modified, or deleted by the member: nothing more to do
            except Forbidden:
                continue  # the member blocked the bot: nothing to edit
            except (TimedOut, NetworkError) as exc:
                log.info("ballot edit for poll %s failed (%s); retried later", poll_id, exc)
                failed.add(edit.member_id)
        async with self.rt.db.session() as session:
            # The poll row first, as votes and the close take it (models.polls_voting._votable).
            await session.execute(select(Poll.id).where(Poll.id == poll_id).with_for_update())
            for member_id, rev in done.items():
                if member_id in failed:
                    continue
                await session.execute(
                    update(PollRecipient)
                    .where(
                        col(PollRecipient.poll_id) == poll_id,
                        col(PollRecipient.member_id) == member_id,
                        col(PollRecipient.ballot_shown_rev) < rev,
                    )
                    .values(ballot_shown_rev=rev)
                )
        return made

    async def _plan(self, poll_id: int) -> tuple[list[Edit], dict[int, int]]:
        """The edits to make, and the revision each member's ballots will show after them."""
        edits: list[Edit] = []
        done: dict[int, int] = {}
        secret = self.rt.settings.secret_key
        async with self.rt.db.session() as session:
            poll = await session.get(Poll, poll_id)
            if poll is None:
                return [], {}
            stale = (
                await session.execute(
                    select(PollRecipient, Member)
                    .join(Member, col(Member.id) == col(PollRecipient.member_id))
                    .where(
                        PollRecipient.poll_id == poll_id,
                        col(PollRecipient.ballot_rev) > col(PollRecipient.ballot_shown_rev),
                    )
                )
            ).all()
            if not stale:
                return [], {}
            messages: dict[int, list[OutboxMessage]] = {}
            rows = await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.channel == "telegram",
                    col(OutboxMessage.kind).in_(("poll_ballot", "poll_reminder")),
                    col(OutboxMessage.dedupe_key).like(f"poll:{poll_id}:m:%"),
                )
            )
            for row in rows.scalars():
                messages.setdefault(row.member_id or 0, []).append(row)
            results: PollResults | None = None
            if (poll.is_open and poll.results_live) or (
                not poll.is_open and shows_results_at_close(poll)
            ):
                results = await poll_results(session=session, poll=poll)
            for recipient, member in stale:
                mine = messages.get(recipient.member_id, [])
                if any(m.status in IN_FLIGHT for m in mine):
                    continue  # not sent yet: its id is unknown; a later pass edits it
                chosen = (
                    await current_choices(
                        session=session, poll=poll, member_id=recipient.member_id, app_secret=secret
                    )
                    if poll.is_open
                    else []
                )
                for row in mine:
                    if not row.provider_message_id or row.status not in (
                        OutStatus.SENT,
                        OutStatus.DELIVERED,
                    ):
                        continue
                    message = ballot_message(
                        poll,
                        member.language,
                        self.rt.settings,
                        chosen=chosen,
                        results=results,
                        reminder=row.kind == "poll_reminder" and poll.is_open,
                    )
                    edits.append(
                        Edit(
                            recipient.member_id,
                            int(row.address),
                            int(row.provider_message_id),
                            edited_ballot(message, member.language),
                            message.telegram_payload(),
                        )
                    )
                done[recipient.member_id] = recipient.ballot_rev
        return edits, done


_refreshers: weakref.WeakKeyDictionary[Runtime, BallotRefresher] = weakref.WeakKeyDictionary()


def refresher_of(rt: Runtime) -> BallotRefresher:
    refresher = _refreshers.get(rt)
    if refresher is None:
        refresher = _refreshers[rt] = BallotRefresher(rt)
    return refresher


def poke(rt: Runtime, poll_id: int) -> None:
    refresher_of(rt).poke(poll_id)
