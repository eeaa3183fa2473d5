"""Who may see an initiative's team or move it on, as a conversation: a member who neither leads
it nor works at the secretariat is refused in their language, and every refused try leaves an
audit row naming the initiative and what was tried (by command or by a forged button)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, select

from models.audit import AuditLog
from tests.events_support import DAYTIME, patient, tg_member  # noqa: F401
from tests.harness import RunningBot, running_bot
from tests.youth_support import admin, open_initiative, young_year

pytestmark = pytest.mark.usefixtures("patient")


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def test_a_stranger_is_refused_the_team_start_finish_and_texts_and_each_try_is_audited(
    bot: RunningBot,
) -> None:
    _, lead = await tg_member(bot, name="ლიდერი ლაშა", birth_year=young_year(22))
    async with bot.rt.db.session() as session:
        secretary = await admin(session, telegram=False)
        initiative = await open_initiative(session, lead=lead, by=secretary)
    stranger, member = await tg_member(bot, name="ანა", birth_year=young_year(20))
    await stranger.send(f"/team Y{initiative.id}")
    assert "მხოლოდ ინიციატივის ლიდერი და სამდივნო" in (await stranger.reply()).text
    await stranger.send(f"/start_initiative Y{initiative.id}")
    assert "მხოლოდ ინიციატივის ლიდერი ან სამდივნო" in (await stranger.reply()).text
    await stranger.send(f"/finish_initiative Y{initiative.id}")
    assert "მხოლოდ ინიციატივის ლიდერი ან სამდივნო" in (await stranger.reply()).text
    await stranger.send(f"/initiative_text Y{initiative.id} en")
    assert "მხოლოდ ინიციატივის ლიდერი ან სამდივნო" in (await stranger.reply()).text
    # The card's "team" button, forged on the list: the same refusal, in the chat.
    await stranger.send("/initiatives")
    listing = await stranger.reply()
    await stranger.press_data(f"yi:t:{initiative.id}", message=listing)
    assert "მხოლოდ ინიციატივის ლიდერი და სამდივნო" in (await stranger.reply()).text
    async with bot.rt.db.session() as session:
        refused = (
            (
                await session.execute(
                    select(AuditLog)
                    .where(AuditLog.action == "access.refused")
                    .order_by(col(AuditLog.id))
                )
            )
            .scalars()
            .all()
        )
    assert [(a.target, a.actor_member_id) for a in refused] == [
        (f"youth:{initiative.id}:team", member.id),
        (f"youth:{initiative.id}:start", member.id),
        (f"youth:{initiative.id}:finish", member.id),
        (f"youth:{initiative.id}:text", member.id),
        (f"youth:{initiative.id}:team", member.id),
    ]
