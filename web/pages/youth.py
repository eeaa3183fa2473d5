"""Youth initiatives on the web: the initiatives and proposals, participation numbers, the
review of a proposal (approve / ask for changes / decline — models.youth, the proposer told by
handlers.youth_notify), and the team with contacts for the secretariat (audited, and CSV).

Reviews name a member as the reviewer: a stand-alone account is asked to use /weblogin.
"""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import t
from bot.roles import Access
from handlers.youth_notify import tell_proposer
from models.audit import record_audit
from models.base import utcnow
from models.communities import list_communities
from models.holidays import holiday_warning
from models.youth import (
    YouthRefused,
    approve_proposal,
    decline_proposal,
    get_initiative,
    list_initiatives,
    request_changes,
    skill_label,
)
from models.youth_signups import participation, team_of
from web.forms import acting_member
from web.guard import Staff, page, runtime
from web.render import error_page, render


@page(Access.BOARD)
async def youth_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        initiatives = await list_initiatives(session=session)
        numbers = await participation(session=session, now=utcnow())
        communities = {c.id: c for c in await list_communities(session=session)}
    return await render(request, staff, "youth.html", initiatives=initiatives, numbers=numbers,
                        communities=communities)  # fmt: skip


@page(Access.BOARD)
async def initiative_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        initiative = await get_initiative(
            session=session, initiative_id=request.path_params["initiative_id"]
        )
        if initiative is None:
            return await error_page(request, staff, 404, "errors.not_found")
        people = await team_of(session=session, initiative=initiative)
        if staff.can_write and people:  # contacts: the secretariat only, and it is logged
            await record_audit(
                session=session, action="youth.team_viewed", actor_member_id=staff.member_id,
                actor_label=staff.actor_label, target=f"youth:{initiative.id}",
            )  # fmt: skip
    settings = runtime(request).settings
    warned = request.query_params.get("warn", "").split(",")
    holiday_warnings = [
        warning
        for name in ("signup_deadline", "starts_at")
        if name in warned
        and (warning := holiday_warning(getattr(initiative, name), staff.language, settings))
    ]  # a date just saved on a public holiday: the scheduler's warning, as in the bot
    return await render(
        request, staff, "initiative.html", i=initiative, people=people, skill_label=skill_label,
        t_member=t, done=request.query_params.get("done"), error=request.query_params.get("error"),
        holiday_warnings=holiday_warnings,
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def review(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    initiative_id = request.path_params["initiative_id"]
    action, note = staff.field("action", 10), staff.field("note", 500)
    back = f"/admin/youth/{initiative_id}"
    if action in ("changes", "decline") and not note:
        return RedirectResponse(f"{back}?error=note", status_code=303)
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=initiative_id)
        if initiative is None:
            return await error_page(request, staff, 404, "errors.not_found")
        actor = await acting_member(session, staff)
        if actor is None:
            return RedirectResponse(f"{back}?error=needs_member", status_code=303)
        now = utcnow()
        try:
            if action == "approve":
                await approve_proposal(session=session, initiative=initiative, actor=actor, now=now)
            elif action == "changes":
                await request_changes(session=session, initiative=initiative, actor=actor,
                                      note=note, now=now)  # fmt: skip
            elif action == "decline":
                await decline_proposal(session=session, initiative=initiative, actor=actor,
                                       reason=note, now=now)  # fmt: skip
            else:
                return RedirectResponse(back, status_code=303)
        except YouthRefused as exc:
            return RedirectResponse(f"{back}?error={exc.key}", status_code=303)
        await tell_proposer(rt, session, initiative)
    rt.delivery.wake()
    return RedirectResponse(f"{back}?done={action}", status_code=303)


@page(Access.SECRETARIAT)
async def team_export(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        initiative = await get_initiative(
            session=session, initiative_id=request.path_params["initiative_id"]
        )
        if initiative is None:
            return await error_page(request, staff, 404, "errors.not_found")
        people = await team_of(session=session, initiative=initiative)
        await record_audit(
            session=session, action="youth.team_export", actor_member_id=staff.member_id,
            actor_label=staff.actor_label, target=f"youth:{initiative.id}",
            details={"count": len(people)},
        )  # fmt: skip
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    lang = staff.language
    writer.writerow(["name", "village", "phone", "telegram", "place", "skills", "why", "joined"])
    for person in people:
        m, s = person.member, person.signup
        writer.writerow([
            m.name or "", m.village or "", m.phone or "",
            f"@{m.telegram_username}" if m.telegram_username else "",
            "team" if person.status == "seated" else "reserve",
            ", ".join(skill_label(k, lang) for k in s.skills), s.why or "",
            s.created_at.astimezone(runtime(request).settings.tz).strftime("%Y-%m-%d"),
        ])  # fmt: skip
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{initiative.code}-team.csv"'},
    )


def routes() -> list[BaseRoute]:
    base = "/admin/youth/{initiative_id:int}"
    return [
        Route("/admin/youth", youth_page, methods=["GET"]),
        Route(base, initiative_page, methods=["GET"]),
        Route(base + "/review", review, methods=["POST"]),
        Route(base + "/team.csv", team_export, methods=["GET"]),
    ]
