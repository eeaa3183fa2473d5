"""The delivery engine's lanes, and how much each holds and sends at once.

Each channel has two lanes — *fast* (replies and personal notices, priority < BULK) and
*bulk* (broadcasts, announcements, reminders) — and SMS lanes exist per provider, so a
broadcast's backlog never holds up an answer to a member.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.settings import Settings

ROUND_TRIP = 0.15  # seconds: a Bot API call from Georgia, answer included


@dataclass
class Lane:
    channel: str  # telegram | sms
    bulk: bool
    provider: str | None = None  # SMS lanes: one provider each
    window: int = 16  # rows claimed and not finished, at most
    concurrency: int = 4  # provider calls on the wire at once (see concurrency_for)
    sending: asyncio.Semaphore = field(init=False, repr=False)
    exhausted: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.sending = asyncio.Semaphore(self.concurrency)

    @property
    def name(self) -> str:
        return ":".join(
            filter(None, [self.channel, self.provider, "bulk" if self.bulk else "fast"])
        )


def window_for(rate: float, seconds: float, lowest: int, highest: int) -> int:
    """`seconds` worth of rows at `rate`, within bounds; unpaced, the most."""
    return highest if rate <= 0 else max(lowest, min(highest, int(rate * seconds)))


def concurrency_for(rate: float) -> int:
    """Calls on the wire that keep a lane at `rate` (Little's law, for a round trip of up to
    ROUND_TRIP seconds). Unpaced, two: one being prepared while the other waits for its
    answer; more only make the HTTP client check more idle connections on every request."""
    return 2 if rate <= 0 else max(2, min(8, math.ceil(rate * ROUND_TRIP)))


def lanes_for(settings: Settings, sms_providers: Iterable[str]) -> list[Lane]:
    tg_rate, sms_rate = settings.telegram_rate_per_second, settings.sms_rate_per_second
    lanes = [
        Lane("telegram", bulk=False, window=8),
        Lane(
            "telegram",
            bulk=True,
            # Unpaced, claims and outcome writes come in big batches (each costs trips to
            # the database, whatever its size); paced, a third of a second's worth (a larger
            # first claim only delays the first send).
            window=window_for(tg_rate, 0.3, 16, 256),
            concurrency=concurrency_for(tg_rate),
        ),
    ]
    for provider in sorted(sms_providers):
        rate = 0.0 if provider == "simulator" else sms_rate
        lanes.append(Lane("sms", bulk=False, provider=provider, window=4))
        lanes.append(Lane("sms", bulk=True, provider=provider, window=window_for(rate, 3.0, 2, 16)))
    return lanes
