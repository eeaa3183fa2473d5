"""What a broadcast costs in SMS: parts per language and script, money, the monthly budget.

The preview shows, for every language version, the SMS exactly as it will go (with the
"how to stop" line) in both scripts: native (Georgian letters, Cyrillic, ə…) and the Latin
form members may choose (bot.sms.translit), the encoding (GSM-7 160/153 per part, UCS-2
70/67) and the character that forced UCS-2. Totals are per recipient: each SMS recipient
costs the parts of the version and script they will get. The budget is
SMS_MONTHLY_BUDGET in SMS_CURRENCY at SMS_PRICE_PER_PART, per calendar month in the LAG's
time zone; what this month already cost counts every SMS sent or still waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import pick_content
from bot.settings import Settings
from bot.sms.encoding import SmsInfo, sms_info
from bot.sms.translit import to_latin_sms
from models.audiences import Reach, channels_for
from models.members import SmsScript
from models.outbox import PENDING_STATUSES, OutboxMessage, OutStatus


@dataclass(frozen=True)
class VersionCost:
    """One language version as SMS, in both scripts."""

    language: str
    text: str  # as the secretariat wrote it
    body: str  # the SMS text (native script) with the stop line
    native: SmsInfo
    latin: SmsInfo
    telegram_recipients: int = 0
    sms_native: int = 0  # SMS recipients reading the native script
    sms_latin: int = 0

    @property
    def parts(self) -> int:
        return self.sms_native * self.native.parts + self.sms_latin * self.latin.parts


@dataclass(frozen=True)
class CostEstimate:
    versions: dict[str, VersionCost] = field(default_factory=dict)
    sms_messages: int = 0
    sms_parts: int = 0
    cost: float = 0.0
    month_spent: float = 0.0  # this month before this broadcast
    budget: float = 0.0
    currency: str = "USD"

    @property
    def over_budget(self) -> bool:
        return self.budget > 0 and self.month_spent + self.cost > self.budget + 1e-9


def sms_version(text: str, language: str) -> tuple[str, SmsInfo, SmsInfo]:
    from bot.outbound import with_stop_line  # bot.outbound imports models: import when used

    body = with_stop_line(text, language, "sms")
    return body, sms_info(body), sms_info(to_latin_sms(body))


def estimate_cost(
    *, texts: dict[str, str], reach: Reach, urgent: bool, settings: Settings, month_spent: float
) -> CostEstimate:
    counts: dict[str, dict[str, int]] = {}
    for member in reach.recipients:
        language, _ = pick_content(texts, member.language)
        slot = counts.setdefault(language, {"telegram": 0, "native": 0, "latin": 0})
        channels = channels_for(member, urgent=urgent)
        if "telegram" in channels:
            slot["telegram"] += 1
        if "sms" in channels:
            slot["latin" if member.sms_script == SmsScript.LATIN else "native"] += 1
    versions: dict[str, VersionCost] = {}
    for language, text in texts.items():
        if not text:
            continue
        body, native, latin = sms_version(text, language)
        slot = counts.get(language, {"telegram": 0, "native": 0, "latin": 0})
        versions[language] = VersionCost(
            language, text, body, native, latin, slot["telegram"], slot["native"], slot["latin"]
        )
    parts = sum(v.parts for v in versions.values())
    return CostEstimate(
        versions=versions,
        sms_messages=sum(v.sms_native + v.sms_latin for v in versions.values()),
        sms_parts=parts,
        cost=round(parts * settings.sms_price_per_part, 4),
        month_spent=round(month_spent, 4),
        budget=settings.sms_monthly_budget,
        currency=settings.sms_currency,
    )


def month_start(settings: Settings, now: datetime) -> datetime:
    local = now.astimezone(settings.tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def month_sms_parts(*, session: AsyncSession, settings: Settings, now: datetime) -> int:
    """SMS parts this calendar month: sent ones as the provider counted, waiting ones estimated.

    Simulator messages cost nothing; cancelled, skipped and never-accepted ones neither.
    """
    result = await session.execute(
        select(OutboxMessage.status, OutboxMessage.segments, OutboxMessage.text).where(
            col(OutboxMessage.channel) == "sms",
            col(OutboxMessage.provider) != "simulator",
            col(OutboxMessage.created_at) >= month_start(settings, now),
            col(OutboxMessage.status).not_in([OutStatus.CANCELLED, OutStatus.SKIPPED]),
        )
    )
    parts = 0
    for status, segments, text in result.all():
        if segments:
            parts += int(segments)
        elif status in PENDING_STATUSES:
            parts += sms_info(str(text)).parts
    return parts


async def month_spent(*, session: AsyncSession, settings: Settings, now: datetime) -> float:
    parts = await month_sms_parts(session=session, settings=settings, now=now)
    return round(parts * settings.sms_price_per_part, 4)
