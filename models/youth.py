"""Youth initiatives: what young members (and helpers) can join, and proposals from them.

Status (every change goes through `TRANSITIONS`; anything else is refused with
"youth.refused_transition", which names the current and the asked-for status)::

    proposed ──approve──> open ──team reaches the target──> full
       │  ▲                 ▲                                 │
       │  └─resubmit─┐      └────────a member withdraws───────┘
       │     changes requested (status stays "proposed", review = "changes")
       └──decline (with a reason)──> declined
    open | full ──start (the start date came, or the lead / secretariat)──> running
    running ──finish (the lead / secretariat)──> finished
    declined, finished: final

An initiative created by a young member starts as "proposed" and waits for the secretariat
(approve / ask for changes / decline with a reason); the proposer is told the outcome and
becomes its lead. Sign-ups and the reserve list are the shared seats mechanism (models.seats,
kind "youth"): the target team size is the capacity, further sign-ups wait in line and the
first in line is promoted when someone withdraws. Sign-up rules are in models.youth_signups.

Titles and descriptions are {language: text}: Georgian and optionally az / ru / en (the
proposer's own language, or added later by the lead or the secretariat with
`set_initiative_text`); members read theirs through the content fallback chain
(bot.i18n.pick_content: az → ru → ka, ru → ka, en → ka).
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.i18n import LANGUAGES, pick_content
from models.audit import record_audit
from models.base import UTCDateTime, utcnow
from models.members import Member
from models.privacy import iso, register_exporter

SEAT_KIND = "youth"
SKILLS_FILE = Path(__file__).resolve().parent / "data" / "youth_skills.toml"
CODE_RE = re.compile(r"^[yYуУ](\d{1,7})$")
MAX_TITLE = 120
MAX_DESCRIPTION = 1500
MAX_TEAM = 200


class InitiativeStatus(enum.StrEnum):
    PROPOSED = "proposed"
    OPEN = "open"
    FULL = "full"
    RUNNING = "running"
    FINISHED = "finished"
    DECLINED = "declined"


JOINABLE = (InitiativeStatus.OPEN, InitiativeStatus.FULL)
TRANSITIONS: dict[str, frozenset[str]] = {
    InitiativeStatus.PROPOSED: frozenset({InitiativeStatus.OPEN, InitiativeStatus.DECLINED}),
    InitiativeStatus.OPEN: frozenset({InitiativeStatus.FULL, InitiativeStatus.RUNNING}),
    InitiativeStatus.FULL: frozenset({InitiativeStatus.OPEN, InitiativeStatus.RUNNING}),
    InitiativeStatus.RUNNING: frozenset({InitiativeStatus.FINISHED}),
    InitiativeStatus.FINISHED: frozenset(),
    InitiativeStatus.DECLINED: frozenset(),
}


class Review(enum.StrEnum):
    PENDING = "pending"
    CHANGES = "changes"
    APPROVED = "approved"
    DECLINED = "declined"


class YouthRefused(Exception):
    """A rule said no; `key` is the catalog message that explains it."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values  # extra placeholders (e.g. status / to for refused_transition)


def can_move(status: str, to: str) -> bool:
    return to in TRANSITIONS.get(status, frozenset())


def move(initiative: Initiative, to: str, now: datetime) -> None:
    """Change the status, or refuse a change the status machine does not draw."""
    if not can_move(initiative.status, to):
        raise YouthRefused("youth.refused_transition", status=initiative.status, to=str(to))
    initiative.status, initiative.updated_at = to, now


