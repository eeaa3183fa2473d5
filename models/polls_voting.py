"""Voting in a poll: the ballot key (the anonymity scheme described in models.polls), casting,
changing and withdrawing a vote under the poll-row lock, marking Telegram ballots stale, reading
the ballots for the count (models.polls_results), and a member's named votes for /mydata.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.audiences import is_youth
from models.base import utcnow
from models.members import Member
from models.polls import Poll, PollBallot, PollError, PollRecipient, PollStatus, is_recipient
from models.privacy import iso, register_exporter


# -- voter keys -----------------------------------------------------------------------------
def voter_key(poll: Poll, member_id: int, app_secret: str) -> str:
    """The ballot key: the member id for named polls, an HMAC for anonymous ones."""
    if not poll.anonymous:
        return f"m{member_id}"
    if poll.ballot_salt is None:
        raise PollError("closed")  # the key was destroyed at close
    poll_key = hmac.new(
        app_secret.encode(), b"lagbot-poll:" + poll.ballot_salt.encode(), hashlib.sha256
    ).digest()
    return hmac.new(poll_key, str(member_id).encode(), hashlib.sha256).hexdigest()


async def current_choices(
    *, session: AsyncSession, poll: Poll, member_id: int, app_secret: str
) -> list[int]:
    if not poll.is_open:
        return []
    assert poll.id is not None
    ballot = await session.get(PollBallot, (poll.id, voter_key(poll, member_id, app_secret)))
    return list(ballot.choices) if ballot else []


async def voters_among(
    *, session: AsyncSession, poll: Poll, member_ids: list[int], app_secret: str
) -> set[int]:
    """Which of these members have a ballot (only while open for anonymous polls)."""
    keys = {voter_key(poll, member_id, app_secret): member_id for member_id in member_ids}
    if not keys:
        return set()
    found = await session.execute(
        select(PollBallot.voter_key).where(
            PollBallot.poll_id == poll.id, col(PollBallot.voter_key).in_(list(keys))
        )
    )
    return {keys[key] for key in found.scalars()}


# -- voting ---------------------------------------------------------------------------------
class VoteOutcome(enum.StrEnum):
    RECORDED = "recorded"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class VoteResult:
    outcome: VoteOutcome
    choices: list[int]


def check_choices(poll: Poll, choices: list[int]) -> list[int]:
    """1-based option numbers, de-duplicated and sorted; PollError when not acceptable."""
    unique = sorted(set(choices))
    if not unique:
        raise PollError("empty")
    if any(not 1 <= n <= len(poll.options) for n in unique):
        raise PollError("bad_option")
    if len(unique) > 1 and not poll.multiple:
        raise PollError("one_only")
    return unique


async def lock_poll(session: AsyncSession, poll_id: int) -> str:
    """Take the poll row for this transaction (see `_votable`); returns its status."""
    status = await session.execute(select(Poll.status).where(Poll.id == poll_id).with_for_update())
    return str(status.scalar_one())


async def _votable(
    session: AsyncSession, poll: Poll, member: Member, now: datetime
) -> tuple[int, int]:
    assert poll.id is not None and member.id is not None
    # Every write to a poll's ballots takes the poll row first (PostgreSQL; SQLite serializes
    # writers anyway): two quick presses of one member cannot both insert, a close waits for
    # a vote in progress (or the vote sees the poll closed), and the one lock order leaves
    # no room for deadlocks. A hundred voters never notice the queue.
    if await lock_poll(session, poll.id) != PollStatus.OPEN or not poll.accepts_votes(now):
        raise PollError("closed")
    if not await is_recipient(session=session, poll_id=poll.id, member_id=member.id):
        raise PollError("not_recipient")
    return poll.id, member.id


async def cast_vote(
    *,
    session: AsyncSession,
    poll: Poll,
    member: Member,
    choices: list[int],
    channel: str,
    app_secret: str,
    youth_ages: tuple[int, int],
    now: datetime | None = None,
) -> VoteResult:
    """Record `choices` as this member's whole vote (replacing any earlier one)."""
    now = now or utcnow()
    poll_id, member_id = await _votable(session, poll, member, now)
    chosen = check_choices(poll, choices)
    key = voter_key(poll, member_id, app_secret)
    ballot = await session.get(PollBallot, (poll_id, key))
    if ballot is not None and list(ballot.choices) == chosen:
        return VoteResult(VoteOutcome.UNCHANGED, chosen)
    outcome = VoteOutcome.RECORDED if ballot is None else VoteOutcome.CHANGED
    ballot = ballot or PollBallot(poll_id=poll_id, voter_key=key)
    ballot.choices = chosen
    ballot.community_id, ballot.sector, ballot.gender = (
        member.community_id,
        member.sector,
        member.gender,
    )
    ballot.youth = (
        None
        if member.birth_year is None
        else is_youth(member, year=now.year, min_age=youth_ages[0], max_age=youth_ages[1])
    )
    if not poll.anonymous:
        ballot.member_id, ballot.channel, ballot.voted_at = member_id, channel, now
    session.add(ballot)
    await session.flush()
    await touch_ballots(session=session, poll=poll, member_id=member_id)
    return VoteResult(outcome, chosen)


