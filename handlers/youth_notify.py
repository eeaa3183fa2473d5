"""Youth initiatives: the actions both channels share, and who is told what (through the outbox).

- a sign-up or withdrawal → the lead at once; a promotion from the reserve list → the promoted
  and the lead
- a proposal → the secretariat (with review buttons); the review → the proposer
- an announcement → youth, through the broadcast engine, in each member's language, with a
  sign-up button on Telegram (the same `yi:s:<id>` as /initiatives) and SIGNUP Y<n> in SMS
- a start or finish (the lead or the secretariat) → the lead and the team
- a change of team size, dates, ... (models.youth_changes) → whoever the larger team promotes
  from the reserve list, and the lead (who joined, as for a sign-up); new dates → the lead and
  the team
- simulated members (the dashboard's simulator) tell nobody real: no lead notice for their
  sign-up, no proposal card to the secretariat
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGES, t
from bot.outbound import Button, Outgoing, queue_for_member
from bot.runtime import Runtime
from bot.settings import Settings
from handlers._members_common import secretariat
from models import seats
from models.audiences import Audience
from models.audit import record_audit
from models.broadcasts import Broadcast, publish_broadcast
from models.communities import Community
from models.members import Member
from models.outbox import Priority
from models.youth import (
    MAX_TEAM,
    SEAT_KIND,
    Initiative,
    YouthRefused,
    finish_initiative,
    start_initiative,
)
from models.youth_changes import InitiativeUpdate, update_initiative
from models.youth_signups import Band, SignupOutcome, sign_up, withdraw


def refusal(exc: YouthRefused, language: str, code: str) -> str:
    """The localized refusal, statuses named in the reader's language."""
    values = {
        k: t(f"youth.status_{v}", language) if k in ("status", "to") else v
        for k, v in exc.values.items()
    }
    return t(exc.key, language, code=code, max=MAX_TEAM, **values)


def band_of(settings: Settings) -> Band:
    return Band(settings.youth_min_age, settings.youth_max_age)