class Initiative(SQLModel, table=True):
    __tablename__ = "youth_initiative"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=InitiativeStatus.PROPOSED, max_length=10, index=True)
    title: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    community_id: int | None = Field(default=None, foreign_key="community.id")  # None: all
    lead_member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    proposer_member_id: int | None = Field(default=None, foreign_key="member.id")
    target_size: int
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    skills_other: str = Field(default="", max_length=200)
    signup_deadline: datetime = Field(sa_type=UTCDateTime)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    allows_non_youth: bool = False
    review: str = Field(default=Review.PENDING, max_length=10)
    review_note: str = Field(default="", max_length=500)  # changes asked for / decline reason
    reviewed_by: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def code(self) -> str:
        return f"Y{self.id}"

    def title_in(self, language: str) -> str:
        return pick_content(self.title, language)[1]

    def description_in(self, language: str) -> str:
        return pick_content(self.description, language)[1]

    def signup_open(self, now: datetime) -> bool:
        return self.status in JOINABLE and now < self.signup_deadline


@dataclass
class InitiativeDraft:
    """What /propose (or the dashboard) collects; checked by `check_draft`."""

    title: dict[str, str]
    description: dict[str, str]
    target_size: int
    signup_deadline: datetime
    starts_at: datetime
    community_id: int | None = None
    skills: list[str] | None = None
    skills_other: str = ""
    allows_non_youth: bool = False


@lru_cache(maxsize=1)
def skill_catalog() -> dict[str, dict[str, str]]:
    """code → {language: label}, in the data file's order."""
    with SKILLS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return {str(row["code"]): {k: str(v) for k, v in row.items()} for row in data["skill"]}


def skill_label(code: str, language: str) -> str:
    labels = skill_catalog().get(code)
    return (labels.get(language) or labels["ka"]) if labels else code


def initiative_id_from_code(raw: str) -> int | None:
    """`Y4`, `y4`, `У4` (Cyrillic) or a bare `4` → 4."""
    text = raw.strip()
    if text.isdigit():
        return int(text)
    match = CODE_RE.match(text)
    return int(match.group(1)) if match else None


def check_draft(draft: InitiativeDraft, *, now: datetime) -> None:
    """Raise YouthRefused with the reason when a draft cannot become an initiative."""
    if not (draft.title.get("ka") or "").strip() and not any(draft.title.values()):
        raise YouthRefused("youth.refused_no_title")
    if any(len(v) > MAX_TITLE for v in draft.title.values()):
        raise YouthRefused("youth.refused_title_long")
    if any(len(v) > MAX_DESCRIPTION for v in draft.description.values()):
        raise YouthRefused("youth.refused_description_long")
    if not 1 <= draft.target_size <= MAX_TEAM:
        raise YouthRefused("youth.refused_size")
    if draft.signup_deadline <= now:
        raise YouthRefused("youth.refused_deadline_past")
    if draft.starts_at < draft.signup_deadline:
        raise YouthRefused("youth.refused_start_before_deadline")
    unknown = set(draft.skills or []) - set(skill_catalog())
    if unknown:
        raise YouthRefused("youth.refused_skill")


async def get_initiative(*, session: AsyncSession, initiative_id: int) -> Initiative | None:
    return await session.get(Initiative, initiative_id, populate_existing=True)


async def _audit(
    session: AsyncSession, action: str, initiative: Initiative, actor: Member | None, **details: Any
) -> None:
    await record_audit(
        session=session,
        action=action,
        actor_member_id=actor.id if actor else None,
        actor_label=f"member:{actor.id}" if actor else "system",
        target=f"youth:{initiative.id}",
        details=details,
    )


async def propose_initiative(
    *, session: AsyncSession, draft: InitiativeDraft, proposer: Member, now: datetime
) -> Initiative:
    """A member's proposal: waits for the secretariat's review; the proposer will lead it."""
    check_draft(draft, now=now)
    initiative = Initiative(
        status=InitiativeStatus.PROPOSED,
        title={k: v.strip() for k, v in draft.title.items() if v.strip()},
        description={k: v.strip() for k, v in draft.description.items() if v.strip()},
        community_id=draft.community_id,
        lead_member_id=proposer.id,
        proposer_member_id=proposer.id,
        target_size=draft.target_size,
        skills=list(draft.skills or []),
        skills_other=draft.skills_other.strip()[:200],
        signup_deadline=draft.signup_deadline,
        starts_at=draft.starts_at,
        allows_non_youth=draft.allows_non_youth,
        created_at=now,
        updated_at=now,
    )
    session.add(initiative)
    await session.flush()
    await _audit(session, "youth.proposed", initiative, proposer)
    return initiative


