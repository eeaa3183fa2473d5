"""How a poll looks: the ballot (Telegram and SMS), vote answers, results and group names."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime

from bot.i18n import DEFAULT_LANGUAGE, t
from bot.outbound import Button, Outgoing, with_stop_line
from bot.settings import Settings
from models.communities import Community
from models.polls import Poll, PollError
from models.polls_results import DIMENSIONS, UNKNOWN, GroupRow, PollResults

CHECK = "✓"
GROUP_ORDER: dict[str, tuple[str, ...]] = {
    "sector": ("public", "private", "civil", UNKNOWN),
    "youth": ("youth", "adult", UNKNOWN),
    "gender": ("female", "male", "unsaid", UNKNOWN),
}


def when(moment: datetime, language: str, settings: Settings) -> str:
    """A local (Tbilisi) time as people say it: `5 Dec 18:00`, `5 დეკ 18:00`."""
    return format_datetime(moment.astimezone(settings.tz), "d MMM HH:mm", locale=language)


def option_label(number: int, option: str) -> str:
    return f"{number}) {option}"


def choices_text(poll: Poll, choices: list[int], language: str = DEFAULT_LANGUAGE) -> str:
    options = poll.version(language)[1]
    return ", ".join(option_label(n, options[n - 1]) for n in choices)


def results_lines(poll: Poll, results: PollResults, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The options with their counts, in the poll's `language` version (Georgian for staff)."""
    lines = []
    for n, option in enumerate(poll.version(language)[1], start=1):
        count = results.counts[n - 1]
        lines.append(f"{option_label(n, option)} — {count} ({results.percent(count)}%)")
    return lines


def turnout_line(results: PollResults, language: str) -> str:
    return t(
        "polls.results_turnout",
        language,
        voters=results.voters,
        audience=results.audience,
        percent=results.turnout,
    )


def shows_results_at_close(poll: Poll) -> bool:
    return poll.results_live or poll.results_to_voters


# -- the ballot -----------------------------------------------------------------------------
def ballot_text(
    poll: Poll,
    language: str,
    settings: Settings,
    *,
    results: PollResults | None = None,
    reminder: bool = False,
) -> str:
    """The ballot message in the member's version of the poll; `results` are shown when the
    poll shows them (live or at close)."""
    question = poll.version(language)[0]
    lines: list[str] = []
    if reminder:
        lines += [
            t(
                "polls.reminder_head",
                language,
                code=poll.code,
                when=when(poll.closes_at, language, settings),
            ),
            "",
        ]
    lines.append(t("polls.ballot_head", language, code=poll.code, question=question))
    if poll.is_open:
        lines.append(
            t("polls.ballot_multiple" if poll.multiple else "polls.ballot_single", language)
        )
        lines.append(
            t("polls.ballot_anonymous" if poll.anonymous else "polls.ballot_named", language)
        )
        lines.append(
            t("polls.ballot_until", language, when=when(poll.closes_at, language, settings))
        )
        if poll.results_live and results is not None:
            lines += ["", turnout_line(results, language), *results_lines(poll, results, language)]
    else:
        closed_at = poll.closed_at or poll.closes_at
        lines.append(t("polls.ballot_closed", language, when=when(closed_at, language, settings)))
        if shows_results_at_close(poll) and results is not None:
            lines += ["", turnout_line(results, language), *results_lines(poll, results, language)]
    return "\n".join(lines)


def ballot_buttons(poll: Poll, language: str, chosen: list[int]) -> list[list[Button]]:
    """One button per option (✓ on the chosen ones) and "withdraw" once there is a vote."""
    if not poll.is_open:
        return []
    rows = [
        [
            Button(
                f"{CHECK} {option_label(n, option)}" if n in chosen else option_label(n, option),
                f"pv:{poll.id}:{n}",
            )
        ]
        for n, option in enumerate(poll.version(language)[1], start=1)
    ]
    if chosen:
        rows.append([Button(t("polls.withdraw_button", language), f"pv:{poll.id}:w")])
    return rows


def sms_ballot(poll: Poll, language: str, settings: Settings, *, reminder: bool = False) -> str:
    question, texts = poll.version(language)
    options = " ".join(option_label(n, o) for n, o in enumerate(texts, start=1))
    hint = t(
        "polls.sms_hint_multiple" if poll.multiple else "polls.sms_hint_single",
        language,
        code=poll.code,
    )
    text = t(
        "polls.sms_ballot",
        language,
        code=poll.code,
        question=question,
        options=options,
        hint=hint,
        when=when(poll.closes_at, language, settings),
    )
    return t("polls.sms_reminder", language, ballot=text) if reminder else text


def ballot_message(
    poll: Poll,
    language: str,
    settings: Settings,
    *,
    chosen: list[int] | None = None,
    results: PollResults | None = None,
    reminder: bool = False,
) -> Outgoing:
    sms = sms_ballot(poll, language, settings, reminder=reminder)
    return Outgoing(
        text=ballot_text(poll, language, settings, results=results, reminder=reminder),
        buttons=ballot_buttons(poll, language, chosen or []),
        sms_text=sms,
    )


def edited_ballot(message: Outgoing, language: str) -> str:
    """The text to edit into a sent ballot: as queued, with the bulk "how to stop" line."""
    return with_stop_line(message.text, language, "telegram")


