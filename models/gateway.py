"""The SMS gateway phone: what lagbot knows about its health, and its outbox rules.

`GatewayStatus` is one row per gateway (today: "gateway"): when the phone was last heard
from (any genuine webhook, the app's heartbeat, or a successful probe of its local API),
the last API error, and where its webhooks point. Everything else in the health record is
computed from the outbox.

Outbox rows of the gateway take two extra transitions (see models.outbox for the rest)::

    sending ──window full / phone unreachable──> queued (later; the attempt is not spent)
    sent ──sms:failed RESULT_ERROR_LIMIT_EXCEEDED──> queued (after the window; at most
                                                      `max_attempts` times, then failed)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from models.base import UTCDateTime, insert_if_absent, utcnow
from models.outbox import OutboxMessage, OutStatus

SILENCE_ALERT = timedelta(hours=1)
FAILURES_WINDOW = timedelta(hours=1)
FAILURES_ALERT = 3  # failed sends within FAILURES_WINDOW that alert the secretariat
LIMIT_EXCEEDED = "RESULT_ERROR_LIMIT_EXCEEDED"
WAITING_FOR_PHONE = "gateway_down"  # error_code of rows held while the phone is unreachable


class GatewayStatus(SQLModel, table=True):
    __tablename__ = "gateway_status"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="gateway", max_length=20, unique=True)
    monitoring_since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_contact_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_contact_kind: str | None = Field(default=None, max_length=40)
    device_id: str | None = Field(default=None, max_length=64)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    webhooks_url: str | None = Field(default=None, max_length=500)
    webhooks_registered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


async def gateway_status(*, session: AsyncSession, name: str = "gateway") -> GatewayStatus:
    """The status row, created on first use."""
    result = await session.execute(select(GatewayStatus).where(GatewayStatus.name == name))
    status: GatewayStatus | None = result.scalars().first()
    if status is not None:
        return status
    values = GatewayStatus(name=name).model_dump(exclude={"id"})
    await insert_if_absent(session, GatewayStatus, values, ["name"])  # or another process did
    result = await session.execute(select(GatewayStatus).where(GatewayStatus.name == name))
    created: GatewayStatus = result.scalars().one()
    return created


async def record_contact(
    *,
    session: AsyncSession,
    kind: str,
    at: datetime | None = None,
    device_id: str | None = None,
    name: str = "gateway",
) -> GatewayStatus:
    """The phone was heard from (a later time never goes backwards)."""
    status = await gateway_status(session=session, name=name)
    at = at or utcnow()
    if status.last_contact_at is None or at >= status.last_contact_at:
        status.last_contact_at, status.last_contact_kind = at, kind[:40]
    if device_id:
        status.device_id = device_id[:64]
    session.add(status)
    return status


async def record_error(
    *, session: AsyncSession, reason: str, at: datetime | None = None, name: str = "gateway"
) -> GatewayStatus:
    status = await gateway_status(session=session, name=name)
    status.last_error_at, status.last_error = at or utcnow(), reason[:500]
    session.add(status)
    return status


async def record_webhooks(
    *, session: AsyncSession, url: str, at: datetime | None = None, name: str = "gateway"
) -> GatewayStatus:
    status = await gateway_status(session=session, name=name)
    status.webhooks_url, status.webhooks_registered_at = url[:500], at or utcnow()
    session.add(status)
    return status


async def defer_claimed(
    *, session: AsyncSession, row_id: int, until: datetime, code: str | None = None
) -> bool:
    """A claimed row goes back to the queue, due at `until`; its attempt is given back."""
    extra: dict[str, Any] = {"error_code": code} if code else {}
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == row_id,
            col(OutboxMessage.status) == OutStatus.SENDING,
            col(OutboxMessage.attempts) > 0,
        )
        .values(
            status=OutStatus.QUEUED,
            next_attempt_at=until,
            attempts=OutboxMessage.attempts - 1,
            claimed_at=None,
            claimed_by=None,
            **extra,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def in_flight(*, session: AsyncSession, provider: str = "gateway") -> bool:
    """Is any row being handed to the provider right now (claimed, no answer yet)?"""
    result = await session.execute(
        select(OutboxMessage.id)
        .where(OutboxMessage.provider == provider, OutboxMessage.status == OutStatus.SENDING)
        .limit(1)
    )
    return result.first() is not None


async def release_waiting(*, session: AsyncSession, now: datetime | None = None) -> int:
    """The phone answers again: rows held for it are due at once (others keep their time)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OutStatus.QUEUED,
            col(OutboxMessage.error_code) == WAITING_FOR_PHONE,
        )
        .values(next_attempt_at=now or utcnow(), error_code=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def requeue_refused(
    *,
    session: AsyncSession,
    provider: str,
    provider_message_id: str,
    until: datetime,
    reason: str,
    max_attempts: int,
) -> OutboxMessage | None:
    """Android refused a send over its limit: try the row again after the window.

    After `max_attempts` the row fails for good (the limit on the phone is lower than
    GATEWAY_RATE_PER_WINDOW, which the health view and the failure alert then show).
    """
    result = await session.execute(
        select(OutboxMessage).where(
            OutboxMessage.provider == provider,
            OutboxMessage.provider_message_id == provider_message_id,
        )
    )
    row: OutboxMessage | None = result.scalars().first()
    if row is None or row.status not in (OutStatus.SENDING, OutStatus.SENT):
        return row
    row.error_code, row.error_reason = LIMIT_EXCEEDED, reason[:500]
    if row.attempts >= max_attempts:
        row.status, row.final_at = OutStatus.FAILED, utcnow()
    else:
        row.status, row.next_attempt_at = OutStatus.QUEUED, until
        row.provider_message_id, row.sent_at, row.claimed_by = None, None, None
    session.add(row)
    return row


@dataclass(frozen=True)
class GatewayHealth:
    """What `/stats`, `/gateway` and the dashboard show about the phone."""

    last_contact_at: datetime | None
    last_contact_kind: str | None
    silent_for: timedelta | None  # since the last contact (or since monitoring began)
    silent: bool  # longer than SILENCE_ALERT
    queued: int  # waiting to go through the phone (queued or being handed over)
    oldest_queued_at: datetime | None
    awaiting_report: int  # accepted by the phone, no delivery report yet
    sent_24h: int
    delivered_24h: int
    failed_24h: int
    failed_1h: int
    last_failure_at: datetime | None
    last_failure_reason: str | None
    last_error_at: datetime | None
    last_error: str | None
    webhooks_url: str | None
    webhooks_registered_at: datetime | None

    @property
    def failing(self) -> bool:
        return self.failed_1h >= FAILURES_ALERT

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
            elif isinstance(value, timedelta):
                data[key] = int(value.total_seconds())
        data["failing"] = self.failing
        return data


FAILED_STATUSES = (OutStatus.FAILED, OutStatus.UNDELIVERED)


async def failures_since(
    *, session: AsyncSession, since: datetime, provider: str = "gateway"
) -> list[OutboxMessage]:
    result = await session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.provider == provider,
            col(OutboxMessage.status).in_(FAILED_STATUSES),
            col(OutboxMessage.final_at) > since,
        )
        .order_by(col(OutboxMessage.final_at), col(OutboxMessage.id))
    )
    return list(result.scalars())