async def resubmit_initiative(
    *,
    session: AsyncSession,
    initiative: Initiative,
    draft: InitiativeDraft,
    proposer: Member,
    now: datetime,
) -> Initiative:
    """The proposer's changed version after "ask for changes": back in the review queue."""
    if initiative.proposer_member_id != proposer.id or initiative.review != Review.CHANGES:
        raise YouthRefused("youth.refused_not_resubmittable")
    check_draft(draft, now=now)
    initiative.title = {k: v.strip() for k, v in draft.title.items() if v.strip()}
    initiative.description = {k: v.strip() for k, v in draft.description.items() if v.strip()}
    initiative.community_id = draft.community_id
    initiative.target_size = draft.target_size
    initiative.skills = list(draft.skills or [])
    initiative.skills_other = draft.skills_other.strip()[:200]
    initiative.signup_deadline, initiative.starts_at = draft.signup_deadline, draft.starts_at
    initiative.allows_non_youth = draft.allows_non_youth
    initiative.review, initiative.updated_at = Review.PENDING, now
    session.add(initiative)
    await session.flush()
    await _audit(session, "youth.resubmitted", initiative, proposer)
    return initiative


def _pending(initiative: Initiative) -> None:
    if initiative.status != InitiativeStatus.PROPOSED or initiative.review != Review.PENDING:
        raise YouthRefused("youth.refused_already_reviewed")


async def approve_proposal(
    *, session: AsyncSession, initiative: Initiative, actor: Member, now: datetime
) -> Initiative:
    _pending(initiative)
    if initiative.signup_deadline <= now:
        raise YouthRefused("youth.refused_deadline_past")
    move(initiative, InitiativeStatus.OPEN, now)
    initiative.review = Review.APPROVED
    initiative.reviewed_by, initiative.opened_at = actor.id, now
    session.add(initiative)
    await session.flush()
    from models.seats import ensure_pool

    assert initiative.id is not None
    await ensure_pool(session=session, kind=SEAT_KIND, item_id=initiative.id)
    await _audit(session, "youth.approved", initiative, actor)
    return initiative


async def request_changes(
    *, session: AsyncSession, initiative: Initiative, actor: Member, note: str, now: datetime
) -> Initiative:
    _pending(initiative)
    if not note.strip():
        raise YouthRefused("youth.refused_no_reason")
    initiative.review, initiative.review_note = Review.CHANGES, note.strip()[:500]
    initiative.reviewed_by, initiative.updated_at = actor.id, now
    session.add(initiative)
    await session.flush()
    await _audit(session, "youth.changes_requested", initiative, actor, note=note.strip()[:500])
    return initiative


async def decline_proposal(
    *, session: AsyncSession, initiative: Initiative, actor: Member, reason: str, now: datetime
) -> Initiative:
    _pending(initiative)
    if not reason.strip():
        raise YouthRefused("youth.refused_no_reason")
    move(initiative, InitiativeStatus.DECLINED, now)
    initiative.review = Review.DECLINED
    initiative.review_note, initiative.reviewed_by = reason.strip()[:500], actor.id
    session.add(initiative)
    await session.flush()
    await _audit(session, "youth.declined", initiative, actor, reason=reason.strip()[:500])
    return initiative


async def start_initiative(
    *, session: AsyncSession, initiative: Initiative, actor: Member | None, now: datetime
) -> Initiative:
    """open | full → running (the lead or the secretariat; the start date does it too)."""
    move(initiative, InitiativeStatus.RUNNING, now)
    session.add(initiative)
    await session.flush()
    await _audit(session, "youth.started", initiative, actor)
    return initiative


