"""Who can use the dashboard: every web account, its last login and live sessions; the
secretariat disables or re-enables an account (its sessions end at once) — audited."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from models.audit import record_audit
from models.base import utcnow
from models.dashboard import WebAccount, WebSession, effective_role, revoke_sessions
from web.guard import Staff, page, runtime
from web.render import error_page, render


@page(Access.SECRETARIAT)
async def accounts_page(request: Request, staff: Staff) -> Response:
    now = utcnow()
    async with runtime(request).db.session() as session:
        accounts = list(
            (await session.execute(select(WebAccount).order_by(col(WebAccount.id)))).scalars()
        )
        counted = await session.execute(
            select(WebSession.account_id, func.count())
            .where(col(WebSession.revoked_at).is_(None), col(WebSession.expires_at) > now)
            .group_by(col(WebSession.account_id))
        )
        live: dict[int, int] = {int(a): int(n) for a, n in counted.all()}
        rows = [(a, await effective_role(session=session, account=a), live.get(a.id, 0))
                for a in accounts]  # fmt: skip
    return await render(request, staff, "accounts.html", rows=rows,
                        done=request.query_params.get("done"))  # fmt: skip


@page(Access.SECRETARIAT)
async def toggle_account(request: Request, staff: Staff) -> Response:
    account_id = request.path_params["account_id"]
    if account_id == staff.account.id:
        return RedirectResponse("/admin/accounts?done=not_self", status_code=303)
    async with runtime(request).db.session() as session:
        account = await session.get(WebAccount, account_id)
        if account is None:
            return await error_page(request, staff, 404, "errors.not_found")
        disable = account.disabled_at is None
        account.disabled_at = utcnow() if disable else None
        session.add(account)
        ended = await revoke_sessions(session=session, account_id=account_id) if disable else 0
        await record_audit(
            session=session,
            action="web.account_disabled" if disable else "web.account_enabled",
            actor_member_id=staff.member_id,
            actor_label=staff.actor_label,
            target=f"web_account:{account_id}",
            details={"name": account.name, "sessions_ended": ended},
        )
    return RedirectResponse(
        f"/admin/accounts?done={'disabled' if disable else 'enabled'}", status_code=303
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/accounts", accounts_page, methods=["GET"]),
        Route("/admin/accounts/{account_id:int}/toggle", toggle_account, methods=["POST"]),
    ]
