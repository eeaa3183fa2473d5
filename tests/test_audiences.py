"""Who an audience covers: the same answer from the query and from the one-member rule."""

from __future__ import annotations

from bot.runtime import Runtime
from models.audiences import Audience, matches, select_members
from models.base import utcnow
from tests.factories import community_id, make_member


async def test_audience_filters_combine(rt: Runtime) -> None:
    async with rt.db.session() as session:
        kabali = await community_id(session, "kabali")
        young_farmer = await make_member(
            session, community="kabali", birth_year=2004, sector="private", language="az"
        )
        await make_member(session, community="kabali", birth_year=1960, sector="private")
        await make_member(session, community="pona", birth_year=2004, sector="private")
        await make_member(session, community="kabali", birth_year=2004, sector="public")
        await make_member(session, community="kabali", birth_year=2004, sector="private",
                          consent_announcements=False)  # fmt: skip
        audience = Audience(communities=[kabali], sectors=["private"], youth=True)
        now = utcnow()
        chosen = await select_members(session=session, audience=audience, now=now)
        assert [m.id for m in chosen] == [young_farmer.id]
        assert matches(young_farmer, audience, year=now.year)


async def test_everyone_excludes_simulated_and_erased(rt: Runtime) -> None:
    async with rt.db.session() as session:
        real = await make_member(session)
        await make_member(session, is_simulated=True)
        await make_member(session, status="erased")
        await make_member(session, status="pending_guardian")
        chosen = await select_members(session=session, audience=Audience.everyone(), now=utcnow())
        assert [m.id for m in chosen] == [real.id]


async def test_interests_and_board(rt: Runtime) -> None:
    async with rt.db.session() as session:
        tourist = await make_member(session, interests=["tourism", "culture"])
        await make_member(session, interests=["agriculture"])
        board = await make_member(session, role="board", interests=[])
        now = utcnow()
        by_interest = await select_members(
            session=session, audience=Audience(interests=["tourism"]), now=now
        )
        assert [m.id for m in by_interest] == [tourist.id]
        boards = await select_members(session=session, audience=Audience.board(), now=now)
        assert [m.id for m in boards] == [board.id]
        assert Audience.from_json(Audience.board().to_json()) == Audience.board()