async def finish_initiative(
    *, session: AsyncSession, initiative: Initiative, actor: Member, now: datetime
) -> Initiative:
    """running → finished (the lead or the secretariat)."""
    move(initiative, InitiativeStatus.FINISHED, now)
    initiative.finished_at = now
    session.add(initiative)
    await session.flush()
    await _audit(session, "youth.finished", initiative, actor)
    return initiative


async def set_initiative_text(
    *,
    session: AsyncSession,
    initiative: Initiative,
    language: str,
    actor: Member,
    now: datetime,
    title: str | None = None,
    description: str | None = None,
) -> Initiative:
    """The title and/or description in one language (ka, az, ru, en); an empty text removes
    that language's version (Georgian's title stays: an initiative needs one title)."""
    if language not in LANGUAGES:
        raise YouthRefused("youth.refused_language")
    if title is not None:
        if len(title.strip()) > MAX_TITLE:
            raise YouthRefused("youth.refused_title_long")
        titles = {**initiative.title, language: title.strip()}
        if not any(titles.values()):
            raise YouthRefused("youth.refused_no_title")
        initiative.title = {k: v for k, v in titles.items() if v}
    if description is not None:
        if len(description.strip()) > MAX_DESCRIPTION:
            raise YouthRefused("youth.refused_description_long")
        texts = {**initiative.description, language: description.strip()}
        initiative.description = {k: v for k, v in texts.items() if v}
    initiative.updated_at = now
    session.add(initiative)
    await session.flush()
    await _audit(
        session,
        "youth.text_edited",
        initiative,
        actor,
        language=language,
        title=title is not None,
        description=description is not None,
    )
    return initiative


async def start_due_initiatives(*, session: AsyncSession, now: datetime) -> list[Initiative]:
    """Open or full initiatives whose start date came: running."""
    query = select(Initiative).where(
        col(Initiative.status).in_(list(JOINABLE)), col(Initiative.starts_at) <= now
    )
    started = list((await session.execute(query)).scalars())
    for initiative in started:
        await start_initiative(session=session, initiative=initiative, actor=None, now=now)
    return started


async def list_initiatives(
    *, session: AsyncSession, statuses: list[str] | None = None
) -> list[Initiative]:
    query = select(Initiative).order_by(col(Initiative.signup_deadline), col(Initiative.id))
    if statuses:
        query = query.where(col(Initiative.status).in_(statuses))
    return list((await session.execute(query)).scalars())


async def pending_proposals(*, session: AsyncSession) -> list[Initiative]:
    query = (
        select(Initiative)
        .where(Initiative.status == InitiativeStatus.PROPOSED, Initiative.review == Review.PENDING)
        .order_by(col(Initiative.id))
    )
    return list((await session.execute(query)).scalars())


def may_see_team(member: Member | None, initiative: Initiative) -> bool:
    """Only the lead and the secretariat see the team's contacts."""
    if member is None or not member.is_active:
        return False
    return member.is_admin or member.id == initiative.lead_member_id


def may_manage(member: Member | None, initiative: Initiative) -> bool:
    """Start, finish, add a translation: the lead and the secretariat."""
    return may_see_team(member, initiative)


async def export_proposals(session: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    """/mydata: initiatives the member proposed or leads."""
    rows = (
        await session.execute(
            select(Initiative)
            .where(
                (col(Initiative.proposer_member_id) == member_id)
                | (col(Initiative.lead_member_id) == member_id)
            )
            .order_by(col(Initiative.id))
        )
    ).scalars()
    return [
        {
            "initiative": initiative.code,
            "title": initiative.title,
            "description": initiative.description,
            "proposed_by_you": initiative.proposer_member_id == member_id,
            "lead": initiative.lead_member_id == member_id,
            "status": initiative.status,
            "review": initiative.review,
            "created_at": iso(initiative.created_at),
        }
        for initiative in rows
    ]


register_exporter("youth_proposals", export_proposals, label_key="members.mydata_youth_proposals")
