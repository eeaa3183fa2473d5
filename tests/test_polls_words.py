"""Answering a poll by SMS with the option's word: `კი`, `ki`, `да`, `hə`, `P7 კი` — in every
language, beside an open event invitation that wants the same `კი`, and after close."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlmodel import col, select

from bot.sms.context import SmsRequest
from bot.sms.router import Handler, SmsRouter, WhichHint
from models.event_rsvps import EventRsvp
from models.inbound import InboundMessage
from models.members import SmsScript
from tests.events_support import published
from tests.harness import RunningBot
from tests.polls_support import (
    add_member,
    bot,
    counts,
    send_poll,
    tick,
)

__all__ = ["bot"]  # the fixture, used by name

PHONE = "+995599310001"
YES_NO = ["კი", "არა"]


async def routes_of(bot: RunningBot, phone: str) -> list[str | None]:
    """Which route handled each SMS from this phone, in order (the SMS router's precedence)."""
    async with bot.rt.db.session() as session:
        rows = await session.execute(
            select(InboundMessage)
            .where(InboundMessage.address == phone)
            .order_by(col(InboundMessage.id))
        )
        return [row.handled_by for row in rows.scalars()]


async def rsvp_of(bot: RunningBot, member_id: int | None) -> str | None:
    async with bot.rt.db.session() as session:
        query = select(EventRsvp).where(EventRsvp.member_id == member_id)
        row = (await session.execute(query)).scalars().first()
    return row.answer if row else None


async def test_a_lone_ki_votes_for_the_yes_option_and_ara_changes_it(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, question="ფესტივალზე წამოხვალთ?", options=YES_NO)
    await bot.sms_replies(PHONE, 1)
    [answer] = await bot.sms(PHONE, "კი")
    assert answer.startswith(f"{poll.code}: თქვენი ხმა მიღებულია: 1) კი.")
    [changed] = await bot.sms(PHONE, "არა!")
    assert "შეიცვალა: 2) არა" in changed
    assert await counts(bot, poll) == [0, 1]
    assert await routes_of(bot, PHONE) == ["bare:polls", "bare:polls"]


async def test_georgian_typed_in_latin_letters(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE, sms_script=SmsScript.LATIN)
    poll = await send_poll(bot, options=["ლაგოდეხი", "გურჯაანი", "კი", "არა"])
    await bot.sms_replies(PHONE, 1)
    [answer] = await bot.sms(PHONE, "Ki")
    assert answer.startswith(f"{poll.code}: tkveni khma mighebulia: 3) ki.")
    [changed] = await bot.sms(PHONE, "gurjaani")
    assert "2) gurjaani" in changed
    assert await counts(bot, poll) == [0, 1, 0, 0]
    [coded] = await bot.sms(PHONE, f"{poll.code.lower()} ara")  # `P7 <word>` too
    assert "4) ara" in coded
    assert await counts(bot, poll) == [0, 0, 0, 1]


async def test_russian_speakers_answer_da_and_net(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE, language="ru")
    poll = await send_poll(bot, question="Придёте на собрание?", options=["Да", "Нет"])
    [ballot] = await bot.sms_replies(PHONE, 1)
    assert "1) Да 2) Нет" in ballot
    [answer] = await bot.sms(PHONE, "да")
    assert answer.startswith(f"{poll.code}: ваш голос учтён: 1) Да.")
    assert await counts(bot, poll) == [1, 0]
    [changed] = await bot.sms(PHONE, "НЕТ")
    assert "2) Нет" in changed
    assert await counts(bot, poll) == [0, 1]


async def test_azerbaijani_speakers_answer_he_and_yox(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE, language="az")
    poll = await send_poll(bot, question="Yığıncağa gələcəksiniz?", options=["Bəli", "Xeyr"])
    await bot.sms_replies(PHONE, 1)
    [answer] = await bot.sms(PHONE, "hə")  # "yes", not the option's own word
    assert f"{poll.code}" in answer and "1) Bəli" in answer
    assert await counts(bot, poll) == [1, 0]
    [changed] = await bot.sms(PHONE, "yox")  # "no" for the option "Xeyr"
    assert "2) Xeyr" in changed
    assert await counts(bot, poll) == [0, 1]


async def test_yes_in_another_language_answers_a_georgian_yes_no_poll(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, options=YES_NO)
    await bot.sms_replies(PHONE, 1)
    await bot.sms(PHONE, "да")
    assert await counts(bot, poll) == [1, 0]
    await bot.sms(PHONE, f"{poll.code} net")
    assert await counts(bot, poll) == [0, 1]


async def test_one_word_is_one_option_in_a_multiple_choice_poll(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, options=["თაფლი", "ღვინო", "ჩაი"], multiple=True)
    await bot.sms_replies(PHONE, 1)
    await bot.sms(PHONE, f"{poll.code} 1,3")
    [answer] = await bot.sms(PHONE, "ghvino")
    assert "2) ღვინო" in answer
    assert await counts(bot, poll) == [0, 1, 0]


async def test_an_open_invitation_and_a_poll_both_wanting_ki_ask_which(bot: RunningBot) -> None:
    villager = await add_member(bot, None, phone=PHONE)
    event = await published(bot.rt)
    poll = await send_poll(bot, options=YES_NO)
    await bot.sms_replies(PHONE, 2)  # the invitation and the ballot
    [which] = await bot.sms(PHONE, "კი")
    assert f"რომელ ღონისძიებას პასუხობთ? ღია: {event.code}." in which
    assert f"გამოკითხვისთვის გამოგზავნეთ: {poll.code} კი" in which
    assert await counts(bot, poll) == [0, 0]
    assert await rsvp_of(bot, villager.id) is None
    # With the codes, each goes where it was meant.
    [vote] = await bot.sms(PHONE, f"{poll.code} კი")
    assert "მიღებულია: 1) კი" in vote
    [going] = await bot.sms(PHONE, f"კი {event.code}")
    assert going.startswith("გელოდებით")
    assert await rsvp_of(bot, villager.id) == "going"
    assert await routes_of(bot, PHONE) == ["which:polls+events", "code:p", "yes"]
    # A word only the event wants (the poll has no "maybe") is still the event's.
    [maybe] = await bot.sms(PHONE, "ალბათ")
    assert await rsvp_of(bot, villager.id) == "maybe", maybe


async def test_an_invitation_without_a_matching_poll_keeps_its_bare_yes(bot: RunningBot) -> None:
    villager = await add_member(bot, None, phone=PHONE)
    await published(bot.rt)
    poll = await send_poll(bot)  # dates: no option is "yes"
    await bot.sms_replies(PHONE, 2)
    [going] = await bot.sms(PHONE, "კი")
    assert going.startswith("გელოდებით")
    assert await rsvp_of(bot, villager.id) == "going"
    assert await counts(bot, poll) == [0, 0, 0]


async def test_a_word_matching_no_option_leaves_the_vote_as_it_was(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    dates = await send_poll(bot)
    await bot.sms_replies(PHONE, 1)
    await bot.sms(PHONE, f"{dates.code} 2")
    [no_event] = await bot.sms(PHONE, "კი")  # no "yes" option: not a vote (and no event open)
    assert no_event.startswith("თქვენთვის ღია ღონისძიება ახლა არ არის")
    [hint] = await bot.sms(PHONE, "ბანანი")
    assert "HELP" in hint
    [coded] = await bot.sms(PHONE, f"{dates.code} ბანანი")
    assert coded == f"{dates.code}: გამოგზავნეთ პასუხის ნომერი, მაგალითად, {dates.code} 2."
    [dekemberi] = await bot.sms(PHONE, "დეკემბერი")  # a piece of three options names none
    assert "HELP" in dekemberi
    assert await counts(bot, dates) == [0, 1, 0]


async def test_asked_which_each_line_shows_the_word_sent_in_ka_and_en(bot: RunningBot) -> None:
    """A lone `არა` / `no` claimed by an invitation and a poll: the event's line reads
    `არა E12` / `no E12` (the member's own word), like the poll's `P7 არა`."""
    await add_member(bot, None, phone=PHONE)
    visitor = "+995599310002"
    await add_member(bot, None, phone=visitor, language="en")
    event = await published(bot.rt)
    poll = await send_poll(bot, options=YES_NO)
    await bot.sms_replies(PHONE, 2)
    await bot.sms_replies(visitor, 2)
    [which] = await bot.sms(PHONE, "არა")
    assert f"მიუთითეთ კოდი, მაგ.: არა {event.code}" in which and "YES" not in which
    assert f"გამოკითხვისთვის გამოგზავნეთ: {poll.code} არა" in which
    [which] = await bot.sms(visitor, "no")
    assert f"Add the code, e.g. no {event.code}" in which and "YES" not in which
    assert f"For the poll, send: {poll.code} no" in which
    assert await counts(bot, poll) == [0, 0]


async def test_two_open_polls_with_the_word_ask_which_poll(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    first = await send_poll(bot, options=YES_NO)
    second = await send_poll(bot, options=["არა", "კი", "არ ვიცი"])
    await bot.sms_replies(PHONE, 2)
    [which] = await bot.sms(PHONE, "კი")
    assert which == (
        f"რომელ გამოკითხვას პასუხობთ? ღია: {first.code}, {second.code}. "
        f"მიუთითეთ კოდი, მაგ.: {first.code} კი"
    )
    [vote] = await bot.sms(PHONE, f"{second.code} კი")
    assert "2) კი" in vote
    assert (await counts(bot, first), await counts(bot, second)) == ([0, 0], [0, 1, 0])


async def test_a_word_after_close_gets_a_clear_answer(bot: RunningBot) -> None:
    villager = await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, options=YES_NO, closes_in=timedelta(hours=1), to_voters=False)
    await bot.sms_replies(PHONE, 1)
    await tick(bot, poll.closes_at + timedelta(minutes=1))
    [late] = await bot.sms(PHONE, "კი")
    assert late == f"{poll.code} დასრულებულია; ხმები აღარ მიიღება."
    [coded] = await bot.sms(PHONE, f"{poll.code} ki")
    assert coded == late
    [nonsense] = await bot.sms(PHONE, f"{poll.code} ბანანი")
    assert nonsense == late
    # A new invitation: the late "კი" is the event's again, not the closed poll's.
    await published(bot.rt)
    await bot.sms_replies(PHONE, 5)
    [going] = await bot.sms(PHONE, "კი")
    assert going.startswith("გელოდებით")
    assert await rsvp_of(bot, villager.id) == "going"


async def test_an_anonymous_word_vote_leaves_no_trace_of_the_word(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, options=YES_NO, anonymous=True)
    await bot.sms_replies(PHONE, 1)
    [answer] = await bot.sms(PHONE, "არა")
    assert "2) არა" in answer
    async with bot.rt.db.session() as session:
        stored = (await session.execute(select(InboundMessage))).scalars().all()
    assert [m.text for m in stored] == [f"{poll.code} ···"]
    assert await counts(bot, poll) == [0, 1]


async def test_the_router_asks_which_only_when_every_claimant_can_say_how() -> None:
    """Two bare resolvers claim `კი`: asked which when both registered a `which` line (each
    line in the answer), the generic fallback when one cannot say (as before)."""
    replies: list[str] = []

    class Typed:  # what the router reads of an SmsRequest
        text, dialog = "კი", None

        async def reply(self, text: str) -> None:
            replies.append(text)

    async def claim(request: SmsRequest) -> Handler | None:
        async def handle(req: SmsRequest) -> None:
            raise AssertionError("a claimant guessed")

        return handle

    async def fallback(request: SmsRequest) -> None:
        await request.reply("fallback")

    def line(text: str) -> WhichHint:
        async def hint(request: SmsRequest) -> str | None:
            return text

        return hint

    request = cast(SmsRequest, Typed())
    router = SmsRouter()
    router.set_fallback(fallback)
    router.bare("polls", claim, which=line("P7 კი"))
    router.bare("events", claim, which=line("კი E12"))
    route = await router.route(request)
    assert (route.kind, route.name) == ("which", "which:polls+events")
    await route.handler(request)
    router.bare("youth", claim)  # a third claimant with no line
    route = await router.route(request)
    await route.handler(request)
    assert (route.kind, replies) == ("fallback", ["P7 კი\nკი E12", "fallback"])
