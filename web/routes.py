"""All dashboard routes, in one list for `rt.web_routes` (see handlers/dashboard.py)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from web.pages import (
    accounts,
    audiences,
    audit,
    auth,
    broadcasts,
    event_door,
    events,
    grant_forms,
    grants,
    members,
    overview,
    panels,
    polls,
    reminders,
    simulator,
    youth,
    youth_forms,
)
from web.render import NAV

STATIC = Path(__file__).resolve().parent / "static"

MENU: list[tuple[str, str, bool]] = [
    ("/admin", "nav.overview", False),
    ("/admin/members", "nav.members", False),
    ("/admin/events", "nav.events", False),
    ("/admin/polls", "nav.polls", False),
    ("/admin/broadcasts", "nav.broadcasts", False),
    ("/admin/audiences", "nav.audiences", False),
    ("/admin/grants", "nav.grants", False),
    ("/admin/youth", "nav.youth", False),
    ("/admin/reminders", "nav.reminders", False),
    ("/admin/simulator", "nav.simulator", True),
    ("/admin/audit", "nav.audit", False),
    ("/admin/accounts", "nav.accounts", True),
]


def dashboard_routes() -> list[BaseRoute]:
    if not NAV:
        NAV.extend(MENU)
    panels.register()
    return [
        Mount("/admin/static", app=StaticFiles(directory=STATIC), name="dashboard-static"),
        *auth.routes(),
        *overview.routes(),
        *members.routes(),
        *audit.routes(),
        *accounts.routes(),
        *events.routes(),
        *event_door.routes(),
        *polls.routes(),
        *broadcasts.routes(),
        *audiences.routes(),
        *grant_forms.routes(),
        *grants.routes(),
        *youth_forms.routes(),
        *youth.routes(),
        *reminders.routes(),
        *simulator.routes(),
    ]
