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


async def test_the_picker_toggles_every_dimension_and_hides_what_a_capability_hides(
    rt: Runtime,
) -> None:
    from handlers.audience_picker import Picker, apply_token, describe, reach_for, screen

    chosen: dict[str, object] = {}
    for token in ("i:tourism", "g:female", "y", "r:board", "l", "s:private"):
        chosen = apply_token(chosen, token)
    assert Audience.from_json(chosen) == Audience(
        interests=["tourism"], genders=["female"], youth=True, roles=["board"],
        lag_members_only=True, sectors=["private"],
    )  # fmt: skip
    assert apply_token(apply_token(chosen, "g:female"), "all") == {}
    async with rt.db.session() as session:
        await make_member(session, interests=["tourism"], gender="female", telegram=False)
        await make_member(session, interests=["agriculture"], gender="female")
        women = apply_token(apply_token({}, "i:tourism"), "g:female")
        reach = await reach_for(session, rt.settings, women, urgent=False)
        assert (reach.total, reach.telegram, reach.sms) == (1, 0, 1)
        assert await describe(session, rt.settings, women, "en") == "Women · Tourism"
        full, _ = await screen(session, rt.settings, Picker("x"), {}, "en", title="T",
                               finish=lambda _: [])  # fmt: skip
        _, rows = await screen(
            session, rt.settings, Picker("x", hide=frozenset({"g", "r"}), can_save=False),
            {}, "en", title="T", finish=lambda _: [],
        )  # fmt: skip
    assert full.startswith("T\nAudience: Everyone\nRecipients: 2 — Telegram 1 · SMS 1")
    data = [button.data for row in rows for button in row]
    assert "x:v:c" in data and "x:v:g" not in data and "x:v:r" not in data
    assert "x:save" not in data and "x:v:saved" in data
