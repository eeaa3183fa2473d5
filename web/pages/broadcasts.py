"""Broadcasts on the web: compose with the audience filters and the live count, preview the
per-language SMS parts and the cost against the monthly budget, send now or schedule, then
watch the progress and read the delivery report — all through models.broadcasts*.

The preview's figures travel to "Send" in one signed form field, so what is sent is exactly
what was shown (the recipients the preview counted, as /broadcast does in Telegram).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import LANGUAGES
from bot.outbound import quiet_until
from bot.roles import Access
from models.audiences import Audience, audience_reach
from models.audit import record_audit
from models.base import utcnow
from models.broadcast_costs import estimate_cost, month_spent
from models.broadcast_reports import broadcast_report, report_csv
from models.broadcast_schedules import (
    BroadcastSchedule,
    ScheduleError,
    ScheduleKind,
    ScheduleStatus,
    create_schedule,
    listed_schedules,
    set_status,
)
from models.broadcasts import (
    MAX_TEXT,
    Broadcast,
    Estimate,
    broadcast_progress,
    cancel_broadcast,
    clean_texts,
    finish_if_done,
    publish_broadcast,
    recent_broadcasts,
)
from web.forms import (
    AudienceNote,
    audience_button,
    audience_choices,
    audience_from_form,
    parse_local,
)
from web.guard import Staff, page, runtime
from web.render import error_page, render

WHEN = ("now", "once", "weekly", "monthly")


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(runtime(request).settings.secret_key, salt="lagbot.web.broadcast")


@page(Access.BOARD)
async def broadcasts_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        items = await recent_broadcasts(session=session, limit=50)
        progress = await broadcast_progress(
            session=session, broadcast_ids=[b.id for b in items if b.id is not None]
        )
        schedules = await listed_schedules(session=session)
    return await render(
        request, staff, "broadcasts.html", items=items, progress=progress, schedules=schedules,
        done=request.query_params.get("done"), error=_error(request.query_params.get("error")),
    )  # fmt: skip


def _error(value: str | None) -> str | None:
    """Only our own messages come back through the URL."""
    return value if value in ("confirm", "schedule_unchanged") else None


def _values(staff: Staff) -> dict[str, Any]:
    values: dict[str, Any] = {
        f"text_{lang}": staff.field(f"text_{lang}", MAX_TEXT + 1) for lang in LANGUAGES
    }
    values.update(
        urgent=staff.field("urgent") == "on",
        when=staff.field("when") if staff.field("when") in WHEN else "now",
        at=staff.field("at", 20),
        time=staff.field("time", 5),
        weekdays=[int(d) for d in staff.fields("weekday") if d.isdigit() and int(d) < 7],
        month_day=staff.field("month_day", 2),
    )
    return values


async def _compose(
    request: Request, staff: Staff, values: dict[str, Any], audience: Audience,
    error: str | None = None, status: int = 200, note: AudienceNote | None = None,
) -> Response:  # fmt: skip
    rt = runtime(request)
    async with rt.db.session() as session:
        choices = await audience_choices(session, rt.settings)
        reach = await audience_reach(
            session=session, audience=audience, now=utcnow(), urgent=bool(values["urgent"]),
            youth_min=rt.settings.youth_min_age, youth_max=rt.settings.youth_max_age,
        )  # fmt: skip
    return await render(
        request, staff, "broadcast_form.html", status=status, v=values, aud=audience,
        reach=reach, error=error, langs=LANGUAGES, max_text=MAX_TEXT, aud_note=note, **choices,
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def new_broadcast(request: Request, staff: Staff) -> Response:
    values: dict[str, Any] = {f"text_{lang}": "" for lang in LANGUAGES}
    values.update(urgent=False, when="now", at="", time="10:00", weekdays=[], month_day="1")
    return await _compose(request, staff, values, Audience())


def _when(values: dict[str, Any], tz: Any) -> dict[str, Any] | str:
    """The schedule the form asks for, or the catalog key of what is wrong with it."""
    kind = values["when"]
    if kind == "now":
        return {"kind": "now"}
    if kind == ScheduleKind.ONCE:
        at = parse_local(values["at"], tz)
        if at is None or at <= utcnow():
            return "bcerr.when"
        return {"kind": kind, "at": at.isoformat()}
    hhmm = values["time"]
    if len(hhmm) != 5 or hhmm[2] != ":" or not (hhmm[:2] + hhmm[3:]).isdigit():
        return "bcerr.time"
    if kind == ScheduleKind.WEEKLY:
        if not values["weekdays"]:
            return "bcerr.weekdays"
        return {"kind": kind, "weekdays": values["weekdays"], "time": hhmm}
    day = values["month_day"]
    if not day.isdigit() or not 1 <= int(day) <= 31:
        return "bcerr.month_day"
    return {"kind": kind, "month_day": int(day), "time": hhmm}


@page(Access.SECRETARIAT)
async def preview(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    values, audience = _values(staff), audience_from_form(staff)
    async with rt.db.session() as session:
        note = await audience_button(session, staff)
    if note is not None:  # "Use" or "Save as…": the form again, with that audience
        return await _compose(request, staff, values, note.audience, note=note,
                              status=200 if note.ok else 400)  # fmt: skip
    texts = clean_texts({lang: values[f"text_{lang}"] for lang in LANGUAGES})
    when = _when(values, rt.settings.tz)
    error = None
    if not texts.get("ka"):
        error = "bcerr.georgian"
    elif any(len(text) > MAX_TEXT for text in texts.values()):
        error = "bcerr.too_long"
    elif isinstance(when, str):
        error = when
    if error is not None or isinstance(when, str):
        return await _compose(request, staff, values, audience, error, 400)
    return await _preview(request, staff, texts, audience, bool(values["urgent"]), when, values)


async def _preview(
    request: Request, staff: Staff, texts: dict[str, str], audience: Audience, urgent: bool,
    when: dict[str, Any], values: dict[str, Any] | None = None, error: str | None = None,
) -> Response:  # fmt: skip
    """The preview with its signed draft (also shown again when Send needs a confirmation)."""
    rt, now = runtime(request), utcnow()
    async with rt.db.session() as session:
        reach = await audience_reach(
            session=session, audience=audience, now=now, urgent=urgent,
            youth_min=rt.settings.youth_min_age, youth_max=rt.settings.youth_max_age,
        )  # fmt: skip
        spent = await month_spent(session=session, settings=rt.settings, now=now)
    if not reach.recipients and values is not None:
        return await _compose(request, staff, values, audience, "bcerr.nobody", 400)
    estimate = estimate_cost(
        texts=texts, reach=reach, urgent=urgent, settings=rt.settings, month_spent=spent
    )
    shown = {"telegram": reach.telegram, "sms": reach.sms, "unreachable": reach.unreachable,
             "opted_out": reach.opted_out}  # fmt: skip
    draft = {
        "texts": texts, "audience": audience.to_json(), "urgent": urgent, "when": when,
        "member_ids": [m.id for m in reach.recipients], "reach": shown,
        "estimate": {"parts": estimate.sms_parts, "cost": estimate.cost,
                     "over": estimate.over_budget, "spent": estimate.month_spent},
    }  # fmt: skip
    quiet = None
    if not urgent and reach.sms and when["kind"] == "now":
        quiet = quiet_until(rt.settings, now)
    return await render(
        request, staff, "broadcast_preview.html", status=400 if error else 200,
        estimate=estimate, reach=reach, shown=shown, draft=_signer(request).dumps(draft),
        when=when, urgent=urgent, quiet=quiet, texts=texts, error=error,
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def send(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    try:
        draft: dict[str, Any] = _signer(request).loads(staff.field("draft", 200_000))
    except BadSignature:
        return await error_page(request, staff, 400, "errors.csrf")
    estimate, when = draft["estimate"], draft["when"]
    over = bool(estimate.get("over"))
    audience = Audience.from_json(draft["audience"])
    urgent = bool(draft["urgent"])
    if over and staff.field("over_budget_ok") != "yes":
        return await _preview(request, staff, draft["texts"], audience, urgent, when,
                              error="bcerr.confirm_budget")  # fmt: skip
    actor = f"member:{staff.member_id}" if staff.member_id else staff.actor_label
    async with rt.db.session() as session:
        if when["kind"] != "now":
            try:
                schedule = await create_schedule(
                    session=session, settings=rt.settings, kind=when["kind"],
                    texts=draft["texts"], audience=draft["audience"], urgent=draft["urgent"],
                    created_by=staff.member_id,
                    send_at=datetime.fromisoformat(when["at"]) if when.get("at") else None,
                    weekdays=list(when.get("weekdays", [])), month_day=when.get("month_day"),
                    local_time=when.get("time"), over_budget_ok=over,
                )  # fmt: skip
            except ScheduleError:
                error: str | None = "bcerr.when"
            else:
                error = None
            if error is not None:
                return await _preview(request, staff, draft["texts"], audience, urgent, when,
                                      error=error)  # fmt: skip
            await record_audit(
                session=session, action="broadcast.schedule", actor_member_id=staff.member_id,
                actor_label=staff.actor_label, target=f"schedule:{schedule.id}",
                details={"kind": schedule.kind, "urgent": schedule.urgent,
                         "over_budget_ok": over, "by": actor},
            )  # fmt: skip
            return RedirectResponse("/admin/broadcasts?done=scheduled", status_code=303)
        broadcast = await publish_broadcast(
            session=session, settings=rt.settings, texts=draft["texts"], audience=audience,
            urgent=urgent, created_by=staff.member_id,
            member_ids=[int(i) for i in draft["member_ids"]],
            estimate=Estimate(int(estimate["parts"]), float(estimate["cost"]), over),
            shown_reach=draft["reach"],
        )  # fmt: skip
        await record_audit(
            session=session, action="broadcast.publish", actor_member_id=staff.member_id,
            actor_label=staff.actor_label, target=f"broadcast:{broadcast.id}",
            details={"recipients": broadcast.recipients, "urgent": broadcast.urgent,
                     "sms_parts": broadcast.sms_parts, "over_budget": broadcast.over_budget,
                     "languages": sorted(broadcast.texts)},
        )  # fmt: skip
    rt.delivery.wake()
    return RedirectResponse(f"/admin/broadcasts/{broadcast.id}", status_code=303)


@page(Access.BOARD)
async def broadcast_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    broadcast_id = request.path_params["broadcast_id"]
    async with rt.db.session() as session:
        report = await broadcast_report(session=session, broadcast_id=broadcast_id)
        if report is not None:
            await finish_if_done(session=session, broadcast=report.broadcast,
                                 progress=report.progress)  # fmt: skip
    if report is None:
        return await error_page(request, staff, 404, "errors.not_found")
    return await render(request, staff, "broadcast.html", report=report, b=report.broadcast,
                        p=report.progress, done=request.query_params.get("done"))  # fmt: skip


@page(Access.SECRETARIAT)
async def stop(request: Request, staff: Staff) -> Response:
    broadcast_id = request.path_params["broadcast_id"]
    async with runtime(request).db.session() as session:
        if await session.get(Broadcast, broadcast_id) is None:
            return await error_page(request, staff, 404, "errors.not_found")
        cancelled = await cancel_broadcast(session=session, broadcast_id=broadcast_id)
        await record_audit(
            session=session, action="broadcast.stop", actor_member_id=staff.member_id,
            actor_label=staff.actor_label, target=f"broadcast:{broadcast_id}",
            details={"cancelled": cancelled},
        )  # fmt: skip
    return RedirectResponse(f"/admin/broadcasts/{broadcast_id}?done=stopped", status_code=303)


SCHEDULE_ACTIONS = {
    "pause": ScheduleStatus.PAUSED,
    "resume": ScheduleStatus.ACTIVE,
    "cancel": ScheduleStatus.CANCELLED,
}


@page(Access.SECRETARIAT)
async def schedule_action(request: Request, staff: Staff) -> Response:
    """Pause, resume or cancel a scheduled broadcast before it goes out — the same
    models.broadcast_schedules.set_status and audit entry as /scheduled in Telegram."""
    rt = runtime(request)
    schedule_id, action = request.path_params["schedule_id"], request.path_params["action"]
    target = SCHEDULE_ACTIONS.get(action)
    if target is None:
        return await error_page(request, staff, 404, "errors.not_found")
    if target == ScheduleStatus.CANCELLED and staff.field("confirm") != "yes":
        return RedirectResponse(f"/admin/broadcasts?error=confirm#s{schedule_id}", status_code=303)
    async with rt.db.session() as session:
        schedule = await session.get(BroadcastSchedule, schedule_id)
        if schedule is None:
            return await error_page(request, staff, 404, "errors.not_found")
        changed = await set_status(
            session=session, settings=rt.settings, schedule=schedule, status=target
        )
        if changed:
            await record_audit(
                session=session, action=f"broadcast.schedule_{schedule.status}",
                actor_member_id=staff.member_id, actor_label=staff.actor_label,
                target=f"schedule:{schedule.id}",
            )  # fmt: skip
    outcome = f"done=schedule_{action}" if changed else "error=schedule_unchanged"
    return RedirectResponse(f"/admin/broadcasts?{outcome}", status_code=303)


@page(Access.SECRETARIAT)
async def export(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    broadcast_id = request.path_params["broadcast_id"]
    async with rt.db.session() as session:
        if await session.get(Broadcast, broadcast_id) is None:
            return await error_page(request, staff, 404, "errors.not_found")
        body = await report_csv(session=session, broadcast_id=broadcast_id, settings=rt.settings)
        await record_audit(
            session=session, action="broadcast.export", actor_member_id=staff.member_id,
            actor_label=staff.actor_label, target=f"broadcast:{broadcast_id}",
        )  # fmt: skip
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="broadcast-{broadcast_id}.csv"'},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/broadcasts", broadcasts_page, methods=["GET"]),
        Route("/admin/broadcasts/new", new_broadcast, methods=["GET"]),
        Route("/admin/broadcasts/preview", preview, methods=["POST"]),
        Route("/admin/broadcasts/send", send, methods=["POST"]),
        Route("/admin/broadcasts/{broadcast_id:int}", broadcast_page, methods=["GET"]),
        Route("/admin/broadcasts/{broadcast_id:int}/stop", stop, methods=["POST"]),
        Route("/admin/broadcasts/{broadcast_id:int}.csv", export, methods=["GET"]),
        Route(
            "/admin/broadcasts/schedules/{schedule_id:int}/{action:str}",
            schedule_action,
            methods=["POST"],
        ),
    ]
