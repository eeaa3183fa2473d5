"""The audit log: who did what, when — filterable by action, person, target and dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from models.audit import AuditLog
from models.dashboard import WebAccount
from models.members import Member
from web.guard import Staff, page, runtime
from web.render import render

PAGE_SIZE = 100


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@page(Access.BOARD)
async def audit_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    q = request.query_params
    action, actor, target = (q.get(k, "").strip()[:80] for k in ("action", "actor", "target"))
    since, until = _day(q.get("since", "")), _day(q.get("until", ""))
    page_text = q.get("page", "1")
    number = max(1, int(page_text)) if page_text.isdigit() else 1
    query = select(AuditLog)
    if action:
        query = query.where(col(AuditLog.action).startswith(action))
    if actor:
        query = query.where(col(AuditLog.actor_label).startswith(actor))
    if target:
        query = query.where(col(AuditLog.target).startswith(target))
    tz = rt.settings.tz
    if since:
        query = query.where(col(AuditLog.at) >= datetime.combine(since, time(), tz))
    if until:
        query = query.where(
            col(AuditLog.at) < datetime.combine(until + timedelta(days=1), time(), tz)
        )
    async with rt.db.session() as session:
        total = int(
            (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        )
        entries = list(
            (
                await session.execute(
                    query.order_by(col(AuditLog.id).desc())
                    .offset((number - 1) * PAGE_SIZE)
                    .limit(PAGE_SIZE)
                )
            ).scalars()
        )
        accounts = {a.id: a.name for a in (await session.execute(select(WebAccount))).scalars()}
        member_ids = {e.actor_member_id for e in entries if e.actor_member_id}
        names = {
            m.id: m.name or f"#{m.id}"
            for m in (
                await session.execute(select(Member).where(col(Member.id).in_(member_ids)))
            ).scalars()
        }
        actions = sorted(
            {a for a in (await session.execute(select(AuditLog.action).distinct())).scalars()}
        )

    def who(entry: AuditLog) -> str:
        if entry.actor_label.startswith("web:"):
            account_id = entry.actor_label[4:]
            return accounts.get(int(account_id), entry.actor_label) if account_id.isdigit() else ""
        if entry.actor_member_id in names:
            return names[entry.actor_member_id]
        return entry.actor_label

    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return await render(
        request, staff, "audit.html", entries=entries, who=who, total=total, page=number,
        pages=pages, actions=actions,
        filters={"action": action, "actor": actor, "target": target,
                 "since": q.get("since", ""), "until": q.get("until", "")},
    )  # fmt: skip


def routes() -> list[BaseRoute]:
    return [Route("/admin/audit", audit_page, methods=["GET"])]
