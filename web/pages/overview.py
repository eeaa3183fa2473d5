"""The overview: who the LAG reaches, the sector balance, and what is coming up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from models.base import utcnow
from models.communities import list_communities
from models.dashboard_stats import SECTORS, CommunityRow, SectorBalance, overview
from web.guard import Staff, page, runtime
from web.i18n import gettext
from web.render import render

if TYPE_CHECKING:
    from bot.runtime import Runtime

# Capabilities' own overview panels (upcoming events, running broadcasts, ...): each returns
# (template, context) or None when it has nothing to show.
Panel = Callable[[AsyncSession, "Runtime"], Awaitable[tuple[str, dict[str, Any]] | None]]
PANELS: list[Panel] = []


async def gateway_lines(session: AsyncSession, rt: Runtime, language: str) -> list[str]:
    """The SMS gateway phone's health, as /stats and /gateway show it (handlers.gateway_health
    sets the hooks only when the gateway is configured; nothing to show otherwise)."""
    section = rt.hooks.get("stats.section.gateway")
    if section is None:
        return []
    lines: list[str] = await section(session, language)
    return lines


@page(Access.BOARD)
async def overview_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    panels: list[tuple[str, dict[str, Any]]] = []
    async with rt.db.session() as session:
        stats = await overview(
            session=session,
            now=utcnow(),
            youth_min=rt.settings.youth_min_age,
            youth_max=rt.settings.youth_max_age,
        )
        communities = await list_communities(session=session)
        for panel in PANELS:
            shown = await panel(session, rt)
            if shown is not None:
                panels.append(shown)
        gateway = await gateway_lines(session, rt, staff.language)

    def sector_name(sector: str) -> str:
        return gettext(staff.language, f"sector.{sector}")

    def row_parts(row: CommunityRow) -> list[tuple[str, int, str]]:
        return [
            (f"s-{s}", row.by_sector[s], f"{sector_name(s)}: {row.by_sector[s]}")
            for s in [*SECTORS, "none"]
        ]

    def balance_parts(balance: SectorBalance) -> list[tuple[str, int, str]]:
        return [(f"s-{s}", balance.counts[s], sector_name(s)) for s in SECTORS]

    return await render(
        request, staff, "overview.html", stats=stats, sectors=SECTORS,
        community_count=len(communities), panels=panels, row_parts=row_parts,
        balance_parts=balance_parts, gateway=gateway,
    )  # fmt: skip


def routes() -> list[BaseRoute]:
    return [Route("/admin", overview_page, methods=["GET"])]
