"""Events on the web: list, create, edit, publish, cancel — the same rules and notices as /newevent
and /editevent (models.events, handlers.events_notify) — RSVP lists and counts, CSV.
Check-in at the door and the quorum are in web.pages.event_door."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import LANGUAGES, t
from bot.roles import Access
from handlers.events_notify import (
    apply_and_notify,
    cancel_and_notify,
    publish_and_announce,
)
from models.audiences import Audience, select_members
from models.base import utcnow
from models.communities import list_communities
from models.event_attendance import attendees, count
from models.event_reports import assembly_quorum
from models.event_rsvps import EventRsvp
from models.events import (
    Event,
    EventDraft,
    EventInputError,
    EventKind,
    EventStateError,
    create_event,
    get_event,
    parse_capacity,
    parse_local_datetime,
    parse_offsets,
)
from models.members import Member
from web.forms import (
    AudienceNote,
    acting_member,
    audience_button,
    audience_choices,
    audience_from_form,
    local_input,
    on_behalf,
)
from web.guard import Staff, audit, page, runtime
from web.render import error_page, render


async def simulated_answers(session: AsyncSession, event_id: int) -> Counter[str]:
    """Answers from simulated members: shown apart, never in the real counts."""
    rows = await session.execute(
        select(EventRsvp.answer)
        .join(Member, col(Member.id) == col(EventRsvp.member_id))
        .where(EventRsvp.event_id == event_id, col(Member.is_simulated).is_(True))
    )
    return Counter(str(a) for a in rows.scalars() if a)


@page(Access.BOARD)
async def events_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    past = request.query_params.get("past") == "1"
    now = utcnow()
    async with rt.db.session() as session:
        query = select(Event)
        if past:
            query = query.where(col(Event.ends_at) <= now).order_by(col(Event.starts_at).desc())
        else:
            query = query.where(col(Event.ends_at) > now).order_by(col(Event.starts_at))
        events = list((await session.execute(query.limit(100))).scalars())
        rows = []
        for event in events:
            assert event.id is not None
            counts = count(await attendees(session=session, event=event))
            rows.append((event, counts, await simulated_answers(session, event.id)))
    return await render(request, staff, "events.html", rows=rows, past=past)


def _form_values_keys() -> list[str]:
    names = ["kind", "starts", "ends", "place", "capacity", "deadline", "reminders"]
    texts = [f"{field}_{lang}" for field in ("title", "description") for lang in LANGUAGES]
    return names + texts


def _form_values(staff: Staff) -> dict[str, str]:
    return {name: staff.field(name, 2000) for name in _form_values_keys()}


def _draft(values: dict[str, str], audience: Audience, rt_tz: Any, now: Any) -> EventDraft:
    """The typed form as an EventDraft; EventInputError (a catalog key) for the first problem."""
    if not values["starts"] or not values["ends"]:
        raise EventInputError("events.err_datetime_format")
    starts = parse_local_datetime(values["starts"], tz=rt_tz, now=now)
    ends = parse_local_datetime(values["ends"], tz=rt_tz, now=now)
    deadline = (
        parse_local_datetime(values["deadline"], tz=rt_tz, now=now) if values["deadline"] else None
    )
    return EventDraft(
        kind=values["kind"],
        title={lang: values[f"title_{lang}"] for lang in LANGUAGES},
        description={lang: values[f"description_{lang}"] for lang in LANGUAGES},
        starts_at=starts,
        ends_at=ends,
        place=values["place"],
        capacity=parse_capacity(values["capacity"]) if values["capacity"] else None,
        rsvp_deadline=deadline,
        audience=audience.to_json(),
        reminders=parse_offsets(values["reminders"]) if values["reminders"] else None,
    )


async def _form_page(
    request: Request,
    staff: Staff,
    *,
    event: Event | None,
    values: dict[str, str],
    audience: Audience,
    error: str | None = None,
    status: int = 200,
    note: AudienceNote | None = None,
) -> Response:
    rt = runtime(request)
    async with rt.db.session() as session:
        choices = await audience_choices(session, rt.settings)
        reach = len(
            await select_members(
                session=session,
                audience=audience,
                now=utcnow(),
                youth_min=rt.settings.youth_min_age,
                youth_max=rt.settings.youth_max_age,
            )
        )
    return await render(
        request, staff, "event_form.html", status=status, event=event, v=values, aud=audience,
        kinds=[k.value for k in EventKind], error=error, reach=reach, langs=LANGUAGES,
        aud_note=note, **choices,
    )  # fmt: skip


def _values_of(event: Event, tz: Any) -> dict[str, str]:
    values = {
        "kind": event.kind,
        "starts": local_input(event.starts_at, tz),
        "ends": local_input(event.ends_at, tz),
        "place": event.place,
        "capacity": str(event.capacity or ""),
        "deadline": local_input(event.rsvp_deadline, tz),
        "reminders": ", ".join(event.reminders or []),
    }
    for lang in LANGUAGES:
        values[f"title_{lang}"] = event.title.get(lang, "")
        values[f"description_{lang}"] = event.description.get(lang, "")
    return values


@page(Access.SECRETARIAT)
async def new_event_page(request: Request, staff: Staff) -> Response:
    values = {k: "" for k in _form_values_keys()}
    values["kind"] = EventKind.ASSEMBLY.value
    return await _form_page(request, staff, event=None, values=values, audience=Audience())


@page(Access.SECRETARIAT)
async def create_event_post(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    values, audience, now = _form_values(staff), audience_from_form(staff), utcnow()
    async with rt.db.session() as session:
        note = await audience_button(session, staff)
    if note is not None:  # "Use" or "Save as…": the form again, with that audience
        return await _form_page(request, staff, event=None, values=values,
                                audience=note.audience, note=note,
                                status=200 if note.ok else 400)  # fmt: skip
    try:
        draft = _draft(values, audience, rt.settings.tz, now)
        async with rt.db.session() as session:
            actor = await acting_member(session, staff)
            event = await create_event(session=session, draft=draft, actor=actor, now=now)
            await on_behalf(session, staff, "event.create", f"event:{event.id}", actor)
    except EventInputError as exc:
        error = t(exc.key, staff.language, **exc.values)
        return await _form_page(request, staff, event=None, values=values, audience=audience,
                                error=error, status=400)  # fmt: skip
    return RedirectResponse(f"/admin/events/{event.id}?done=created", status_code=303)


async def _event_or_404(request: Request, staff: Staff) -> Event | Response:
    async with runtime(request).db.session() as session:
        event = await get_event(session=session, event_id=request.path_params["event_id"])
    if event is None:
        return await error_page(request, staff, 404, "errors.not_found")
    return event


def _error_key(value: str | None) -> str | None:
    """Only our own messages come back through the URL."""
    if value == "confirm" or (value and value.startswith("events.err_")):
        return value
    return None


@page(Access.BOARD)
async def event_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    found = await _event_or_404(request, staff)
    if isinstance(found, Response):
        return found
    event = found
    assert event.id is not None
    async with rt.db.session() as session:
        people = await attendees(session=session, event=event)
        simulated = await simulated_answers(session, event.id)
        communities = {c.id: c for c in await list_communities(session=session)}
        quorum = None
        if event.kind == EventKind.ASSEMBLY:
            quorum = await assembly_quorum(session=session, event=event, settings=rt.settings)
    if people:  # names of who answered: a view of personal data, logged
        await audit(request, staff, "event.answers_viewed", f"event:{event.id}",
                    {"count": len(people)})  # fmt: skip
    groups: dict[str, list[Any]] = {k: [] for k in ("going", "waitlist", "maybe", "no", "invited")}
    for person in people:
        groups.setdefault(person.status, []).append(person)
    return await render(
        request, staff, "event.html", event=event, counts=count(people), groups=groups,
        simulated=simulated, communities=communities, done=request.query_params.get("done"),
        error=_error_key(request.query_params.get("error")), t_member=t, quorum=quorum,
        query=request.query_params,
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def edit_event_page(request: Request, staff: Staff) -> Response:
    found = await _event_or_404(request, staff)
    if isinstance(found, Response):
        return found
    values = _values_of(found, runtime(request).settings.tz)
    return await _form_page(request, staff, event=found, values=values,
                            audience=found.audience_filter())  # fmt: skip


@page(Access.SECRETARIAT)
async def edit_event_post(request: Request, staff: Staff) -> Response:
    """Save, then tell whoever must know — the same handlers.events_notify.apply_and_notify as
    /editevent."""
    rt = runtime(request)
    values, audience, now = _form_values(staff), audience_from_form(staff), utcnow()
    event_id = request.path_params["event_id"]
    async with rt.db.session() as session:
        note = await audience_button(session, staff)
        shown = await get_event(session=session, event_id=event_id) if note else None
    if note is not None:  # "Use" or "Save as…": the form again, with that audience
        if shown is None:
            return await error_page(request, staff, 404, "errors.not_found")
        return await _form_page(request, staff, event=shown, values=values,
                                audience=note.audience, note=note,
                                status=200 if note.ok else 400)  # fmt: skip
    try:
        draft = _draft(values, audience, rt.settings.tz, now)
        async with rt.db.session() as session:
            event = await get_event(session=session, event_id=event_id, lock=True)
            if event is None:
                return await error_page(request, staff, 404, "errors.not_found")
            actor = await acting_member(session, staff)
            changes: dict[str, Any] = {
                "title": {k: v.strip() for k, v in draft.title.items() if v.strip()},
                "description": {k: v.strip() for k, v in draft.description.items() if v.strip()},
                "starts_at": draft.starts_at, "ends_at": draft.ends_at,
                "place": draft.place.strip(),
                "capacity": draft.capacity, "rsvp_deadline": draft.rsvp_deadline,
                "audience": draft.audience, "reminders": draft.reminders,
            }  # fmt: skip
            changed, told = await apply_and_notify(rt, session, event, changes, actor, now)
            if changed:
                await on_behalf(session, staff, "event.edit", f"event:{event.id}", actor)
    except (EventInputError, EventStateError) as exc:
        error = t(exc.key, staff.language, **getattr(exc, "values", {}))
        async with rt.db.session() as session:
            event = await get_event(session=session, event_id=event_id)
        return await _form_page(request, staff, event=event, values=values, audience=audience,
                                error=error, status=400)  # fmt: skip
    rt.delivery.wake()
    return RedirectResponse(f"/admin/events/{event_id}?done=saved&told={told}", status_code=303)


@page(Access.SECRETARIAT)
async def publish_event(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    event_id, now = request.path_params["event_id"], utcnow()
    error: str | None = None
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=event_id, lock=True)
        if event is None:
            return await error_page(request, staff, 404, "errors.not_found")
        actor = await acting_member(session, staff)
        try:
            invited, reached = await publish_and_announce(rt, session, event, actor, now)
        except (EventInputError, EventStateError) as exc:
            error = exc.key
        else:
            await on_behalf(session, staff, "event.publish", f"event:{event_id}", actor)
    if error is not None:
        return RedirectResponse(f"/admin/events/{event_id}?error={error}", status_code=303)
    rt.delivery.wake()
    return RedirectResponse(
        f"/admin/events/{event_id}?done=published&invited={invited}&reached={reached}",
        status_code=303,
    )


@page(Access.SECRETARIAT)
async def cancel_event(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    event_id, now = request.path_params["event_id"], utcnow()
    if staff.field("confirm") != "yes":
        return RedirectResponse(f"/admin/events/{event_id}?error=confirm", status_code=303)
    async with rt.db.session() as session:
        event = await get_event(session=session, event_id=event_id, lock=True)
        if event is None:
            return await error_page(request, staff, 404, "errors.not_found")
        actor = await acting_member(session, staff)
        try:
            told = await cancel_and_notify(rt, session, event, actor, now)
        except EventStateError as exc:
            return RedirectResponse(f"/admin/events/{event_id}?error={exc.key}", status_code=303)
        await on_behalf(session, staff, "event.cancel", f"event:{event_id}", actor)
    rt.delivery.wake()
    return RedirectResponse(f"/admin/events/{event_id}?done=cancelled&told={told}", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/events", events_page, methods=["GET"]),
        Route("/admin/events/new", new_event_page, methods=["GET"]),
        Route("/admin/events/new", create_event_post, methods=["POST"]),
        Route("/admin/events/{event_id:int}", event_page, methods=["GET"]),
        Route("/admin/events/{event_id:int}/edit", edit_event_page, methods=["GET"]),
        Route("/admin/events/{event_id:int}/edit", edit_event_post, methods=["POST"]),
        Route("/admin/events/{event_id:int}/publish", publish_event, methods=["POST"]),
        Route("/admin/events/{event_id:int}/cancel", cancel_event, methods=["POST"]),
    ]
