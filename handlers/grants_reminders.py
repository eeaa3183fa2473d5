"""Deadline reminders of the grant competition (a scheduler provider), and the grants section of
the weekly digest.

Rules (models.grants_recipients):

- 14, 3 and 1 day before each deadline (the idea / expression-of-interest deadline and the
  full application deadline), with the days left and what to submit.
- The idea deadline (the first one) reaches the call's whole audience who has not registered
  interest (with the "I'm interested" button / `GRANT G3`), and everyone interested whose idea
  has not been received yet.
- The full application deadline reaches shortlisted applicants only: after the idea deadline,
  those not shortlisted (or withdrawn, or whose application is in) hear of no later phase.

Reminders are computed from the call's dates, so moving a deadline moves them (the deadline is
part of each key) and cancelling or closing the call removes them. A reminder whose time came
before the call was published is not sent (the announcement is fresher); one found late (after
downtime) still goes while at most half its lead time late, never after the deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from bot.i18n import t
from bot.outbound import Outgoing
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.grants_render import days_left, interest_button, short
from models.grants import DEADLINES, GrantCall, GrantStatus
from models.grants_applicants import GrantApplicant, applicant_of
from models.grants_recipients import concerns, deadline_recipients
from models.members import Member
from scheduler.digest import DigestSection
from scheduler.providers import DueItem, WindowProvider

ORDER = 60
OFFSETS: tuple[tuple[str, timedelta], ...] = (
    ("14d", timedelta(days=14)),
    ("3d", timedelta(days=3)),
    ("1d", timedelta(days=1)),
)
SHORT = {"idea_deadline": "idea", "full_deadline": "full"}


def reminder_message(
    call: GrantCall,
    deadline: str,
    member: Member,
    applicant: GrantApplicant | None,
    due: datetime,
    settings: Settings,
) -> Outgoing:
    """Days left, the deadline, and what to submit, in the member's language."""
    language, tz = member.language, settings.tz
    moment = call.phase(deadline)
    assert moment is not None
    values = {
        "code": call.code,
        "title": call.title_in(language),
        "left": days_left(moment, due, language, tz),
        "when": short(moment, language, tz),
    }
    buttons = []
    if deadline == "full_deadline":
        text = t("grants.remind_full", language, pct=call.cofinancing_pct, **values)
    elif applicant is None:
        text = t("grants.remind_idea_audience", language, **values)
        buttons = [[interest_button(call, language)]]
    else:
        text = t("grants.remind_idea_applicant", language, **values)
    sms = text
    if call.manual_url:
        text += "\n" + t("grants.card_manual", language, url=call.manual_url)
    return Outgoing(text=text, sms_text=sms, buttons=buttons)


class GrantReminders(WindowProvider):
    name = "grants"
    lookback = timedelta(days=7)

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def items(
        self, *, session: AsyncSession, start: datetime, end: datetime, settings: Settings
    ) -> list[DueItem]:
        ahead = end + max(lead for _, lead in OFFSETS)
        calls = (
            await session.execute(
                select(GrantCall).where(
                    GrantCall.status == GrantStatus.PUBLISHED,
                    or_(
                        col(GrantCall.idea_deadline).between(start, ahead),
                        col(GrantCall.full_deadline).between(start, ahead),
                    ),
                )
            )
        ).scalars()
        found: list[DueItem] = []
        for call in calls:
            for deadline in DEADLINES:
                found += await self._deadline_items(session, call, deadline, start, end, settings)
        return found

    async def _deadline_items(
        self,
        session: AsyncSession,
        call: GrantCall,
        deadline: str,
        start: datetime,
        end: datetime,
        settings: Settings,
    ) -> list[DueItem]:
        moment = call.phase(deadline)
        assert moment is not None
        stamp = moment.strftime("%Y%m%dT%H%M")
        people: list[tuple[Member, GrantApplicant | None]] | None = None
        items: list[DueItem] = []
        for label, lead in OFFSETS:
            due = moment - lead
            if not (start <= due < end):
                continue
            if call.published_at is not None and due < call.published_at:
                continue  # the announcement itself is fresher than this reminder
            if people is None:
                people = await deadline_recipients(
                    session=session, call=call, deadline=deadline, now=due,
                    youth_ages=(settings.youth_min_age, settings.youth_max_age),
                )  # fmt: skip
            ref = f"grant:{call.id}:{SHORT[deadline]}:{label}@{stamp}"
            for member, applicant in people:
                items.append(
                    DueItem(
                        key=f"{ref}:m{member.id}",
                        member=member,
                        message=reminder_message(call, deadline, member, applicant, due, settings),
                        due_at=due,
                        not_after=min(moment, due + lead / 2),
                        kind="grant.reminder",
                        ref=ref,
                        title=f"{call.code} · {label} · {call.title_in('ka')}",
                    )
                )
        return items


def digest_section(rt: Runtime) -> DigestSection:
    """The coming week's grant deadlines that concern this member."""

    async def lines(
        session: AsyncSession, member: Member, week_start: datetime, week_end: datetime
    ) -> list[str]:
        calls = (
            await session.execute(
                select(GrantCall).where(
                    GrantCall.status == GrantStatus.PUBLISHED,
                    or_(
                        col(GrantCall.idea_deadline).between(week_start, week_end),
                        col(GrantCall.full_deadline).between(week_start, week_end),
                    ),
                )
            )
        ).scalars()
        language, tz, out = member.language, rt.settings.tz, []
        ages = (rt.settings.youth_min_age, rt.settings.youth_max_age)
        for call in calls:
            assert call.id is not None and member.id is not None
            mine = await applicant_of(session=session, grant_id=call.id, member_id=member.id)
            for deadline in DEADLINES:
                moment = call.phase(deadline)
                if moment is None or not week_start <= moment < week_end:
                    continue
                if not concerns(call, deadline, member, mine, now=week_start, youth_ages=ages):
                    continue
                key = "grants.digest_idea" if deadline == "idea_deadline" else "grants.digest_full"
                out.append(t(key, language, code=call.code, title=call.title_in(language),
                             when=short(moment, language, tz)))  # fmt: skip
        return out

    return DigestSection(name="grants", title_key="grants.digest_title", lines=lines, order=20)


def setup(rt: Runtime) -> None:
    if rt.scheduler is not None:
        rt.scheduler.register(GrantReminders(rt))
        rt.scheduler.add_digest_section(digest_section(rt))
