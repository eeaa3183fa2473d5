"""Reminders on the web: what the scheduler will send next — the same list as /reminders
(scheduler.engine.Scheduler.pending and .planned, worded by handlers.reminders) — with "send
now", "skip" and "restore" for the secretariat (the same Scheduler calls and audit entries).
Read-only for the board. Actions name an item by the hash of its ref, looked up again when
pressed: a reminder that went in the meantime is "no longer waiting", never sent twice.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.outbound import quiet_until
from bot.roles import Access
from handlers.reminders import DEFAULT_DAYS, MAX_DAYS, group_title, ref_hash, status_line
from scheduler.engine import PendingGroup, Scheduler
from web.guard import Staff, audit, page, runtime
from web.render import error_page, render

ACTIONS = ("send", "skip", "restore")


def _days(text: str | None) -> int:
    return min(max(int(text), 1), MAX_DAYS) if text and text.isdigit() else DEFAULT_DAYS


def _scheduler(request: Request) -> Scheduler | None:
    return runtime(request).scheduler


@page(Access.BOARD)
async def reminders_page(request: Request, staff: Staff) -> Response:
    rt, scheduler = runtime(request), _scheduler(request)
    if scheduler is None:
        return await error_page(request, staff, 404, "errors.not_found")
    days = _days(request.query_params.get("days"))
    groups = await scheduler.pending(days=days)
    planned = await scheduler.planned(days=days)
    lang = staff.language
    quiet = quiet_until(rt.settings, scheduler.clock())
    return await render(
        request, staff, "reminders.html", days=days, groups=groups, planned=planned,
        scheduler_status=await status_line(rt, lang), title_of=lambda g: group_title(g, lang),
        ref_hash=ref_hash, quiet=quiet, done=request.query_params.get("done"),
        gone=request.query_params.get("gone") == "1",
    )  # fmt: skip


async def _find(scheduler: Scheduler, days: int, h: str) -> PendingGroup | None:
    for group in await scheduler.pending(days=days):
        if ref_hash(group.ref) == h:
            return group
    return None


@page(Access.SECRETARIAT)
async def act(request: Request, staff: Staff) -> Response:
    scheduler = _scheduler(request)
    action, h = request.path_params["action"], request.path_params["ref"]
    if scheduler is None or action not in ACTIONS:
        return await error_page(request, staff, 404, "errors.not_found")
    days = _days(staff.field("days", 3))
    back = f"/admin/reminders?days={days}"
    group = await _find(scheduler, days, h)
    if group is None or group.skipped != (action == "restore"):  # gone, or a stale form
        return RedirectResponse(f"{back}&gone=1", status_code=303)
    title = group_title(group, staff.language)
    details: dict[str, object] = {"provider": group.provider, "title": title[:200]}
    if action == "send":
        tonight = staff.field("sms_tonight") == "on"
        count = await scheduler.send_now(group, sms_tonight=tonight)
        name = "reminders.send_now"
        details.update(recipients=count, sms_tonight=tonight)
    elif action == "skip":
        await scheduler.skip(group, actor_member_id=staff.member_id)
        name = "reminders.skip"
        details.update(recipients=group.recipients)
    else:
        await scheduler.restore(group)
        name = "reminders.restore"
        details.update(recipients=group.recipients)
    await audit(request, staff, name, group.ref, details)
    return RedirectResponse(f"{back}&done={action}", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/reminders", reminders_page, methods=["GET"]),
        Route("/admin/reminders/{ref:str}/{action:str}", act, methods=["POST"]),
    ]
