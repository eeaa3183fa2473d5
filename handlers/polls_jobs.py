"""A poll's clock: the ballots at send, one reminder to non-voters, the close and its results.

Both scheduler providers are computed from the poll rows, so moving nothing by hand is ever
needed: `polls.reminder` lists, at `reminder_at`, every recipient without a ballot (each
key goes once); `polls.close` closes polls whose time has come — in the tick's transaction,
with the results queued in that same transaction (see close_and_announce) — and re-pokes
Telegram ballots left stale.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import DEFAULT_LANGUAGE, t
from bot.outbound import Outgoing, queue_for_member
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.polls_ballots import refresher_of
from handlers.polls_render import (
    ballot_message,
    results_lines,
    results_text,
    sms_results,
    turnout_line,
    when,
)
from models.audit import record_audit
from models.communities import Community, list_communities
from models.members import Member, MemberStatus, Role
from models.outbox import Priority
from models.polls import Poll, PollStatus, open_polls_for_member, recipient_ids
from models.polls_results import ClosedPoll, PollResults, close_poll, due_to_close, poll_results
from models.polls_voting import stale_ballot_polls, voters_among
from scheduler.digest import DigestSection
from scheduler.providers import DueItem

MAX_NOTICE = 3800  # Telegram takes 4096 characters, with room for the hint


def ballot_key(poll_id: int, member_id: int, what: str) -> str:
    return f"poll:{poll_id}:m:{member_id}:{what}"


async def communities_by_id(session: AsyncSession) -> dict[int, Community]:
    return {c.id: c for c in await list_communities(session=session) if c.id is not None}


async def queue_ballots(
    rt: Runtime, session: AsyncSession, poll: Poll, members: list[Member], now: datetime
) -> dict[str, int]:
    """One ballot per recipient through the outbox; returns counts per channel."""
    assert poll.id is not None
    results = await poll_results(session=session, poll=poll) if poll.results_live else None
    counts = {"telegram": 0, "sms": 0, "none": 0}
    for member in members:
        assert member.id is not None
        rows = await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=ballot_message(poll, member.language, rt.settings, results=results),
            kind="poll_ballot",
            priority=Priority.BULK,
            now=now,
            dedupe_key=ballot_key(poll.id, member.id, "ballot"),
        )
        for row in rows:
            counts[row.channel] += 1
        if not rows:
            counts["none"] += 1
    return counts


async def secretariat(session: AsyncSession) -> list[Member]:
    result = await session.execute(
        select(Member)
        .where(Member.role == Role.SECRETARIAT, Member.status == MemberStatus.ACTIVE)
        .order_by(col(Member.id))
    )
    return list(result.scalars())


def staff_notice(
    poll: Poll,
    results: PollResults,
    language: str,
    settings: Settings,
    communities: dict[int, Community],
) -> Outgoing:
    text = results_text(poll, results, language, settings, communities=communities)
    if len(text) > MAX_NOTICE:  # one Telegram message: the breakdowns stay in /results
        text = results_text(
            poll, results, language, settings, communities=communities, breakdowns=False
        )
    text += "\n\n" + t("polls.results_more", language, code=poll.code)
    sms = sms_results(poll, results, language, content=DEFAULT_LANGUAGE)  # as the staff wrote it
    return Outgoing(text=text, sms_text=sms)


def voter_notice(poll: Poll, results: PollResults, language: str) -> Outgoing:
    """The results for a voter, in their version of the poll."""
    lines = [
        t(
            "polls.results_notice_head",
            language,
            code=poll.code,
            question=poll.version(language)[0],
        ),
        "",
        turnout_line(results, language),
        *results_lines(poll, results, language),
    ]
    return Outgoing(text="\n".join(lines), sms_text=sms_results(poll, results, language))


async def close_and_announce(
    rt: Runtime,
    session: AsyncSession,
    poll_id: int,
    *,
    closed_by: str,
    actor_member_id: int | None = None,
    now: datetime,
) -> ClosedPoll | None:
    """Close the poll and queue its results, in the caller's transaction (None: was closed)."""
    closed = await close_poll(
        session=session,
        poll_id=poll_id,
        closed_by=closed_by,
        app_secret=rt.settings.secret_key,
        now=now,
    )
    if closed is None:
        return None
    poll, results = closed.poll, closed.results
    communities = await communities_by_id(session)
    staff = await secretariat(session)
    notified: set[int] = set()
    for member in staff:
        assert member.id is not None
        await queue_for_member(
            session=session,
            settings=rt.settings,
            member=member,
            message=staff_notice(poll, results, member.language, rt.settings, communities),
            kind="poll_results",
            priority=Priority.NOTICE,
            now=now,
            dedupe_key=ballot_key(poll_id, member.id, "results"),
        )
        notified.add(member.id)
    if poll.results_to_voters:
        for member_id in closed.voter_ids:
            voter = await session.get(Member, member_id)
            if member_id in notified or voter is None:
                continue
            await queue_for_member(
                session=session,
                settings=rt.settings,
                member=voter,
                message=voter_notice(poll, results, voter.language),
                kind="poll_results",
                priority=Priority.BULK,
                now=now,
                dedupe_key=ballot_key(poll_id, member_id, "results"),
            )
    await record_audit(
        session=session,
        action="poll.close",
        actor_member_id=actor_member_id,
        actor_label=closed_by,
        target=poll.code,
        details={"voters": results.voters, "audience": results.audience},
    )
    return closed


