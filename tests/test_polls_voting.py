"""Voting conversations: ballot buttons on Telegram and `P7 2` by SMS, for the same poll."""

from __future__ import annotations

from sqlmodel import select

from models.inbound import InboundMessage
from models.polls_results import poll_results
from tests.harness import RunningBot
from tests.polls_support import (
    add_member,
    bot,
    outbox,
    reload,
    send_poll,
)

__all__ = ["bot"]  # the fixture, used by name

PHONE = "+995599300001"


async def test_a_telegram_member_gets_a_ballot_with_one_button_per_answer(bot: RunningBot) -> None:
    nino = bot.tg.user()
    await add_member(bot, nino)
    poll = await send_poll(bot)
    ballot = await nino.reply()
    assert ballot.text.startswith(f"📊 {poll.code} · რომელი თარიღი")
    assert "აირჩიეთ ერთი პასუხი" in ballot.text and "სახელობითი" in ballot.text
    assert nino.buttons(ballot) == [["1) 3 დეკემბერი"], ["2) 5 დეკემბერი"], ["3) 10 დეკემბერი"]]


async def test_a_sms_member_gets_the_question_with_numbered_answers(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot)
    [ballot] = await bot.sms_replies(PHONE, 1)
    assert ballot.startswith(f"{poll.code}: რომელი თარიღი გაწყობთ ტრენინგისთვის?")
    assert "1) 3 დეკემბერი 2) 5 დეკემბერი 3) 10 დეკემბერი" in ballot
    assert f"{poll.code} 2" in ballot  # how to answer


async def test_one_poll_voted_on_both_channels_counts_each_member_once(bot: RunningBot) -> None:
    nino, phone_nino = bot.tg.user(), "+995599300002"
    await add_member(bot, nino, phone=phone_nino)
    await add_member(bot, None, phone=PHONE)  # Giorgi, SMS only
    poll = await send_poll(bot)
    await nino.reply()
    await bot.sms_replies(PHONE, 1)

    # Nino presses "5 December": the ballot is edited in place with a ✓ and "withdraw".
    await nino.press("2) 5 დეკემბერი")
    await bot.tg.wait_until(lambda: "✓ 2) 5 დეკემბერი" in nino.last().labels)
    assert nino.buttons() == [
        ["1) 3 დეკემბერი"], ["✓ 2) 5 დეკემბერი"], ["3) 10 დეკემბერი"], ["↩ ჩემი ხმის გაუქმება"],
    ]  # fmt: skip
    assert "მიღებულია" in (nino.callback_answers[-1] or {}).get("text", "")

    # Giorgi answers by SMS.
    [answer] = await bot.sms(PHONE, f"{poll.code} 3")
    assert answer.startswith(f"{poll.code}: თქვენი ხმა მიღებულია: 3) 10 დეკემბერი.")
    assert f"{poll.code} 0" in answer  # how to withdraw

    # Nino changes her mind by SMS: still one vote, and her Telegram ballot follows.
    [changed] = await bot.sms(phone_nino, f"{poll.code.lower()} 1")
    assert "შეიცვალა: 1) 3 დეკემბერი" in changed
    await bot.tg.wait_until(lambda: "✓ 1) 3 დეკემბერი" in nino.last().labels, timeout=5)
    assert "✓ 2) 5 დეკემბერი" not in nino.last().labels

    async with bot.rt.db.session() as session:
        results = await poll_results(session=session, poll=await reload(bot, poll))
    assert (results.voters, results.counts) == (2, [1, 0, 1])


async def test_the_same_vote_twice_is_not_counted_twice(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot)
    await bot.sms_replies(PHONE, 1)
    await bot.sms(PHONE, f"{poll.code} 2")
    [again] = await bot.sms(PHONE, f"{poll.code} 2")
    assert "ეს უკვე თქვენი ხმაა" in again
    async with bot.rt.db.session() as session:
        results = await poll_results(session=session, poll=poll)
    assert (results.voters, results.counts) == (1, [0, 1, 0])


