"""The poll's clock: the reminder to non-voters, the close by the scheduler, the results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from models.audit import AuditLog
from models.members import Role
from models.outbox import OutStatus
from models.polls import PollBallot, PollStatus
from tests.harness import RunningBot
from tests.polls_support import (
    add_member,
    bot,
    outbox,
    polls_bot,
    reload,
    send_poll,
    tick,
)

__all__ = ["bot"]  # the fixture, used by name

PHONE_VOTER, PHONE_SILENT = "+995599400001", "+995599400002"


async def test_the_reminder_goes_once_and_only_to_members_who_have_not_voted(
    bot: RunningBot,
) -> None:
    voter, silent = bot.tg.user(), bot.tg.user()
    await add_member(bot, voter, phone=False)
    await add_member(bot, silent, phone=False)
    await add_member(bot, None, phone=PHONE_SILENT)
    poll = await send_poll(bot, closes_in=timedelta(days=3))
    await voter.reply()
    await silent.reply()
    await bot.sms_replies(PHONE_SILENT, 1)
    await voter.press("1) 3 დეკემბერი")
    await bot.tg.wait_until(lambda: "✓ 1) 3 დეკემბერი" in voter.last().labels)

    assert poll.reminder_at == poll.closes_at - timedelta(hours=24)
    assert await tick(bot, poll.reminder_at - timedelta(minutes=1)) == 0
    assert await tick(bot, poll.reminder_at + timedelta(minutes=1)) == 2
    reminder = await silent.reply()
    assert reminder.text.startswith(f"⏰ შეხსენება: {poll.code} გამოკითხვაში ჯერ არ მიგიციათ ხმა")
    assert "1) 3 დეკემბერი" in reminder.labels  # one can vote right from the reminder
    [sms] = (await bot.sms_replies(PHONE_SILENT, 2))[1:]
    assert sms.startswith("შეხსენება") and f"{poll.code} 2" in sms
    assert await tick(bot, poll.reminder_at + timedelta(hours=1)) == 0
    assert len(voter.inbox) == 1  # the voter got no reminder

    # Voting from the reminder marks the original ballot too.
    await silent.press("2) 5 დეკემბერი")
    first_ballot = silent.inbox[0]
    await bot.tg.wait_until(lambda: "✓ 2) 5 დეკემბერი" in silent.inbox[0].labels, timeout=5)
    assert first_ballot.message_id != silent.last().message_id


async def test_a_short_poll_reminds_halfway(bot: RunningBot) -> None:
    silent = bot.tg.user()
    await add_member(bot, silent, phone=False)
    poll = await send_poll(bot, closes_in=timedelta(hours=4))
    await silent.reply()
    assert poll.reminder_at == poll.opened_at + timedelta(hours=2)
    assert await tick(bot, poll.opened_at + timedelta(hours=2, minutes=1)) == 1
    assert (await silent.reply()).text.startswith("⏰")


async def test_the_scheduler_closes_the_poll_and_sends_the_results(bot: RunningBot) -> None:
    secretary, voter, silent = bot.tg.user(), bot.tg.user(), bot.tg.user()
    await add_member(bot, secretary, phone=False, role=Role.SECRETARIAT)
    await add_member(bot, voter, phone=False)
    await add_member(bot, silent, phone=False)
    await add_member(bot, None, phone=PHONE_VOTER)
    poll = await send_poll(bot, to_voters=True)
    for user in (secretary, voter, silent):
        await user.reply()
    await bot.sms_replies(PHONE_VOTER, 1)
    await voter.press("2) 5 დეკემბერი")
    await bot.tg.wait_until(lambda: "✓ 2) 5 დეკემბერი" in voter.last().labels)
    await bot.sms(PHONE_VOTER, f"{poll.code} 2")

    await tick(bot, poll.closes_at - timedelta(minutes=1))
    assert (await reload(bot, poll)).status == PollStatus.OPEN
    await tick(bot, poll.closes_at + timedelta(seconds=30))
    assert (await reload(bot, poll)).status == PollStatus.CLOSED

    # Every ballot is edited to "closed", without buttons.
    ballot = silent.inbox[0]
    await bot.tg.wait_until(lambda: "🔒" in silent.inbox[0].text, timeout=5)
    assert silent.inbox[0].message_id == ballot.message_id and silent.inbox[0].buttons == []
    await bot.tg.wait_until(lambda: "🔒" in voter.inbox[0].text, timeout=5)
    assert "2) 5 დეკემბერი — 2 (100%)" in voter.inbox[0].text  # results were promised

    # The secretariat gets the full results; the voters get the totals; the silent one nothing.
    report = await secretary.reply()  # after the ballot
    report = report if "/results" in report.text else await secretary.reply()
    assert f"📊 {poll.code}" in report.text and "ხმა მისცა: 2 / 4 (50%)" in report.text
    assert f"/results {poll.code}" in report.text
    notice = await voter.reply()
    assert notice.text.startswith(f"📊 {poll.code} დაიხურა")
    [sms] = (await bot.sms_replies(PHONE_VOTER, 3))[2:]
    assert sms.startswith(f"{poll.code} შედეგები: 1) 3 დეკემბერი 0 (0%) 2) 5 დეკემბერი 2 (100%)")
    assert [m.text for m in silent.inbox if "დაიხურა" in m.text] == []

    # A vote after close gets a clear answer, on both channels.
    [late] = await bot.sms(PHONE_VOTER, f"{poll.code} 1")
    assert late.startswith(f"{poll.code} დასრულებულია")
    await silent.press_data(f"pv:{poll.id}:1", message=silent.inbox[0])
    await bot.tg.wait_until(lambda: silent.callback_answers[-1] is not None)
    assert "დასრულებულია" in (silent.callback_answers[-1] or {}).get("text", "")

    async with bot.rt.db.session() as session:
        audit = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "poll.close")))
            .scalars()
            .all()
        )
    assert [(a.actor_label, a.target) for a in audit] == [("scheduler", poll.code)]


async def test_closing_an_anonymous_poll_forgets_who_chose_what(bot: RunningBot) -> None:
    await add_member(bot, None, phone=PHONE_VOTER)
    poll = await send_poll(bot, anonymous=True)
    await bot.sms_replies(PHONE_VOTER, 1)
    await bot.sms(PHONE_VOTER, f"{poll.code} 3")
    await tick(bot, poll.closes_at + timedelta(minutes=1))
    closed = await reload(bot, poll)
    assert closed.status == PollStatus.CLOSED and closed.ballot_salt is None
    assert closed.final_results is not None and closed.final_results["counts"] == [0, 0, 1]
    async with bot.rt.db.session() as session:
        assert (await session.execute(select(PollBallot))).scalars().all() == []
    [ack] = await outbox(bot, kind=f"poll_ack:{poll.id}")
    assert ack.text == "·"  # the confirmation that named the answer is blanked


async def test_ballots_not_yet_sent_at_close_are_cancelled(db_url: str, tmp_path: Path) -> None:
    # SMS quiet hours all day but one minute: the SMS ballot waits in the outbox till midnight.
    quiet = {"sms_quiet_weekdays": "00:01-00:00", "sms_quiet_weekends": "00:01-00:00"}
    async with polls_bot(db_url, tmp_path, **quiet) as bot:
        await add_member(bot, None, phone=PHONE_VOTER)
        poll = await send_poll(bot, closes_in=timedelta(hours=1))
        [waiting] = await outbox(bot, kind="poll_ballot")
        assert waiting.status == OutStatus.QUEUED
        await tick(bot, poll.closes_at + timedelta(minutes=1))
        [row] = await outbox(bot, kind="poll_ballot")
    assert row.status == OutStatus.CANCELLED  # no ballot for a poll that is already closed


async def test_other_front_ends_close_a_poll_through_the_same_rules(bot: RunningBot) -> None:
    voter = bot.tg.user()
    await add_member(bot, voter, phone=False)
    poll = await send_poll(bot)
    await voter.reply()
    close = bot.rt.hooks["polls.close"]
    assert await close(poll.id, actor_member_id=None, actor_label="web:3") is True
    assert await close(poll.id, actor_member_id=None, actor_label="web:3") is False  # once
    await bot.tg.wait_until(lambda: "🔒" in voter.inbox[0].text, timeout=5)
    assert (await reload(bot, poll)).closed_by == "web:3"


async def test_the_weekly_digest_lists_open_polls_and_whether_one_has_voted(
    bot: RunningBot,
) -> None:
    voter, silent = bot.tg.user(), bot.tg.user()
    voting = await add_member(bot, voter, phone=False)
    waiting = await add_member(bot, silent, phone=False)
    poll = await send_poll(bot, anonymous=True)
    await voter.reply()
    await voter.press("1) 3 დეკემბერი")
    await bot.tg.wait_until(lambda: "✓ 1) 3 დეკემბერი" in voter.last().labels)
    assert bot.rt.scheduler is not None
    [section] = [s for s in bot.rt.scheduler.digest_sections if s.name == "polls"]
    week = (poll.opened_at, poll.opened_at + timedelta(days=7))
    async with bot.rt.db.session() as session:
        done = await section.lines(session, voting, *week)
        todo = await section.lines(session, waiting, *week)
        after_close = await section.lines(
            session, waiting, poll.closes_at, poll.closes_at + timedelta(days=7)
        )
    assert (
        len(done) == 1
        and done[0].startswith(f"{poll.code} · რომელი")
        and "ხმა მიღებულია" in done[0]
    )
    assert len(todo) == 1 and "ჯერ არ მიგიციათ ხმა" in todo[0]
    assert after_close == []