def digest_section(rt: Runtime) -> DigestSection:
    """The weekly digest: the polls open for this member, and whether they have voted."""

    async def lines(
        session: AsyncSession, member: Member, week_start: datetime, week_end: datetime
    ) -> list[str]:
        if member.id is None:
            return []
        found: list[str] = []
        for poll in await open_polls_for_member(
            session=session, member_id=member.id, now=week_start
        ):
            voted = await voters_among(
                session=session,
                poll=poll,
                member_ids=[member.id],
                app_secret=rt.settings.secret_key,
            )
            question = poll.version(member.language)[0]
            question = question if len(question) <= 80 else question[:79] + "…"
            found.append(
                t(
                    "polls.digest_done" if voted else "polls.digest_todo",
                    member.language,
                    code=poll.code,
                    question=question,
                    when=when(poll.closes_at, member.language, rt.settings),
                )
            )
        return found

    return DigestSection(name="polls", title_key="polls.digest_title", lines=lines, order=30)


class PollReminders:
    """One reminder per recipient who has not voted, at `Poll.reminder_at`."""

    name = "polls.reminder"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def _items(
        self, session: AsyncSession, settings: Settings, *, start: datetime | None, end: datetime
    ) -> list[DueItem]:
        query = select(Poll).where(
            Poll.status == PollStatus.OPEN,
            col(Poll.reminder_at) <= end,
            col(Poll.closes_at) > (start or end),
        )
        if start is not None:
            query = query.where(col(Poll.reminder_at) > start)
        items: list[DueItem] = []
        for poll in (await session.execute(query.order_by(col(Poll.id)))).scalars():
            assert poll.id is not None
            members = await recipient_ids(session=session, poll_id=poll.id)
            voted = await voters_among(
                session=session, poll=poll, member_ids=members, app_secret=settings.secret_key
            )
            waiting = [m for m in members if m not in voted]
            if not waiting:
                continue
            results = await poll_results(session=session, poll=poll) if poll.results_live else None
            found = await session.execute(select(Member).where(col(Member.id).in_(waiting)))
            for member in found.scalars():
                assert member.id is not None
                items.append(
                    DueItem(
                        key=ballot_key(poll.id, member.id, "remind"),
                        member=member,
                        message=ballot_message(
                            poll, member.language, settings, results=results, reminder=True
                        ),
                        due_at=poll.reminder_at,
                        not_after=poll.closes_at,
                        kind="poll_reminder",
                        ref=f"poll:{poll.id}:remind",  # one line in /reminders per poll
                        title=f"{poll.code} · {poll.question}"[:120],
                    )
                )
        return items

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        return await self._items(session, settings, start=None, end=now)

    async def upcoming(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[DueItem]:
        """Reminders that will fall due after `now` and by `until` (to non-voters so far)."""
        return await self._items(session, settings, start=now, end=until)


class PollClosing:
    """Closes polls whose closing time has passed; returns no items (the close queues results).

    Unlike a pure provider, `due` acts: closing is idempotent (the poll row is locked and
    re-checked) and only ever happens after the closing time, so running it from any tick
    or from a /reminders listing changes nothing but *when*, by at most one tick.
    """

    name = "polls.close"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        refresher = refresher_of(self.rt)
        closed = []
        for poll_id in await due_to_close(session=session, now=now):
            if await close_and_announce(self.rt, session, poll_id, closed_by="scheduler", now=now):
                closed.append(poll_id)
        if closed:
            self.rt.delivery.wake()
        for poll_id in {*closed, *await stale_ballot_polls(session=session)}:
            refresher.poke(poll_id)  # runs after this transaction has committed
        return []

    async def upcoming(
        self, *, session: AsyncSession, now: datetime, until: datetime, settings: Settings
    ) -> list[DueItem]:
        return []  # closing sends no message of its own at a fixed time