async def gateway_health(
    *, session: AsyncSession, now: datetime | None = None, name: str = "gateway"
) -> GatewayHealth:
    now = now or utcnow()
    status = await gateway_status(session=session, name=name)
    since_24h = now - timedelta(hours=24)

    async def count(*conditions: Any) -> int:
        query = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.provider == name, *conditions)
        )
        return int((await session.execute(query)).scalar_one())

    waiting = (OutStatus.QUEUED, OutStatus.SENDING)
    oldest = (
        await session.execute(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.provider == name, col(OutboxMessage.status).in_(waiting)
            )
        )
    ).scalar_one()
    failures = await failures_since(session=session, since=since_24h, provider=name)
    heard = status.last_contact_at or status.monitoring_since
    silent_for = now - heard
    return GatewayHealth(
        last_contact_at=status.last_contact_at,
        last_contact_kind=status.last_contact_kind,
        silent_for=silent_for,
        silent=silent_for > SILENCE_ALERT,
        queued=await count(col(OutboxMessage.status).in_(waiting)),
        oldest_queued_at=_aware(oldest),
        awaiting_report=await count(OutboxMessage.status == OutStatus.SENT),
        sent_24h=await count(col(OutboxMessage.sent_at) >= since_24h),
        delivered_24h=await count(
            OutboxMessage.status == OutStatus.DELIVERED, col(OutboxMessage.final_at) >= since_24h
        ),
        failed_24h=len(failures),
        failed_1h=sum(1 for f in failures if f.final_at and f.final_at > now - FAILURES_WINDOW),
        last_failure_at=failures[-1].final_at if failures else None,
        last_failure_reason=(failures[-1].error_reason or failures[-1].error_code)
        if failures
        else None,
        last_error_at=status.last_error_at,
        last_error=status.last_error,
        webhooks_url=status.webhooks_url,
        webhooks_registered_at=status.webhooks_registered_at,
    )


def _aware(value: datetime | None) -> datetime | None:
    """func.min() bypasses the column type on SQLite: give the naive UTC value its zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
