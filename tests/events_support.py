"""Shared steps for the events tests: a secretariat member, members on each channel, and a
published event created the way /newevent's "Publish" does it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.runtime import Runtime
from handlers.events_notify import publish_and_announce
from models.base import utcnow
from models.events import Event, EventDraft, create_event
from models.members import Member, Role
from tests.factories import make_member
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_user import VirtualUser
from tests.fakes.twilio_api import inbound_sms_params, twilio_signature
from tests.harness import LAG_NUMBER, RunningBot

TITLE = {
    "ka": "მეფუტკრეობის ტრენინგი",
    "en": "Beekeeping training",
    "ru": "Тренинг по пчеловодству",
}
DESCRIPTION = {"ka": "პრაქტიკული ტრენინგი დამწყები მეფუტკრეებისთვის.", "en": "Hands-on training."}
PLACE = "ლაგოდეხის მუნიციპალიტეტის შენობა, ზაქათალას ქ. 8"


def draft(
    *,
    kind: str = "training",
    starts: datetime | None = None,
    hours: int = 2,
    capacity: int | None = None,
    deadline: datetime | None = None,
    audience: dict[str, Any] | None = None,
    lat: float | None = None,
    lon: float | None = None,
    reminders: list[str] | None = None,
) -> EventDraft:
    starts = starts or (utcnow() + timedelta(days=5)).replace(microsecond=0)
    return EventDraft(
        kind=kind,
        title=dict(TITLE),
        description=dict(DESCRIPTION),
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        place=PLACE,
        latitude=lat,
        longitude=lon,
        capacity=capacity,
        rsvp_deadline=deadline,
        audience=audience,
        reminders=reminders,
    )


async def published(
    rt: Runtime, *, now: datetime | None = None, actor: Member | None = None, **kwargs: Any
) -> Event:
    """Create and publish an event (announcements queued, delivery woken)."""
    now = now or utcnow()
    async with rt.db.session() as session:
        event = await create_event(session=session, draft=draft(**kwargs), actor=actor, now=now)
        await publish_and_announce(rt, session, event, actor, now)
    rt.delivery.wake()
    return event


async def tg_member(
    bot: RunningBot, *, language: str = "ka", **fields: Any
) -> tuple[VirtualUser, Member]:
    """A registered member who uses Telegram (and has a phone)."""
    user = bot.tg.user(language_code=language)
    async with bot.rt.db.session() as session:
        member = await make_member(session, telegram=user.id, language=language, **fields)
    return user, member


async def sms_member(bot: RunningBot, *, language: str = "ka", **fields: Any) -> Member:
    """A registered member on SMS only (a basic phone)."""
    async with bot.rt.db.session() as session:
        return await make_member(session, telegram=False, language=language, **fields)


async def secretariat(bot: RunningBot, *, language: str = "ka") -> tuple[VirtualUser, Member]:
    return await tg_member(bot, language=language, role=Role.SECRETARIAT, name="თამარ სამდივნო")


PATIENCE = 30.0

# No SMS quiet hours, so an announcement goes out whatever hour the tests run at.
DAYTIME: dict[str, Any] = {
    "sms_quiet_weekdays": "00:00-00:00",
    "sms_quiet_weekends": "00:00-00:00",
}


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait up to 30 s (not 5) for the bot's messages: the test machine may be very busy."""
    monkeypatch.setattr(VirtualUser.reply, "__defaults__", (PATIENCE,))
    monkeypatch.setattr(VirtualUser.replies, "__defaults__", (PATIENCE,))
    monkeypatch.setattr(VirtualUser.press, "__kwdefaults__", {"timeout": PATIENCE})
    monkeypatch.setattr(RunningBot.sms, "__kwdefaults__", {"expect": 1, "timeout": PATIENCE})
    monkeypatch.setattr(RunningBot.sms_replies, "__kwdefaults__", {"timeout": PATIENCE})
    monkeypatch.setattr(FakeTelegram.wait_until, "__defaults__", (PATIENCE, "a condition"))


async def last_answer(bot: RunningBot, user: VirtualUser) -> dict[str, Any]:
    """The bot's answerCallbackQuery to the user's latest button press (waits for it)."""
    answer = await bot.tg.wait_until(lambda: user.callback_answers[-1])
    assert isinstance(answer, dict)
    return answer


async def sms(bot: RunningBot, phone: str, body: str, *, expect: int = 1) -> list[str]:
    """A villager texts the bot: like `bot.sms`, but the signed webhook may take up to 60 s to
    answer (a busy test machine), and the `expect` new SMS replies are waited for patiently."""
    before = len(bot.tw.messages_to(phone))
    url = bot.base_url + "/sms/inbound"
    params = inbound_sms_params(
        account_sid=bot.tw.account_sid, from_=phone, to=LAG_NUMBER, body=body
    )
    headers = {"X-Twilio-Signature": twilio_signature(url, params, bot.tw.auth_token)}
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(url, data=params, headers=headers)
    assert response.status_code == 200, response.text
    return (await bot.sms_replies(phone, before + expect, timeout=PATIENCE))[before:]
