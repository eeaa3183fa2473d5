"""Poll results: counts, turnout, breakdowns with small groups suppressed, and closing a poll.

Suppression: in each breakdown (community, sector, youth, gender) a group with fewer than
`MIN_GROUP` voters is hidden ("small"). Because the totals are public, one hidden group
could be worked out by subtracting the visible groups from the totals; so while the hidden
groups together hold fewer than `MIN_GROUP` voters, the smallest visible group is hidden
too ("complement"). The hidden groups are then shown together only when they hold at
least `MIN_GROUP` voters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.base import utcnow
from models.outbox import OutboxMessage, OutStatus
from models.polls import Poll, PollBallot, PollStatus, recipient_ids
from models.polls_voting import ballots, secure_delete_on, touch_ballots, voters_among

MIN_GROUP = 5
DIMENSIONS: tuple[str, ...] = ("community", "sector", "youth", "gender")
UNKNOWN = "unknown"
BALLOT_KINDS = ("poll_ballot", "poll_reminder")


class BallotLike(Protocol):
    @property
    def choices(self) -> list[int]: ...
    @property
    def community_id(self) -> int | None: ...
    @property
    def sector(self) -> str | None: ...
    @property
    def youth(self) -> bool | None: ...
    @property
    def gender(self) -> str | None: ...


@dataclass
class GroupRow:
    group: str  # a community id, a sector, "youth" / "adult", a gender, or "unknown"
    voters: int | None = None  # None when hidden
    counts: list[int] | None = None
    hidden: str | None = None  # "small" | "complement"


@dataclass
class PollResults:
    voters: int
    audience: int
    counts: list[int]
    breakdowns: dict[str, list[GroupRow]] = field(default_factory=dict)
    others: dict[str, GroupRow] = field(default_factory=dict)  # hidden groups, together

    def percent(self, count: int) -> int:
        """Share of voters (multiple choice: of voters who chose it), rounded."""
        return round(100 * count / self.voters) if self.voters else 0

    @property
    def turnout(self) -> int:
        return round(100 * self.voters / self.audience) if self.audience else 0

    def to_json(self) -> dict[str, Any]:
        def row(r: GroupRow) -> dict[str, Any]:
            return {"group": r.group, "voters": r.voters, "counts": r.counts, "hidden": r.hidden}

        return {
            "voters": self.voters,
            "audience": self.audience,
            "counts": self.counts,
            "breakdowns": {d: [row(r) for r in rows] for d, rows in self.breakdowns.items()},
            "others": {d: row(r) for d, r in self.others.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PollResults:
        return cls(
            voters=int(data["voters"]),
            audience=int(data["audience"]),
            counts=[int(c) for c in data["counts"]],
            breakdowns={d: [GroupRow(**r) for r in rows] for d, rows in data["breakdowns"].items()},
            others={d: GroupRow(**r) for d, r in data.get("others", {}).items()},
        )


def group_of(ballot: BallotLike, dimension: str) -> str:
    if dimension == "community":
        return str(ballot.community_id) if ballot.community_id is not None else UNKNOWN
    if dimension == "youth":
        return UNKNOWN if ballot.youth is None else ("youth" if ballot.youth else "adult")
    value = ballot.sector if dimension == "sector" else ballot.gender
    return value or UNKNOWN


def suppress(
    groups: dict[str, list[int]], voters: dict[str, int]
) -> tuple[list[GroupRow], GroupRow | None]:
    """Hide small groups and, when needed, the next smallest (see the module docstring)."""
    hidden = {g: "small" for g, n in voters.items() if n < MIN_GROUP}
    hidden_total = sum(voters[g] for g in hidden)
    while 0 < hidden_total < MIN_GROUP:
        visible = sorted((n, g) for g, n in voters.items() if g not in hidden)
        if not visible:
            break
        n, g = visible[0]
        hidden[g] = "complement"
        hidden_total += n
    rows = [
        GroupRow(g, hidden=hidden[g])
        if g in hidden
        else GroupRow(g, voters=voters[g], counts=list(groups[g]))
        for g in sorted(voters)
    ]
    other = None
    if hidden and hidden_total >= MIN_GROUP:
        summed = [
            sum(groups[g][i] for g in hidden) for i in range(len(next(iter(groups.values()))))
        ]
        other = GroupRow("other", voters=hidden_total, counts=summed)
    return rows, other


def tally(options: int, audience: int, ballots: Sequence[BallotLike]) -> PollResults:
    counts = [0] * options
    for ballot in ballots:
        for choice in ballot.choices:
            if 1 <= choice <= options:
                counts[choice - 1] += 1
    results = PollResults(voters=len(ballots), audience=audience, counts=counts)
    for dimension in DIMENSIONS:
        groups: dict[str, list[int]] = {}
        voters: dict[str, int] = {}
        for ballot in ballots:
            key = group_of(ballot, dimension)
            row = groups.setdefault(key, [0] * options)
            voters[key] = voters.get(key, 0) + 1
            for choice in ballot.choices:
                if 1 <= choice <= options:
                    row[choice - 1] += 1
        rows, other = suppress(groups, voters)
        results.breakdowns[dimension] = rows
        if other is not None:
            results.others[dimension] = other
    return results


async def poll_results(*, session: AsyncSession, poll: Poll) -> PollResults:
    """Frozen results of a closed poll; live ones (from the ballots) of an open poll."""
    if poll.final_results is not None:
        return PollResults.from_json(poll.final_results)
    assert poll.id is not None
    return tally(
        len(poll.options), poll.audience_size, await ballots(session=session, poll_id=poll.id)
    )


@dataclass(frozen=True)
class ClosedPoll:
    poll: Poll
    results: PollResults
    voter_ids: list[int]  # who voted (needed for "results to voters"), learnt before the key goes


async def close_poll(
    *,
    session: AsyncSession,
    poll_id: int,
    closed_by: str,
    app_secret: str,
    now: datetime | None = None,
) -> ClosedPoll | None:
    """Close an open poll (idempotent: None when it was closed already).

    Freezes the results, forgets who chose what for anonymous polls (deletes the ballots,
    destroys the salt, blanks SMS confirmations), cancels ballots and reminders not sent
    yet, and marks every Telegram ballot for its "closed" edit.
    """
    now = now or utcnow()
    locked = await session.execute(select(Poll).where(Poll.id == poll_id).with_for_update())
    poll = locked.scalars().first()
    if poll is None or poll.status != PollStatus.OPEN:
        return None
    members = await recipient_ids(session=session, poll_id=poll_id)
    voter_ids = sorted(
        await voters_among(session=session, poll=poll, member_ids=members, app_secret=app_secret)
    )
    results = tally(
        len(poll.options), poll.audience_size, await ballots(session=session, poll_id=poll_id)
    )
    poll.final_results = results.to_json()
    poll.status, poll.closed_at, poll.closed_by = PollStatus.CLOSED, now, closed_by
    await _cancel_queued(
        session,
        col(OutboxMessage.kind).in_(BALLOT_KINDS),
        col(OutboxMessage.dedupe_key).like(f"poll:{poll_id}:m:%"),
        now=now,
    )
    if poll.anonymous:
        ack = col(OutboxMessage.kind) == f"poll_ack:{poll_id}"
        await _cancel_queued(session, ack, now=now)
        await session.execute(
            update(OutboxMessage)
            .where(ack)
            .values(text="·")
            .execution_options(synchronize_session=False)
        )
        await secure_delete_on(session)
        await session.execute(delete(PollBallot).where(col(PollBallot.poll_id) == poll_id))
        poll.ballot_salt = None
    session.add(poll)
    await session.flush()
    await touch_ballots(session=session, poll=poll, member_id=None)
    return ClosedPoll(poll, results, voter_ids)


async def _cancel_queued(session: AsyncSession, *conditions: Any, now: datetime) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == OutStatus.QUEUED, *conditions)
        .values(status=OutStatus.CANCELLED, final_at=now)
        .execution_options(synchronize_session=False)
    )


async def due_to_close(*, session: AsyncSession, now: datetime) -> list[int]:
    result = await session.execute(
        select(Poll.id).where(Poll.status == PollStatus.OPEN, col(Poll.closes_at) <= now)
    )
    return [int(i) for i in result.scalars() if i is not None]