async def test_withdrawing_by_button_and_by_sms(bot: RunningBot) -> None:
    nino = bot.tg.user()
    await add_member(bot, nino, phone=PHONE)
    poll = await send_poll(bot)
    await nino.reply()
    await nino.press("3) 10 დეკემბერი")
    await nino.press("↩ ჩემი ხმის გაუქმება")
    await bot.tg.wait_until(lambda: "↩ ჩემი ხმის გაუქმება" not in nino.last().labels)
    assert nino.buttons() == [["1) 3 დეკემბერი"], ["2) 5 დეკემბერი"], ["3) 10 დეკემბერი"]]
    assert "გაუქმებულია" in (nino.callback_answers[-1] or {}).get("text", "")
    [nothing] = await bot.sms(PHONE, f"{poll.code} 0")
    assert "ხმა ჯერ არ მიგიციათ" in nothing
    await bot.sms(PHONE, f"{poll.code} 1")
    [withdrawn] = await bot.sms(PHONE, f"{poll.code} 0")
    assert withdrawn == f"{poll.code}: თქვენი ხმა გაუქმებულია."
    async with bot.rt.db.session() as session:
        assert (await poll_results(session=session, poll=poll)).voters == 0


async def test_multiple_choice_by_toggling_buttons_and_by_sms_with_commas_or_spaces(
    bot: RunningBot,
) -> None:
    nino = bot.tg.user()
    await add_member(bot, nino, phone=False)
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, multiple=True)
    await nino.reply()
    await nino.press("1) 3 დეკემბერი")
    await bot.tg.wait_until(lambda: "✓ 1) 3 დეკემბერი" in nino.last().labels)
    await nino.press("3) 10 დეკემბერი")
    await bot.tg.wait_until(lambda: "✓ 3) 10 დეკემბერი" in nino.last().labels)
    await nino.press("✓ 1) 3 დეკემბერი")  # pressed again: removed
    await bot.tg.wait_until(lambda: "1) 3 დეკემბერი" in nino.last().labels)
    await bot.sms_replies(PHONE, 1)
    [answer] = await bot.sms(PHONE, f"{poll.code} 1 3")  # never read as 13
    assert "1) 3 დეკემბერი, 3) 10 დეკემბერი" in answer
    [again] = await bot.sms(PHONE, f"{poll.code} 2,3")
    assert "შეიცვალა: 2) 5 დეკემბერი, 3) 10 დეკემბერი" in again
    async with bot.rt.db.session() as session:
        results = await poll_results(session=session, poll=poll)
    assert (results.voters, results.counts) == (2, [0, 1, 2])


async def test_bad_sms_votes_get_a_clear_answer_and_change_nothing(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot)
    await bot.sms_replies(PHONE, 1)
    [two] = await bot.sms(PHONE, f"{poll.code} 1,3")
    assert "მხოლოდ ერთი პასუხის" in two
    [range_] = await bot.sms(PHONE, f"{poll.code} 7")
    assert "1-დან 3-მდე" in range_
    [words] = await bot.sms(PHONE, f"{poll.code} yes please")
    assert "პასუხის ნომერი" in words
    [unknown] = await bot.sms(PHONE, "P999 1")
    assert unknown == "გამოკითხვა P999 არ არსებობს."
    [again] = await bot.sms(PHONE, poll.code)  # the code alone: the ballot again
    assert "1) 3 დეკემბერი 2) 5 დეკემბერი" in again
    async with bot.rt.db.session() as session:
        assert (await poll_results(session=session, poll=poll)).voters == 0


