"""Pacing for the gateway phone: Android's SMS window, reply headroom, and a down phone.

Android lets one app send only `GATEWAY_RATE_PER_WINDOW` SMS parts (stock: 30) per
`GATEWAY_RATE_WINDOW_SECONDS` (stock: 1800); beyond that it stops to ask the phone's user,
which nobody answers on an unattended phone. The gate counts parts in a sliding window like
Android does and admits a row only when it fits; otherwise the row goes back to the queue,
due when a slot frees, *without* spending one of its attempts. Bulk rows leave a few slots
free (`reply_reserve`) so a villager's question is answered at once even mid-broadcast.
While the provider reports the phone unreachable, rows wait for it the same way.

`expected_duration` is the same arithmetic, for the broadcast preview.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, select

from bot.settings import Settings
from bot.sms.encoding import sms_info
from models.base import utcnow
from models.gateway import WAITING_FOR_PHONE, defer_claimed
from models.outbox import OutboxMessage, Priority

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


def reply_reserve(capacity: int) -> int:
    """Parts per window that bulk sends leave free for replies (5 of Android's 30)."""
    return min(5, capacity // 6)


def expected_duration(
    settings: Settings, provider: str, n_messages: int, *, parts_per_message: int = 1
) -> timedelta:
    """How long `n_messages` bulk SMS of `parts_per_message` parts take to go out.

    Through the gateway the window dominates: at stock Android limits 100 one-part SMS take
    about an hour and a half (25 per 30 minutes, replies keep 5). Elsewhere only the
    provider's steady rate (SMS_RATE_PER_SECOND) counts.
    """
    if n_messages <= 0:
        return timedelta(0)
    parts = max(1, parts_per_message)
    rate = settings.sms_rate_per_second
    steady = timedelta(seconds=n_messages / rate) if rate > 0 else timedelta(0)
    capacity = settings.gateway_rate_per_window
    if provider != "gateway" or capacity <= 0:
        return steady
    bulk = capacity - reply_reserve(capacity)
    per_window = max(1, bulk // parts)
    windows = math.ceil(n_messages / per_window)
    window = timedelta(seconds=settings.gateway_rate_window_seconds)
    last = n_messages - (windows - 1) * per_window
    tail = timedelta(seconds=last / rate) if rate > 0 else timedelta(0)
    return max(steady, (windows - 1) * window + tail)


class GatewayGate:
    """Admits gateway rows into the SMS sender (bot.delivery calls `admit` per row)."""

    def __init__(self, rt: Runtime, provider: str = "gateway") -> None:
        self.rt = rt
        self.provider = provider
        self.capacity = rt.settings.gateway_rate_per_window
        self.window = timedelta(seconds=rt.settings.gateway_rate_window_seconds)
        self.reserve = reply_reserve(self.capacity)
        self.clock: Callable[[], datetime] = utcnow
        self._sent: deque[tuple[datetime, int]] = deque()

    def used(self, now: datetime) -> int:
        while self._sent and self._sent[0][0] <= now - self.window:
            self._sent.popleft()
        return sum(parts for _, parts in self._sent)

    def next_free(self, now: datetime, parts: int, limit: int) -> datetime:
        """When `parts` more fit under `limit` (as older sends leave the window)."""
        used = self.used(now)
        for at, sent_parts in self._sent:
            used -= sent_parts
            if used + parts <= limit or used <= 0:
                return at + self.window
        return now

    def record(self, at: datetime, parts: int) -> None:
        self._sent.append((at, parts))

    def saturate(self, at: datetime) -> None:
        """The phone refused a send over its limit: our count was low, pause a full window."""
        self.record(at, max(self.capacity, 1))

    async def seed(self) -> None:
        """After a restart, count what this phone already sent in the current window."""
        since = self.clock() - self.window
        async with self.rt.db.session() as session:
            rows = await session.execute(
                select(OutboxMessage.sent_at, OutboxMessage.segments, OutboxMessage.text)
                .where(
                    OutboxMessage.provider == self.provider,
                    col(OutboxMessage.sent_at) >= since,
                )
                .order_by(col(OutboxMessage.sent_at))
            )
            for sent_at, segments, text in rows.all():
                self.record(sent_at, segments or max(1, sms_info(text).parts))

    async def admit(self, row: OutboxMessage) -> bool:
        now = self.clock()
        link = getattr(self.rt.sms_providers.get(row.provider), "link", None)
        if link is not None and link.is_down(now) and link.down_until is not None:
            await self._defer(row, link.down_until, "the phone is unreachable", WAITING_FOR_PHONE)
            return False
        if self.capacity <= 0:
            return True  # the limit was raised on the phone and switched off here
        parts = max(1, sms_info(row.text).parts)
        limit = self.capacity if row.priority <= Priority.REPLY else self.capacity - self.reserve
        used = self.used(now)
        if used > 0 and used + parts > limit:
            await self._defer(row, self.next_free(now, parts, limit), "Android's SMS window")
            return False
        self.record(now, parts)
        return True

    async def _defer(
        self, row: OutboxMessage, until: datetime, why: str, code: str | None = None
    ) -> None:
        assert row.id is not None
        async with self.rt.db.session() as session:
            await defer_claimed(session=session, row_id=row.id, until=until, code=code)
        log.info("outbox %s waits until %s: %s", row.id, until.isoformat(timespec="seconds"), why)
