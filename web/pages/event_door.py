"""At the door, from a phone: search a name, tick — and the lists as CSV afterwards.

Check-in uses models.event_attendance.check_in, which names a member as the one who checked
people in: a stand-alone account (no member behind it) is told to sign in with /weblogin.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import t
from bot.roles import Access
from handlers.events_admin import attendees_csv
from models.base import utcnow
from models.communities import list_communities
from models.dashboard_members import text_matches
from models.event_attendance import CheckInError, attendees, check_in, count, undo_check_in
from models.event_reports import attendance_sheet, sheet_csv
from models.events import Event, get_event
from models.members import Member, MemberStatus
from web.forms import acting_member
from web.guard import Staff, audit, page, runtime
from web.render import error_page, render

ORDER = {"going": 0, "waitlist": 1, "maybe": 2, "invited": 3, "no": 4}


async def _event(request: Request) -> Event | None:
    async with runtime(request).db.session() as session:
        return await get_event(session=session, event_id=request.path_params["event_id"])


@page(Access.SECRETARIAT)
async def checkin_page(request: Request, staff: Staff) -> Response:
    event = await _event(request)
    if event is None:
        return await error_page(request, staff, 404, "errors.not_found")
    q = request.query_params.get("q", "").strip()[:100]
    async with runtime(request).db.session() as session:
        people = await attendees(session=session, event=event)
        walk_ins: list[Member] = []
        if len(q) >= 2:
            known = {a.member.id for a in people}
            others = await session.execute(
                select(Member).where(
                    Member.status == MemberStatus.ACTIVE, col(Member.is_simulated).is_(False)
                )
            )
            walk_ins = [m for m in others.scalars() if m.id not in known and text_matches(m, q)]
    shown = [a for a in people if text_matches(a.member, q)] if q else people
    shown.sort(key=lambda a: (ORDER.get(a.status, 9), (a.member.name or "").casefold()))
    return await render(
        request, staff, "event_checkin.html", event=event, people=shown, counts=count(people),
        walk_ins=walk_ins[:20], q=q, done=request.query_params.get("done"),
        error=request.query_params.get("error"), t_member=t,
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def checkin_post(request: Request, staff: Staff) -> Response:
    event_id = request.path_params["event_id"]
    q = staff.field("q", 100)
    back = f"/admin/events/{event_id}/checkin?q={quote(q)}"
    member_text, code = staff.field("member_id", 20), staff.field("code", 20)
    async with runtime(request).db.session() as session:
        event = await get_event(session=session, event_id=event_id)
        if event is None:
            return await error_page(request, staff, 404, "errors.not_found")
        actor = await acting_member(session, staff)
        if actor is None:
            return RedirectResponse(back + "&error=needs_member", status_code=303)
        try:
            done = await check_in(
                session=session,
                event=event,
                actor=actor,
                now=utcnow(),
                code=code or None,
                member_id=int(member_text) if member_text.isdigit() else None,
            )
        except CheckInError as exc:
            return RedirectResponse(back + f"&error={exc.key}", status_code=303)
        except AssertionError:  # neither a code nor a member was given
            return RedirectResponse(back + "&error=events.checkin_unknown_member", status_code=303)
    state = "already" if done.already else "checked"
    return RedirectResponse(back + f"&done={state}:{done.member.id}", status_code=303)


@page(Access.SECRETARIAT)
async def checkin_undo(request: Request, staff: Staff) -> Response:
    event_id = request.path_params["event_id"]
    q = staff.field("q", 100)
    member_text = staff.field("member_id", 20)
    async with runtime(request).db.session() as session:
        event = await get_event(session=session, event_id=event_id)
        actor = await acting_member(session, staff)
        if event is None or actor is None or not member_text.isdigit():
            return RedirectResponse(
                f"/admin/events/{event_id}/checkin?q={quote(q)}&error=needs_member", status_code=303
            )
        await undo_check_in(session=session, event=event, member_id=int(member_text), actor=actor)
    return RedirectResponse(f"/admin/events/{event_id}/checkin?q={quote(q)}", status_code=303)


def _csv(body: str, name: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@page(Access.SECRETARIAT)
async def attendees_export(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    event = await _event(request)
    if event is None:
        return await error_page(request, staff, 404, "errors.not_found")
    async with rt.db.session() as session:
        people = await attendees(session=session, event=event)
        communities = {c.id: c for c in await list_communities(session=session)}
    body = attendees_csv(people, dict(communities), staff.language, rt)
    await audit(request, staff, "event.export_attendees", f"event:{event.id}",
                {"count": len(people)})  # fmt: skip
    return _csv(body, f"{event.code}-answers.csv")


@page(Access.SECRETARIAT)
async def attendance_export(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    event = await _event(request)
    if event is None:
        return await error_page(request, staff, 404, "errors.not_found")
    async with rt.db.session() as session:
        sheet = await attendance_sheet(
            session=session, event=event, settings=rt.settings, language=staff.language
        )
    await audit(request, staff, "event.export_attendance", f"event:{event.id}",
                {"count": len(sheet.rows)})  # fmt: skip
    return _csv(sheet_csv(sheet), f"{event.code}-attendance.csv")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/events/{event_id:int}/checkin", checkin_page, methods=["GET"]),
        Route("/admin/events/{event_id:int}/checkin", checkin_post, methods=["POST"]),
        Route("/admin/events/{event_id:int}/checkin/undo", checkin_undo, methods=["POST"]),
        Route("/admin/events/{event_id:int}/answers.csv", attendees_export, methods=["GET"]),
        Route("/admin/events/{event_id:int}/attendance.csv", attendance_export, methods=["GET"]),
    ]