async def test_a_bare_number_votes_only_when_exactly_one_poll_is_open(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    first = await send_poll(bot)
    await bot.sms_replies(PHONE, 1)
    [answer] = await bot.sms(PHONE, "2")
    assert answer.startswith(f"{first.code}: თქვენი ხმა მიღებულია: 2) 5 დეკემბერი")
    second = await send_poll(bot, options=["კი", "არა"])
    await bot.sms_replies(PHONE, 3)
    [which] = await bot.sms(PHONE, "1")  # two polls open: which one? Not a vote.
    assert which == (
        f"რომელ გამოკითხვას პასუხობთ? ღია: {first.code}, {second.code}. "
        f"მიუთითეთ კოდი, მაგ.: {first.code} 1"
    )
    async with bot.rt.db.session() as session:
        assert (await poll_results(session=session, poll=first)).counts == [0, 1, 0]
        assert (await poll_results(session=session, poll=second)).voters == 0
    [vote] = await bot.sms(PHONE, f"{second.code} 1")  # with the code it counts
    assert "1) კი" in vote


async def test_a_member_outside_the_audience_cannot_vote(bot: RunningBot) -> None:
    poll = await send_poll(bot, options=["კი", "არა"])
    await add_member(bot, None, phone=PHONE)  # joined after the poll went out
    [answer] = await bot.sms(PHONE, f"{poll.code} 1")
    assert "თქვენთვის არ გამოგზავნილა" in answer


async def test_live_totals_on_the_ballot_count_sms_votes_too(bot: RunningBot) -> None:
    nino = bot.tg.user()
    await add_member(bot, nino, phone=False)
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, live=True)
    first = await nino.reply()
    assert "ხმა მისცა: 0 / 2 (0%)" in first.text
    await bot.sms_replies(PHONE, 1)
    await bot.sms(PHONE, f"{poll.code} 2")
    await bot.tg.wait_until(lambda: "ხმა მისცა: 1 / 2 (50%)" in nino.last().text, timeout=5)
    assert "2) 5 დეკემბერი — 1 (100%)" in nino.last().text


async def test_an_anonymous_sms_vote_leaves_no_trace_of_the_choice(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, anonymous=True)
    await bot.sms_replies(PHONE, 1)
    [answer] = await bot.sms(PHONE, f"{poll.code} 2")
    assert "2) 5 დეკემბერი" in answer  # the member is told what was recorded
    async with bot.rt.db.session() as session:
        stored = (await session.execute(select(InboundMessage))).scalars().all()
    assert [m.text for m in stored] == [f"{poll.code} ···"]
    [ack] = await outbox(bot, kind=f"poll_ack:{poll.id}")
    assert "5 დეკემბერი" in ack.text  # until close (the member may still change it)


async def test_the_code_typed_with_georgian_or_cyrillic_letters_still_works(
    bot: RunningBot,
) -> None:
    await add_member(bot, None, phone=PHONE)
    poll = await send_poll(bot, live=True)
    await bot.sms_replies(PHONE, 1)
    number = poll.code[1:]
    [georgian] = await bot.sms(PHONE, f"პ{number} 1")
    assert "მიღებულია: 1) 3 დეკემბერი" in georgian
    [cyrillic] = await bot.sms(PHONE, f"Р{number} 2")  # Russian keyboard: Р looks like P
    assert "შეიცვალა: 2) 5 დეკემბერი" in cyrillic
    [again] = await bot.sms(PHONE, poll.code)  # live results: the totals come with the ballot
    assert f"{poll.code} შედეგები: 1) 3 დეკემბერი 0 (0%) 2) 5 დეკემბერი 1 (100%)" in again
    assert "თქვენი ამჟამინდელი ხმა: 2) 5 დეკემბერი" in again


async def test_sms_help_explains_how_to_vote(bot: RunningBot) -> None:
    [help_text] = await bot.sms(PHONE, "HELP")
    assert "P7 2 khma" in help_text  # one short line, in Latin letters for a stranger


async def test_vote_shows_the_open_ballots_again(bot: RunningBot) -> None:
    nino = bot.tg.user()
    await add_member(bot, nino, phone=False)
    await nino.send("/vote")
    assert (await nino.reply()).text == "ამჟამად თქვენთვის ღია გამოკითხვა არ არის."
    poll = await send_poll(bot)
    await nino.reply()
    await nino.press("2) 5 დეკემბერი")
    await bot.tg.wait_until(lambda: "✓ 2) 5 დეკემბერი" in nino.last().labels)
    await nino.send("/vote")
    again = await nino.reply()
    assert again.text.startswith(f"📊 {poll.code}") and "✓ 2) 5 დეკემბერი" in again.labels
    await nino.press("3) 10 დეკემბერი")  # the newest copy works like the first
    await bot.tg.wait_until(lambda: "✓ 3) 10 დეკემბერი" in nino.last().labels)
