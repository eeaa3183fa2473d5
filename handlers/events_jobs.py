"""The events' clock apart from reminders: a published event whose end has passed becomes
`completed` in the background (a scheduler provider), not only when someone opens it.

`EventCompletion.due` acts and returns no items, like the polls' closing: completing is one
conditional UPDATE per event (models.events.complete_past_events), so it is idempotent and
safe when the scheduler's tick and a member's /events do it at the same moment, in one
process or several. It only ever happens after the end, so running it on any tick changes
nothing but *when*, by at most one tick.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.settings import Settings
from models.events import complete_past_events
from scheduler.providers import DueItem

ORDER = 60
log = logging.getLogger(__name__)


class EventCompletion:
    """A due-only provider (nothing for /reminders to list): completes past events."""

    name = "events.complete"

    async def due(
        self, *, session: AsyncSession, now: datetime, settings: Settings
    ) -> list[DueItem]:
        done = await complete_past_events(session=session, now=now)
        if done:
            log.info("events: completed %s", ", ".join(event.code for event in done))
        return []


def setup(rt: Runtime) -> None:
    if rt.scheduler is not None:
        rt.scheduler.register(EventCompletion())
