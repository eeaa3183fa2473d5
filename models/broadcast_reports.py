"""What happened to one broadcast: totals per channel and status, failures by reason, and a
CSV of every recipient row (UTF-8 with BOM, so Excel opens Georgian text correctly)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.settings import Settings
from models.broadcasts import Broadcast, Progress, progress_of
from models.communities import Community
from models.members import Member
from models.outbox import OutboxMessage, OutStatus, status_counts

FAILED = (OutStatus.FAILED, OutStatus.UNDELIVERED)


@dataclass
class Report:
    broadcast: Broadcast
    progress: Progress
    counts: dict[tuple[str, str], int]
    failures: list[tuple[str, int]] = field(default_factory=list)  # (reason, rows), most first
    skipped: list[tuple[str, int]] = field(default_factory=list)
    sms_parts: int = 0  # as the providers counted them
    creator: str | None = None


def _reason(row: OutboxMessage) -> str:
    return row.error_reason or (f"error {row.error_code}" if row.error_code else row.status)


async def broadcast_report(*, session: AsyncSession, broadcast_id: int) -> Report | None:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return None
    counts = (await status_counts(session=session, broadcast_ids=[broadcast_id]))[broadcast_id]
    result = await session.execute(
        select(OutboxMessage).where(col(OutboxMessage.broadcast_id) == broadcast_id)
    )
    rows = list(result.scalars())
    failures = Counter(_reason(r) for r in rows if r.status in FAILED)
    skipped = Counter(_reason(r) for r in rows if r.status == OutStatus.SKIPPED)
    creator = await session.get(Member, broadcast.created_by) if broadcast.created_by else None
    return Report(
        broadcast=broadcast,
        progress=progress_of(counts),
        counts=counts,
        failures=failures.most_common(),
        skipped=skipped.most_common(),
        sms_parts=sum(r.segments for r in rows if r.channel == "sms"),
        creator=creator.name if creator else None,
    )


async def report_csv(*, session: AsyncSession, broadcast_id: int, settings: Settings) -> bytes:
    result = await session.execute(
        select(OutboxMessage, Member)
        .join(Member, col(Member.id) == col(OutboxMessage.member_id), isouter=True)
        .where(col(OutboxMessage.broadcast_id) == broadcast_id)
        .order_by(col(OutboxMessage.member_id), col(OutboxMessage.id))
    )
    communities = {c.id: c.name_latin for c in (await session.execute(select(Community))).scalars()}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["member_id", "name", "community", "language", "channel", "address", "status",
         "error_code", "error_reason", "attempts", "sms_parts", "sent_at", "final_at"]
    )  # fmt: skip
    tz = settings.tz
    for row, member in result.all():
        writer.writerow(
            [
                row.member_id or "",
                member.name if member else "",
                communities.get(member.community_id, "") if member else "",
                member.language if member else "",
                row.channel,
                row.address,
                row.status,
                row.error_code or "",
                row.error_reason or "",
                row.attempts,
                row.segments if row.channel == "sms" else "",
                row.sent_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if row.sent_at else "",
                row.final_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if row.final_at else "",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
