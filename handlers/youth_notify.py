"""Youth initiatives: the actions both channels share, and who is told what (through the outbox).

- a sign-up or withdrawal → the lead at once; a promotion from the reserve list → the promoted
- a proposal → the secretariat (with review buttons); the review → the proposer
- an announcement → youth, through the broadcast engine, in each member's language
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGES, t
from bot.outbound import Button, Outgoing, queue_for_member
from bot.runtime import Runtime
from bot.settings import Settings
from handlers._members_common import secretariat
from models.audiences import Audience
from models.audit import record_audit
from models.broadcasts import Broadcast, publish_broadcast
from models.communities import Community
from models.members import Member
from models.outbox import Priority
from models.youth import Initiative
from models.youth_signups import Band, SignupOutcome, sign_up, withdraw


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
    outcome: SignupOutcome,
) -> None:
    if initiative.lead_member_id is None or initiative.lead_member_id == member.id:
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
        left=outcome.spots_left,
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
        await _tell_lead(rt, session, initiative, member, key, outcome)
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
    await _tell_lead(rt, session, initiative, member, "youth.lead_withdrawal", outcome)
    for member_id in outcome.promoted:
        promoted = await session.get(Member, member_id)
        if promoted is None:
            continue
        language = promoted.language
        text = t(
            "youth.promoted", language, title=initiative.title_in(language), code=initiative.code
        )
        await _tell(rt, session, promoted, text)
        await _tell_lead(rt, session, initiative, promoted, "youth.lead_promoted", outcome)
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
    count = 0
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
    broadcast = await publish_broadcast(
        session=session,
        settings=rt.settings,
        texts=texts,
        audience=audience,
        urgent=False,
        created_by=actor.id,
        now=now,
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