# -- answers to a vote ----------------------------------------------------------------------
def error_text(error: PollError, poll: Poll | None, language: str, code: str) -> str:
    reason = error.reason
    count = len(poll.options) if poll else 0
    if reason == "closed":
        return t("polls.err_closed", language, code=code)
    if reason == "not_recipient":
        return t("polls.err_not_recipient", language, code=code)
    if reason == "one_only":
        return t("polls.err_one_only", language, code=code)
    if reason == "not_voted":
        return t("polls.err_not_voted", language, code=code)
    if reason == "bad_option":
        return t("polls.err_bad_option", language, code=code, count=count)
    return t("polls.err_bad_numbers", language, code=code)


def vote_text(poll: Poll, outcome: str, choices: list[int], language: str) -> str:
    chosen = choices_text(poll, choices, language)
    if outcome == "withdrawn":
        return t("polls.vote_withdrawn", language, code=poll.code)
    if outcome == "changed":
        return t("polls.vote_changed", language, code=poll.code, choices=chosen)
    if outcome == "unchanged":
        return t("polls.vote_unchanged", language, code=poll.code, choices=chosen)
    return t("polls.voted", language, code=poll.code, choices=chosen)


# -- results --------------------------------------------------------------------------------
def group_label(
    dimension: str,
    key: str,
    language: str,
    communities: dict[int, Community],
    youth_ages: tuple[int, int],
) -> str:
    if key == UNKNOWN:
        return t("polls.group_unknown", language)
    if key == "other":
        return t("polls.group_other", language)
    if dimension == "community":
        community = communities.get(int(key))
        return community.name(language) if community else key
    low, high = youth_ages
    labels = {
        ("sector", "public"): t("polls.sector_public", language),
        ("sector", "private"): t("polls.sector_private", language),
        ("sector", "civil"): t("polls.sector_civil", language),
        ("youth", "youth"): t("polls.youth_youth", language, low=low, high=high),
        ("youth", "adult"): t("polls.youth_adult", language, low=low, high=high),
        ("gender", "female"): t("polls.gender_female", language),
        ("gender", "male"): t("polls.gender_male", language),
        ("gender", "unsaid"): t("polls.gender_unsaid", language),
    }
    return labels.get((dimension, key), key)


def dimension_title(dimension: str, language: str) -> str:
    titles = {
        "community": t("polls.by_community", language),
        "sector": t("polls.by_sector", language),
        "youth": t("polls.by_youth", language),
        "gender": t("polls.by_gender", language),
    }
    return titles[dimension]


def group_line(row: GroupRow, label: str) -> str:
    if row.hidden == "small":
        return f"  {label}: <5"
    if row.hidden:
        return f"  {label}: ···"
    assert row.voters is not None and row.counts is not None
    shares = " · ".join(
        f"{n}) {c} ({round(100 * c / row.voters) if row.voters else 0}%)"
        for n, c in enumerate(row.counts, start=1)
    )
    return f"  {label} ({row.voters}): {shares}"


def community_order(communities: dict[int, Community]) -> dict[str, int]:
    return {str(cid): c.position for cid, c in communities.items()}


def breakdown_lines(
    results: PollResults,
    language: str,
    communities: dict[int, Community],
    youth_ages: tuple[int, int],
) -> list[str]:
    order = community_order(communities)
    lines: list[str] = []
    any_complement = False
    for dimension in DIMENSIONS:
        rows = results.breakdowns.get(dimension, [])
        if not rows:
            continue
        if dimension == "community":
            rows = sorted(rows, key=lambda r: (r.group == UNKNOWN, order.get(r.group, 999)))
        else:
            rank = GROUP_ORDER[dimension]
            rows = sorted(rows, key=lambda r: rank.index(r.group) if r.group in rank else 99)
        lines += ["", dimension_title(dimension, language)]
        for row in rows:
            any_complement = any_complement or row.hidden == "complement"
            label = group_label(dimension, row.group, language, communities, youth_ages)
            lines.append(group_line(row, label))
        other = results.others.get(dimension)
        if other is not None:
            lines.append(group_line(other, t("polls.group_other", language)))
    if lines:
        lines += ["", t("polls.small_note", language)]
        if any_complement:
            lines.append(t("polls.hidden_note", language))
    return lines


def results_text(
    poll: Poll,
    results: PollResults,
    language: str,
    settings: Settings,
    *,
    communities: dict[int, Community],
    breakdowns: bool = True,
) -> str:
    lines = [t("polls.ballot_head", language, code=poll.code, question=poll.question)]
    if poll.is_open:
        lines.append(
            t("polls.results_open", language, when=when(poll.closes_at, language, settings))
        )
    else:
        lines.append(
            t(
                "polls.results_closed",
                language,
                when=when(poll.closed_at or poll.closes_at, language, settings),
            )
        )
    lines += ["", turnout_line(results, language), *results_lines(poll, results)]
    if poll.multiple:
        lines.append(t("polls.results_multiple_note", language))
    if breakdowns:
        if poll.anonymous and poll.is_open:
            lines += ["", t("polls.results_breakdowns_later", language)]
        else:
            youth = (settings.youth_min_age, settings.youth_max_age)
            lines += breakdown_lines(results, language, communities, youth)
    return "\n".join(lines)


def sms_results(
    poll: Poll, results: PollResults, language: str, *, content: str | None = None
) -> str:
    """The totals by SMS; the options in the `content` version (default: `language`'s)."""
    options = poll.version(content or language)[1]
    lines = " ".join(
        f"{option_label(n, o)} {results.counts[n - 1]} ({results.percent(results.counts[n - 1])}%)"
        for n, o in enumerate(options, start=1)
    )
    return t(
        "polls.sms_results",
        language,
        code=poll.code,
        lines=lines,
        voters=results.voters,
        audience=results.audience,
    )
