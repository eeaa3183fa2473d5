"""Members: search and filter, a member's page, edit, role change, CSV export."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from models.base import utcnow
from models.communities import list_communities
from models.dashboard_members import (
    CSV_COLUMNS,
    EDITABLE,
    MemberEditError,
    MemberFilter,
    RoleChangeRefused,
    change_role,
    find_members,
    member_record,
    members_csv,
    update_member,
)
from models.members import Gender, Member, MemberStatus, Role, Sector, SmsScript
from web.guard import Staff, audit, page, runtime
from web.i18n import gettext
from web.render import error_page, render

PAGE_SIZE = 50
# Capabilities' own parts of a member's page (RSVPs, attendance, votes): each returns
# (template, values) or None.
Section = Callable[[AsyncSession, Member], Awaitable[tuple[str, dict[str, Any]] | None]]
SECTIONS: list[Section] = []
CHOICES = {
    "sector": [s.value for s in Sector],
    "gender": [g.value for g in Gender],
    "role": [r.value for r in Role],
    "status": [s.value for s in MemberStatus] + ["all"],
    "channel": ["telegram", "sms", "both", "none"],
    "opted_out": ["any", "telegram", "sms", "announcements"],
    "youth": ["yes", "no"],
    "language": ["ka", "az", "ru", "en"],
    "sms_script": [s.value for s in SmsScript],
}


def read_filter(request: Request) -> MemberFilter:
    q = request.query_params

    def pick(name: str, default: str = "") -> str:
        value = q.get(name, default)
        return value if value in CHOICES[name] else default

    community = q.get("community", "")
    return MemberFilter(
        q=q.get("q", "").strip()[:100],
        community=int(community) if community.isdigit() else None,
        sector=pick("sector"),
        youth=pick("youth"),
        gender=pick("gender"),
        channel=pick("channel"),
        opted_out=pick("opted_out"),
        role=pick("role"),
        status=pick("status", MemberStatus.ACTIVE),
        lag=q.get("lag") == "on",
    )


async def _filtered(request: Request, flt: MemberFilter) -> list[Member]:
    rt = runtime(request)
    async with rt.db.session() as session:
        return await find_members(
            session=session,
            flt=flt,
            now=utcnow(),
            youth_min=rt.settings.youth_min_age,
            youth_max=rt.settings.youth_max_age,
        )


@page(Access.BOARD)
async def members_page(request: Request, staff: Staff) -> Response:
    flt = read_filter(request)
    members = await _filtered(request, flt)
    page_text = request.query_params.get("page", "1")
    number = max(1, int(page_text)) if page_text.isdigit() else 1
    pages = max(1, (len(members) + PAGE_SIZE - 1) // PAGE_SIZE)
    number = min(number, pages)
    async with runtime(request).db.session() as session:
        communities = await list_communities(session=session)
    shown = members[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    # Who looked at which names and numbers is personal data too (the filter, not the rows).
    await audit(request, staff, "member.list_viewed", "members",
                {"shown": len(shown), "total": len(members), "page": number,
                 "filter": flt.as_dict()})  # fmt: skip
    query = "&".join(
        f"{k}={'on' if v is True else v}" for k, v in flt.as_dict().items() if k != "status"
    )
    return await render(
        request, staff, "members.html", members=shown, total=len(members), flt=flt,
        communities={c.id: c for c in communities}, community_list=communities,
        choices=CHOICES, page=number, pages=pages,
        export_query=request.url.query, filter_query=query,
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def members_export(request: Request, staff: Staff) -> Response:
    """The filtered list as CSV (personal data: secretariat only, and audited)."""
    flt = read_filter(request)
    members = await _filtered(request, flt)
    rt = runtime(request)
    async with rt.db.session() as session:
        communities = {c.id or 0: c for c in await list_communities(session=session)}
    headers = [gettext(staff.language, f"csv.{name}") for name in CSV_COLUMNS]
    body = members_csv(members, communities, rt.settings.tz, headers)
    await audit(request, staff, "member.export", "members",
                {"count": len(members), "filter": flt.as_dict()})  # fmt: skip
    stamp = utcnow().astimezone(rt.settings.tz).strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lag-members-{stamp}.csv"'},
    )


async def _record_or_404(
    request: Request, staff: Staff, template: str, view_action: str | None = None, **extra: object
) -> Response:
    member_id = request.path_params["member_id"]
    rt = runtime(request)
    async with rt.db.session() as session:
        record = await member_record(session=session, member_id=member_id)
        communities = await list_communities(session=session)
        sections = []
        if record is not None:
            for section in SECTIONS:
                shown = await section(session, record.member)
                if shown is not None:
                    sections.append(shown)
    if record is None:
        return await error_page(request, staff, 404, "errors.not_found")
    if view_action is not None:
        await audit(request, staff, view_action, f"member:{member_id}")
    values: dict[str, object] = {
        "record": record,
        "m": record.member,
        "community_list": communities,
        "choices": CHOICES,
        "done": request.query_params.get("done"),
        "error": None,
        "form": None,
        "year": utcnow().astimezone(rt.settings.tz).year,
        "sections": sections,
    }
    values.update(extra)
    status = int(str(values.pop("status", 200)))
    return await render(request, staff, template, status=status, **values)


@page(Access.BOARD)
async def member_page(request: Request, staff: Staff) -> Response:
    return await _record_or_404(request, staff, "member.html", view_action="member.viewed")


@page(Access.SECRETARIAT)
async def member_edit_page(request: Request, staff: Staff) -> Response:
    return await _record_or_404(request, staff, "member_edit.html", view_action="member.viewed")


@page(Access.SECRETARIAT)
async def member_edit(request: Request, staff: Staff) -> Response:
    member_id = request.path_params["member_id"]
    form = {name: staff.field(name, 200) for name in EDITABLE}
    async with runtime(request).db.session() as session:
        member = await session.get(Member, member_id)
        if member is None or member.is_simulated:
            return await error_page(request, staff, 404, "errors.not_found")
        try:
            await update_member(
                session=session,
                member=member,
                form=form,
                actor_member_id=staff.member_id,
                actor_label=staff.actor_label,
            )
        except MemberEditError as exc:
            error = (exc.field, exc.reason)
        else:
            return RedirectResponse(f"/admin/members/{member_id}?done=saved", status_code=303)
    # Nothing typed is lost: the form comes back with the person's values and the reason.
    return await _record_or_404(request, staff, "member_edit.html", error=error, form=form,
                                status=400)  # fmt: skip


@page(Access.SECRETARIAT)
async def member_role(request: Request, staff: Staff) -> Response:
    member_id = request.path_params["member_id"]
    async with runtime(request).db.session() as session:
        member = await session.get(Member, member_id)
        if member is None or member.is_simulated:
            return await error_page(request, staff, 404, "errors.not_found")
        try:
            await change_role(
                session=session,
                member=member,
                role=staff.field("role", 20),
                actor_member_id=staff.member_id,
                actor_label=staff.actor_label,
            )
        except RoleChangeRefused as exc:
            reason = exc.reason
        else:
            return RedirectResponse(f"/admin/members/{member_id}?done=role", status_code=303)
    return await _record_or_404(request, staff, "member.html", error=f"rolechange.{reason}",
                                status=400)  # fmt: skip


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/members", members_page, methods=["GET"]),
        Route("/admin/members.csv", members_export, methods=["GET"]),
        Route("/admin/members/{member_id:int}", member_page, methods=["GET"]),
        Route("/admin/members/{member_id:int}/edit", member_edit_page, methods=["GET"]),
        Route("/admin/members/{member_id:int}/edit", member_edit, methods=["POST"]),
        Route("/admin/members/{member_id:int}/role", member_role, methods=["POST"]),
    ]
