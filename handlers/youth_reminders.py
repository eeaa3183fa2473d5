"""Youth initiative reminders (a scheduler provider): the sign-up deadline and the start date,
to the lead and the team (the reserve list is not the team).

- 2 days before the sign-up deadline: the lead (how full the team is) and the team.
- 1 day before the start date: the lead and the team.

Computed from the initiative's dates (the date is part of each key, so moving it re-arms the
reminder); a declined, proposed or finished initiative has none. A reminder is not sent after
the moment it is about (`not_after`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from bot.i18n import t
from bot.outbound import Outgoing
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.youth_notify import lead_and_team, local_date
from models import seats
from models.members import Member
from models.youth import JOINABLE, SEAT_KIND, Initiative, InitiativeStatus
from scheduler.providers import DueItem, WindowProvider

ORDER = 65
DEADLINE_LEAD = timedelta(days=2)
START_LEAD = timedelta(days=1)


async def recipients(session: AsyncSession, initiative: Initiative) -> list[tuple[Member, bool]]:
    """(member, is_lead): the lead first, then the seated team."""
    return await lead_and_team(session, initiative)


class YouthReminders(WindowProvider):
    name = "youth"

    async def items(
        self, *, session: AsyncSession, start: datetime, end: datetime, settings: Settings
    ) -> list[DueItem]:
        query = select(Initiative).where(
            col(Initiative.status).in_([*JOINABLE, InitiativeStatus.RUNNING]),
            or_(
                col(Initiative.signup_deadline).between(start, end + DEADLINE_LEAD),
                col(Initiative.starts_at).between(start, end + START_LEAD),
            ),
        )
        found: list[DueItem] = []
        for initiative in (await session.execute(query)).scalars():
            assert initiative.id is not None
            counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
            people = await recipients(session, initiative)
            plans = [
                ("deadline", initiative.signup_deadline, DEADLINE_LEAD),
                ("start", initiative.starts_at, START_LEAD),
            ]
            for which, moment, lead_time in plans:
                due = moment - lead_time
                if not start <= due < end:
                    continue
                if which == "deadline" and initiative.status not in JOINABLE:
                    continue
                for member, is_lead in people:
                    language = member.language
                    role = "lead" if is_lead else "team"
                    text = t(
                        f"youth.reminder_{which}_{role}",
                        language,
                        title=initiative.title_in(language),
                        code=initiative.code,
                        date=local_date(moment, settings),
                        team=counts.seated,
                        target=initiative.target_size,
                        waiting=counts.waiting,
                    )
                    found.append(
                        DueItem(
                            key=f"youth:{initiative.id}:{which}@{moment.isoformat()}"
                            f":member:{member.id}",
                            member=member,
                            message=Outgoing(text=text),
                            due_at=due,
                            not_after=moment,
                            ref=f"youth:{initiative.id}:{which}",
                            title=f"{initiative.code} {initiative.title_in('ka')}"[:80],
                        )
                    )
        return found


def setup(rt: Runtime) -> None:
    if rt.scheduler is not None:
        rt.scheduler.register(YouthReminders())