def local_date(moment: datetime, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%d.%m.%Y")


async def where_of(session: AsyncSession, initiative: Initiative, language: str) -> str:
    if initiative.community_id is None:
        return t("youth.whole_municipality", language)
    community = await session.get(Community, initiative.community_id)
    return community.name(language) if community else "—"


async def _tell(
    rt: Runtime, session: AsyncSession, member: Member, text: str, **kw: object
) -> None:
    buttons = kw.get("buttons")
    await queue_for_member(
        session=session,
        settings=rt.settings,
        member=member,
        message=Outgoing(text=text, buttons=buttons if isinstance(buttons, list) else []),
        kind="notice",
        priority=Priority.NOTICE,
    )


async def _tell_lead(
    rt: Runtime,
    session: AsyncSession,
    initiative: Initiative,
    member: Member,
    key: str,
    left: int = 0,
) -> None:
    if initiative.lead_member_id is None or initiative.lead_member_id == member.id:
        return
    if member.is_simulated:  # the simulator's test person: the real lead is not bothered
        return
    lead = await session.get(Member, initiative.lead_member_id)
    if lead is None or not lead.is_active:
        return
    language = lead.language
    text = t(
        key,
        language,
        name=member.name or "—",
        village=member.village or "—",
        title=initiative.title_in(language),
        code=initiative.code,
        left=left,
        target=initiative.target_size,
    )
    await _tell(rt, session, lead, text)


async def signup_and_notify(
    rt: Runtime,
    session: AsyncSession,
    initiative: Initiative,
    member: Member,
    *,
    channel: str,
    now: datetime,
    why: str = "",
    skills: list[str] | None = None,
) -> SignupOutcome:
    """Sign up (or join the reserve list) and tell the lead at once."""
    outcome = await sign_up(
        session=session,
        initiative=initiative,
        member=member,
        band=band_of(rt.settings),
        now=now,
        channel=channel,
        why=why,
        skills=skills,
    )
    if outcome.changed:
        key = "youth.lead_signup" if outcome.status == "seated" else "youth.lead_reserve"
        await _tell_lead(rt, session, initiative, member, key, outcome.spots_left)
    return outcome


async def withdraw_and_notify(
    rt: Runtime,
    session: AsyncSession,
    initiative: Initiative,
    member: Member,
    *,
    channel: str,
    now: datetime,
) -> SignupOutcome:
    """Withdraw; the lead is told, and whoever the reserve list promotes is told too."""
    outcome = await withdraw(
        session=session, initiative=initiative, member=member, now=now, channel=channel
    )
    left = outcome.spots_left
    await _tell_lead(rt, session, initiative, member, "youth.lead_withdrawal", left)
    await _tell_promoted(rt, session, initiative, outcome.promoted)
    return outcome


def review_buttons(initiative: Initiative, language: str) -> list[list[Button]]:
    assert initiative.id is not None
    return [
        [Button(t("youth.btn_approve", language), f"yr:a:{initiative.id}")],
        [Button(t("youth.btn_changes", language), f"yr:c:{initiative.id}")],
        [Button(t("youth.btn_decline", language), f"yr:d:{initiative.id}")],
    ]


async def proposal_card(
    rt: Runtime, session: AsyncSession, initiative: Initiative, language: str
) -> str:
    from models.youth import skill_label

    proposer = (
        await session.get(Member, initiative.proposer_member_id)
        if initiative.proposer_member_id
        else None
    )
    skills = ", ".join(skill_label(s, language) for s in initiative.skills)
    if initiative.skills_other:
        skills = f"{skills}, {initiative.skills_other}" if skills else initiative.skills_other
    return t(
        "youth.proposal_card",
        language,
        code=initiative.code,
        title=initiative.title_in(language),
        description=initiative.description_in(language) or "—",
        proposer=(proposer.name if proposer else None) or "—",
        where=await where_of(session, initiative, language),
        target=initiative.target_size,
        skills=skills or "—",
        deadline=local_date(initiative.signup_deadline, rt.settings),
        starts=local_date(initiative.starts_at, rt.settings),
        helpers=t("youth.yes" if initiative.allows_non_youth else "youth.no", language),
    )


async def proposal_to_secretariat(
    rt: Runtime, session: AsyncSession, initiative: Initiative
) -> int:
    """The proposal card with review buttons to every secretariat member; a proposal by a
    simulated member (the dashboard's simulator) reaches nobody real."""
    count = 0
    proposer = (
        await session.get(Member, initiative.proposer_member_id)
        if initiative.proposer_member_id
        else None
    )
    if proposer is not None and proposer.is_simulated:
        return 0
    for admin in await secretariat(session=session):
        language = admin.language
        text = t("youth.new_proposal", language) + "\n\n"
        text += await proposal_card(rt, session, initiative, language)
        await _tell(rt, session, admin, text, buttons=review_buttons(initiative, language))
        count += 1
    return count


async def tell_proposer(rt: Runtime, session: AsyncSession, initiative: Initiative) -> None:
    """The review outcome, in the proposer's language."""
    if initiative.proposer_member_id is None:
        return
    proposer = await session.get(Member, initiative.proposer_member_id)
    if proposer is None:
        return
    key = {
        "approved": "youth.outcome_approved",
        "changes": "youth.outcome_changes",
        "declined": "youth.outcome_declined",
    }[initiative.review]
    language = proposer.language
    text = t(
        key,
        language,
        title=initiative.title_in(language),
        code=initiative.code,
        note=initiative.review_note,
    )
    await _tell(rt, session, proposer, text)


async def announce_initiative(
    rt: Runtime, session: AsyncSession, initiative: Initiative, actor: Member, now: datetime
) -> Broadcast:
    """A broadcast to youth (of the initiative's community, if it has one), each in their
    language, through the broadcast engine (progress, quiet hours, stop lines)."""
    texts: dict[str, str] = {}
    for language in LANGUAGES:
        texts[language] = t(
            "youth.announcement",
            language,
            title=initiative.title_in(language),
            description=initiative.description_in(language),
            where=await where_of(session, initiative, language),
            target=initiative.target_size,
            deadline=local_date(initiative.signup_deadline, rt.settings),
            code=initiative.code,
        )
    audience = Audience(
        youth=True,
        communities=[initiative.community_id] if initiative.community_id else [],
    )
    assert initiative.id is not None
    # The one-button sign-up on Telegram (as in /initiatives), labelled in each reader's
    # language; the SMS version names SIGNUP Y<n> in its text instead.
    buttons = {
        language: [[Button(t("youth.btn_signup", language), f"yi:s:{initiative.id}")]]
        for language in LANGUAGES
    }
    broadcast = await publish_broadcast(
        session=session,
        settings=rt.settings,
        texts=texts,
        audience=audience,
        urgent=False,
        created_by=actor.id,
        now=now,
        buttons=buttons,
    )
    initiative.announced_at = now
    session.add(initiative)
    await record_audit(
        session=session,
        action="youth.announced",
        actor_member_id=actor.id,
        actor_label=f"member:{actor.id}",
        target=f"youth:{initiative.id}",
        details={"broadcast": broadcast.id, "recipients": broadcast.recipients},
    )
    return broadcast


async def lead_and_team(session: AsyncSession, initiative: Initiative) -> list[tuple[Member, bool]]:
    """(member, is_lead): the lead first, then the seated team (the reserve list is not)."""
    assert initiative.id is not None
    people: list[tuple[Member, bool]] = []
    seen: set[int] = set()
    if initiative.lead_member_id is not None:
        lead = await session.get(Member, initiative.lead_member_id)
        if lead is not None and lead.is_active and lead.id is not None:
            people.append((lead, True))
            seen.add(lead.id)
    for seat in await seats.seats_in(
        session=session, kind=SEAT_KIND, item_id=initiative.id, status=seats.SeatStatus.SEATED
    ):
        member = await session.get(Member, seat.member_id)
        if member is not None and member.is_active and seat.member_id not in seen:
            people.append((member, False))
    return people


async def _tell_team(
    rt: Runtime, session: AsyncSession, initiative: Initiative, key: str, actor: Member
) -> int:
    told = 0
    for member, _is_lead in await lead_and_team(session, initiative):
        if member.id == actor.id:
            continue
        language = member.language
        text = t(key, language, title=initiative.title_in(language), code=initiative.code)
        await _tell(rt, session, member, text)
        told += 1
    return told


async def start_and_notify(
    rt: Runtime, session: AsyncSession, initiative: Initiative, actor: Member, now: datetime
) -> int:
    """open | full → running; the lead and the team are told. Returns how many were told."""
    await start_initiative(session=session, initiative=initiative, actor=actor, now=now)
    return await _tell_team(rt, session, initiative, "youth.started_notice", actor)


async def finish_and_notify(
    rt: Runtime, session: AsyncSession, initiative: Initiative, actor: Member, now: datetime
) -> int:
    """running → finished; the lead and the team are told (with thanks)."""
    await finish_initiative(session=session, initiative=initiative, actor=actor, now=now)
    return await _tell_team(rt, session, initiative, "youth.finished_notice", actor)


async def _tell_promoted(
    rt: Runtime, session: AsyncSession, initiative: Initiative, member_ids: list[int]
) -> None:
    """Each promoted member is told, and the lead is told who joined (name, village)."""
    for member_id in member_ids:
        promoted = await session.get(Member, member_id)
        if promoted is None:
            continue
        language = promoted.language
        text = t(
            "youth.promoted", language, title=initiative.title_in(language), code=initiative.code
        )
        await _tell(rt, session, promoted, text)
        await _tell_lead(rt, session, initiative, promoted, "youth.lead_promoted")


async def update_and_notify(
    rt: Runtime,
    session: AsyncSession,
    initiative: Initiative,
    actor: Member | None,
    now: datetime,
    **changes: Any,
) -> InitiativeUpdate:
    """models.youth_changes.update_initiative, then: whoever a larger team promotes from the
    reserve list is told, and so is the lead (who joined, as after a withdrawal), and new dates
    go to the lead and the team."""
    update = await update_initiative(
        session=session, initiative=initiative, actor=actor, now=now, **changes
    )
    await _tell_promoted(rt, session, initiative, update.promoted)
    if update.dates_changed:
        for member, _is_lead in await lead_and_team(session, initiative):
            if actor is not None and member.id == actor.id:
                continue
            language = member.language
            text = t(
                "youth.dates_changed_notice",
                language,
                title=initiative.title_in(language),
                code=initiative.code,
                deadline=local_date(initiative.signup_deadline, rt.settings),
                starts=local_date(initiative.starts_at, rt.settings),
            )
            await _tell(rt, session, member, text)
    return update


def holiday_notes(initiative: Initiative, update: InitiativeUpdate, language: str,
                  settings: Settings) -> list[str]:  # fmt: skip
    """The scheduler's holiday warning for each changed date that falls on a holiday."""
    from models.holidays import holiday_warning

    notes: list[str] = []
    for name in ("signup_deadline", "starts_at"):
        if name in update.changed:
            moment: datetime = getattr(initiative, name)
            warning = holiday_warning(moment.astimezone(settings.tz), language, settings)
            if warning:
                notes.append(warning)
    return notes
