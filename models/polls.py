"""Quick polls: one question, 2–10 options, one changeable vote per member on either channel.

This module holds the tables (poll, recipients, ballots), creating a poll (the draft's checks,
its az / ru / en versions, the electorate) and finding polls. Voting — ballot keys, casting,
changing and withdrawing a vote, stale Telegram ballots, /mydata — is in models.polls_voting;
counting and closing in models.polls_results.

Status::

    (draft in a /newpoll Dialog) --send--> open --closes_at (scheduler) or /closepoll--> closed

While open, a member in the poll's audience (fixed at send: `PollRecipient`) votes by an
inline button or by SMS (`P7 2`); a new vote replaces the old one, a withdrawal removes it.
At close the results are frozen into `Poll.final_results` (counts, turnout, breakdowns
with small groups suppressed, see models.polls_results).

Anonymous polls — threat model
------------------------------
Goal: after close, nobody — the secretariat, a database administrator, someone holding a
database dump or backup — can tell who chose what; while open, one changeable vote per
member still works and the results can still be broken down by group.

* A ballot is keyed by `HMAC(poll key, member id)`, never by the member id. The poll key is
  `HMAC(app secret, per-poll random salt)`: a database dump alone, taken while the poll is
  open, cannot link ballots to members without the application secret (settings.secret_key).
* Beside the choice the ballot keeps only the voter's groups (community, sector, youth,
  gender) — no channel, no timestamp, no autoincrement id (the key is `(poll_id,
  voter_key)`), so row order and times cannot be matched against the message logs.
* At close: the per-dimension tallies are computed with small groups suppressed and stored
  on the poll; the ballot rows are deleted (so no combination of groups can single anyone
  out) and the salt is destroyed, so the key cannot be recomputed by anyone.
* The traces a vote leaves elsewhere are scrubbed: the inbound SMS is stored as `P7 ···`
  (never the numbers), SMS confirmations (outbox kind `poll_ack:<id>`) are blanked at close,
  votes are never audited or logged, Telegram button presses are not stored.

Not protected against: someone holding both the database and the application secret while
the poll is open (they can recompute keys — as the bot itself must, to let a member change
their vote); the carrier's and Twilio's own logs of SMS text; someone who watches live
totals at the moment a known person votes (choose "hide results until close" for
sensitive questions); freed database pages until SQLite overwrites them (secure_delete is
switched on for the close) or PostgreSQL vacuums them. Who voted (not what) is known while
open — reminders go only to non-voters — and is forgotten at close, except that results
sent to voters leave outbox rows.
"""

from __future__ import annotations

import base64
import enum
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.i18n import DEFAULT_LANGUAGE, pick_content
from models.audiences import Audience, select_members
from models.base import UTCDateTime, utcnow
from models.members import Member

MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_QUESTION, MAX_OPTION = 300, 100
TRANSLATIONS = ("az", "ru", "en")  # optional versions beside the Georgian one
MIN_DURATION, MAX_DURATION = timedelta(minutes=10), timedelta(weeks=8)
SHORT_POLL = timedelta(hours=48)  # shorter polls get their reminder halfway
REMINDER_BEFORE = timedelta(hours=24)


class PollStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Poll(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=PollStatus.OPEN, max_length=10, index=True)
    question: str = Field(max_length=MAX_QUESTION)
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    multiple: bool = False
    anonymous: bool = False
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    results_live: bool = False  # members see the totals on their ballot before close
    results_to_voters: bool = False  # everyone who voted gets the results at close
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime, index=True)
    reminder_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=40)  # "scheduler" | "member:3"
    audience_size: int = 0
    ballot_salt: str | None = Field(default=None, max_length=64)  # anonymous, until close
    final_results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Optional az / ru / en versions beside the Georgian `question` / `options` (same count and
    # order of options); NULL for polls made before versions existed.
    question_versions: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    option_versions: dict[str, list[str]] | None = Field(default=None, sa_column=Column(JSON))

    @property
    def code(self) -> str:
        return f"P{self.id}" if self.id is not None else "P?"  # "P?": a draft being previewed

    @property
    def is_open(self) -> bool:
        return self.status == PollStatus.OPEN

    def accepts_votes(self, now: datetime) -> bool:
        return self.is_open and now < self.closes_at

    def versions(self) -> dict[str, tuple[str, list[str]]]:
        """Every language the poll is written in: {"ka": (question, options), "az": ...}."""
        found = {DEFAULT_LANGUAGE: (self.question, list(self.options))}
        questions, options = self.question_versions or {}, self.option_versions or {}
        for language, question in questions.items():
            texts = options.get(language)
            if question and texts and len(texts) == len(self.options):
                found[language] = (question, list(texts))
        return found

    def version(self, language: str) -> tuple[str, list[str]]:
        """(question, options) for a member: their language, else the fallback chain
        (az → ru → ka, ru → ka, en → ka: bot.i18n.pick_content)."""
        versions = self.versions()
        chosen, _ = pick_content({code: q for code, (q, _) in versions.items()}, language)
        return versions.get(chosen, versions[DEFAULT_LANGUAGE])


class PollRecipient(SQLModel, table=True):
    """Who the poll was sent to (its electorate), and whether their Telegram ballot is stale."""

    __tablename__ = "poll_recipient"

    poll_id: int = Field(foreign_key="poll.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True, index=True)
    ballot_rev: int = 0  # bumped when what the ballot should show changes
    ballot_shown_rev: int = 0  # the revision last edited into the Telegram ballot


class PollBallot(SQLModel, table=True):
    """One voter's current choice. Anonymous: keyed by an HMAC, no member, channel or time."""

    __tablename__ = "poll_ballot"

    poll_id: int = Field(foreign_key="poll.id", primary_key=True)
    voter_key: str = Field(max_length=64, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")  # named polls only
    choices: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    community_id: int | None = None
    sector: str | None = Field(default=None, max_length=10)
    youth: bool | None = None
    gender: str | None = Field(default=None, max_length=10)
    channel: str | None = Field(default=None, max_length=20)  # named polls only
    voted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # named polls only


# -- errors ---------------------------------------------------------------------------------
class PollError(Exception):
    """A vote or a poll that cannot be accepted; `reason` picks the localized answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PollInvalid(PollError):
    """A draft that cannot be sent (too few options, closing time out of range, ...)."""


# -- creating -------------------------------------------------------------------------------
def check_draft(*, question: str, options: list[str], closes_at: datetime, now: datetime) -> None:
    if not question.strip() or len(question) > MAX_QUESTION:
        raise PollInvalid("question")
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise PollInvalid("options_count")
    if any(not o.strip() or len(o) > MAX_OPTION for o in options):
        raise PollInvalid("option_length")
    if len({o.strip().casefold() for o in options}) != len(options):
        raise PollInvalid("option_duplicate")
    if not MIN_DURATION <= closes_at - now <= MAX_DURATION:
        raise PollInvalid("closing")


def check_versions(
    versions: dict[str, tuple[str, list[str]]], options: list[str]
) -> dict[str, tuple[str, list[str]]]:
    """The az / ru / en versions, stripped: each a question and as many options, in the same
    order, as the Georgian one (PollInvalid "version" otherwise); empty versions are dropped."""
    clean: dict[str, tuple[str, list[str]]] = {}
    for language, (question, texts) in versions.items():
        texts = [o.strip() for o in texts if o.strip()]
        if not question.strip() and not texts:
            continue
        if language not in TRANSLATIONS or not question.strip() or len(question) > MAX_QUESTION:
            raise PollInvalid("version")
        if len(texts) != len(options) or any(len(o) > MAX_OPTION for o in texts):
            raise PollInvalid("version")
        if len({o.casefold() for o in texts}) != len(texts):
            raise PollInvalid("version")
        clean[language] = (question.strip(), texts)
    return clean


def reminder_time(opened_at: datetime, closes_at: datetime) -> datetime:
    """24 hours before close, or halfway for polls shorter than two days."""
    if closes_at - opened_at < SHORT_POLL:
        return opened_at + (closes_at - opened_at) / 2
    return closes_at - REMINDER_BEFORE


async def open_poll(
    *,
    session: AsyncSession,
    question: str,
    options: list[str],
    multiple: bool,
    anonymous: bool,
    audience: Audience,
    closes_at: datetime,
    results_live: bool,
    results_to_voters: bool,
    created_by: int | None,
    youth_ages: tuple[int, int],
    now: datetime | None = None,
    versions: dict[str, tuple[str, list[str]]] | None = None,
) -> tuple[Poll, list[Member]]:
    """Create an open poll and fix its electorate; returns the poll and its recipients.
    `versions`: optional az / ru / en (question, options) beside the Georgian ones."""
    now = now or utcnow()
    options = [o.strip() for o in options]
    check_draft(question=question, options=options, closes_at=closes_at, now=now)
    translated = check_versions(versions or {}, options)
    members = await select_members(
        session=session,
        audience=audience,
        now=now,
        youth_min=youth_ages[0],
        youth_max=youth_ages[1],
    )
    poll = Poll(
        question=question.strip(),
        options=options,
        multiple=multiple,
        anonymous=anonymous,
        audience=audience.to_json(),
        results_live=results_live,
        results_to_voters=results_to_voters,
        created_by=created_by,
        opened_at=now,
        closes_at=closes_at,
        reminder_at=reminder_time(now, closes_at),
        audience_size=len(members),
        ballot_salt=base64.b64encode(secrets.token_bytes(32)).decode() if anonymous else None,
        question_versions={code: q for code, (q, _) in translated.items()} or None,
        option_versions={code: o for code, (_, o) in translated.items()} or None,
    )
    session.add(poll)
    await session.flush()
    assert poll.id is not None
    for member in members:
        assert member.id is not None
        session.add(PollRecipient(poll_id=poll.id, member_id=member.id))
    await session.flush()
    return poll, members


# -- finding --------------------------------------------------------------------------------
def parse_poll_code(text: str) -> int | None:
    """`P7`, `p7`, `7` → 7."""
    value = text.strip().upper().removeprefix("P")
    return int(value) if value.isdigit() and len(value) <= 9 else None


async def get_poll(*, session: AsyncSession, poll_id: int) -> Poll | None:
    return await session.get(Poll, poll_id)


async def is_recipient(*, session: AsyncSession, poll_id: int, member_id: int) -> bool:
    found = await session.get(PollRecipient, (poll_id, member_id))
    return found is not None


async def open_polls_for_member(
    *, session: AsyncSession, member_id: int, now: datetime
) -> list[Poll]:
    query = (
        select(Poll)
        .join(PollRecipient, col(PollRecipient.poll_id) == col(Poll.id))
        .where(
            PollRecipient.member_id == member_id,
            Poll.status == PollStatus.OPEN,
            col(Poll.closes_at) > now,
        )
        .order_by(col(Poll.id))
    )
    return list((await session.execute(query)).scalars())


async def recent_polls_for_member(
    *, session: AsyncSession, member_id: int, since: datetime
) -> list[Poll]:
    """The polls sent to this member that are open or closed after `since` (oldest first):
    what a late answer by SMS may still be about."""
    query = (
        select(Poll)
        .join(PollRecipient, col(PollRecipient.poll_id) == col(Poll.id))
        .where(
            PollRecipient.member_id == member_id,
            or_(
                col(Poll.status) == PollStatus.OPEN,
                col(Poll.closed_at) > since,
                col(Poll.closes_at) > since,
            ),
        )
        .order_by(col(Poll.id))
    )
    return list((await session.execute(query)).scalars())


async def list_polls(*, session: AsyncSession, limit: int = 15) -> list[Poll]:
    query = select(Poll).order_by(col(Poll.status).desc(), col(Poll.id).desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def recipient_ids(*, session: AsyncSession, poll_id: int) -> list[int]:
    result = await session.execute(
        select(PollRecipient.member_id)
        .where(PollRecipient.poll_id == poll_id)
        .order_by(col(PollRecipient.member_id))
    )
    return list(result.scalars())