async def withdraw_vote(
    *,
    session: AsyncSession,
    poll: Poll,
    member: Member,
    app_secret: str,
    now: datetime | None = None,
) -> VoteResult:
    """Remove this member's vote; PollError("not_voted") when there was none."""
    now = now or utcnow()
    poll_id, member_id = await _votable(session, poll, member, now)
    ballot = await session.get(PollBallot, (poll_id, voter_key(poll, member_id, app_secret)))
    if ballot is None:
        raise PollError("not_voted")
    await session.delete(ballot)
    await session.flush()
    await touch_ballots(session=session, poll=poll, member_id=member_id)
    return VoteResult(VoteOutcome.WITHDRAWN, [])


async def touch_ballots(*, session: AsyncSession, poll: Poll, member_id: int | None) -> None:
    """Mark Telegram ballots stale: everyone's when totals are shown live, else the voter's."""
    query = update(PollRecipient).where(col(PollRecipient.poll_id) == poll.id)
    if member_id is not None and not (poll.results_live and poll.is_open):
        query = query.where(col(PollRecipient.member_id) == member_id)
    await session.execute(
        query.values(ballot_rev=PollRecipient.ballot_rev + 1).execution_options(
            synchronize_session=False
        )
    )


async def stale_ballot_polls(*, session: AsyncSession) -> list[int]:
    """Polls with a Telegram ballot showing less than it should (see handlers.polls_ballots)."""
    result = await session.execute(
        select(PollRecipient.poll_id)
        .where(col(PollRecipient.ballot_rev) > col(PollRecipient.ballot_shown_rev))
        .distinct()
    )
    return [int(i) for i in result.scalars()]


async def ballots(*, session: AsyncSession, poll_id: int) -> list[PollBallot]:
    result = await session.execute(
        select(PollBallot).where(PollBallot.poll_id == poll_id).order_by(col(PollBallot.voter_key))
    )
    return list(result.scalars())


async def secure_delete_on(session: AsyncSession) -> None:
    """SQLite: overwrite deleted content instead of leaving it in free pages."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        await session.execute(text("PRAGMA secure_delete=ON"))


async def export_votes(session: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    """/mydata: the member's votes in named polls (anonymous ballots carry no member)."""
    rows = (
        await session.execute(
            select(PollBallot, Poll)
            .join(Poll, col(Poll.id) == col(PollBallot.poll_id))
            .where(col(PollBallot.member_id) == member_id)
            .order_by(col(PollBallot.poll_id))
        )
    ).all()
    return [
        {
            "poll": poll.code,
            "question": poll.question,
            "choices": [
                poll.options[i] if 0 <= i < len(poll.options) else i for i in ballot.choices
            ],
            "channel": ballot.channel,
            "voted_at": iso(ballot.voted_at),
        }
        for ballot, poll in rows
    ]


register_exporter("poll_votes", export_votes, label_key="members.mydata_poll_votes")
