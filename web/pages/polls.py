"""Polls on the web: send one (models.polls.open_poll + the capability's ballots), live results
with a chart and breakdowns (small groups hidden by models.polls_results), close, CSV."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from handlers.polls_export import export_csv
from handlers.polls_jobs import close_and_announce, communities_by_id, queue_ballots
from handlers.polls_render import group_label
from models.audiences import Audience, select_members
from models.audit import record_audit
from models.base import utcnow
from models.polls import MAX_OPTIONS, TRANSLATIONS, PollInvalid, get_poll, list_polls, open_poll
from models.polls_results import poll_results
from web.forms import (
    AudienceNote,
    audience_button,
    audience_choices,
    audience_from_form,
    local_input,
    parse_local,
)
from web.guard import Staff, audit, page, runtime
from web.render import error_page, render


@page(Access.BOARD)
async def polls_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        polls = await list_polls(session=session, limit=100)
        rows = [(p, await poll_results(session=session, poll=p)) for p in polls]
    return await render(request, staff, "polls.html", rows=rows)


async def _form(
    request: Request, staff: Staff, values: dict[str, str], audience: Audience,
    error: str | None = None, status: int = 200, note: AudienceNote | None = None,
) -> Response:  # fmt: skip
    rt = runtime(request)
    async with rt.db.session() as session:
        choices = await audience_choices(session, rt.settings)
        reach = len(
            await select_members(
                session=session, audience=audience, now=utcnow(),
                youth_min=rt.settings.youth_min_age, youth_max=rt.settings.youth_max_age,
            )
        )  # fmt: skip
    return await render(
        request, staff, "poll_form.html", status=status, v=values, aud=audience,
        reach=reach, error=error, max_options=MAX_OPTIONS, aud_note=note, **choices,
    )  # fmt: skip


FIELDS = (
    "question", "options", "closes", "multiple", "anonymous", "live", "share",
    *(f"{field}_{code}" for code in TRANSLATIONS for field in ("question", "options")),
)  # fmt: skip


@page(Access.SECRETARIAT)
async def new_poll_page(request: Request, staff: Staff) -> Response:
    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    closes = local_input(soon, runtime(request).settings.tz)
    values = {name: "" for name in FIELDS} | {"closes": closes}
    return await _form(request, staff, values, Audience())


@page(Access.SECRETARIAT)
async def create_poll(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    values = {name: staff.field(name, 2000) for name in FIELDS}
    audience = audience_from_form(staff)
    async with rt.db.session() as session:
        note = await audience_button(session, staff)
    if note is not None:  # "Use" or "Save as…": the form again, with that audience
        return await _form(request, staff, values, note.audience, note=note,
                           status=200 if note.ok else 400)  # fmt: skip
    options = [line.strip() for line in values["options"].splitlines() if line.strip()]
    versions = {  # optional az / ru / en (question, options) beside the Georgian ones
        code: (values[f"question_{code}"], values[f"options_{code}"].splitlines())
        for code in TRANSLATIONS
    }
    closes_at = parse_local(values["closes"], rt.settings.tz)
    now = utcnow()
    async with rt.db.session() as session:
        try:
            if closes_at is None:
                raise PollInvalid("closing")
            poll, members = await open_poll(
                session=session, question=values["question"], options=options,
                multiple=values["multiple"] == "on", anonymous=values["anonymous"] == "on",
                audience=audience, closes_at=closes_at, results_live=values["live"] == "on",
                results_to_voters=values["share"] == "on", created_by=staff.member_id,
                youth_ages=(rt.settings.youth_min_age, rt.settings.youth_max_age), now=now,
                versions=versions,
            )  # fmt: skip
            if not members:
                raise PollInvalid("nobody")
        except PollInvalid as exc:
            await session.rollback()
            return await _form(request, staff, values, audience, f"pollerr.{exc.reason}", 400)
        counts = await queue_ballots(rt, session, poll, members, now)
        await record_audit(
            session=session,
            action="poll.create",
            actor_member_id=staff.member_id,
            actor_label=staff.actor_label,
            target=poll.code,
            details={
                "question": poll.question, "options": poll.options, "anonymous": poll.anonymous,
                "versions": sorted(poll.question_versions or {}),
                "multiple": poll.multiple, "audience": poll.audience,
                "closes_at": poll.closes_at.isoformat(), "recipients": len(members), **counts,
            },
        )  # fmt: skip
    rt.delivery.wake()
    return RedirectResponse(f"/admin/polls/{poll.id}?done=sent", status_code=303)


@page(Access.BOARD)
async def poll_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    async with rt.db.session() as session:
        poll = await get_poll(session=session, poll_id=request.path_params["poll_id"])
        if poll is None:
            return await error_page(request, staff, 404, "errors.not_found")
        results = await poll_results(session=session, poll=poll)
        communities = await communities_by_id(session)
    ages = (rt.settings.youth_min_age, rt.settings.youth_max_age)

    def label(dimension: str, key: str) -> str:
        return group_label(dimension, key, staff.language, communities, ages)

    saved = poll.versions()  # the az / ru / en versions beside the Georgian one, if any
    versions = [(code, *saved[code]) for code in TRANSLATIONS if code in saved]
    return await render(
        request, staff, "poll.html", poll=poll, results=results, label=label, versions=versions,
        done=request.query_params.get("done"), error=request.query_params.get("error"),
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def close_poll_post(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    poll_id = request.path_params["poll_id"]
    if staff.field("confirm") != "yes":
        return RedirectResponse(f"/admin/polls/{poll_id}?error=confirm", status_code=303)
    closed_by = f"member:{staff.member_id}" if staff.member_id else staff.actor_label
    async with rt.db.session() as session:
        closed = await close_and_announce(
            rt, session, poll_id, closed_by=closed_by, actor_member_id=staff.member_id,
            now=utcnow(),
        )  # fmt: skip
    if closed is None:
        return RedirectResponse(f"/admin/polls/{poll_id}?error=closed", status_code=303)
    rt.delivery.wake()
    return RedirectResponse(f"/admin/polls/{poll_id}?done=closed", status_code=303)


@page(Access.SECRETARIAT)
async def poll_export(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    async with rt.db.session() as session:
        poll = await get_poll(session=session, poll_id=request.path_params["poll_id"])
        if poll is None:
            return await error_page(request, staff, 404, "errors.not_found")
        communities = await communities_by_id(session)
        name, body = await export_csv(session, poll, staff.language, rt.settings, communities)
    await audit(request, staff, "poll.export", poll.code, {"anonymous": poll.anonymous})
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/polls", polls_page, methods=["GET"]),
        Route("/admin/polls/new", new_poll_page, methods=["GET"]),
        Route("/admin/polls/new", create_poll, methods=["POST"]),
        Route("/admin/polls/{poll_id:int}", poll_page, methods=["GET"]),
        Route("/admin/polls/{poll_id:int}/close", close_poll_post, methods=["POST"]),
        Route("/admin/polls/{poll_id:int}.csv", poll_export, methods=["GET"]),
    ]
