"""Answering a poll by SMS with the option's word: `კი`, `ki`, `да`, `hə`, or `P7 კი`.

A typed word names an option when it reads the same after the router's normalization (casefold,
Georgian↔Latin romanization, Cyrillic look-alikes: bot.sms.grammar.token_variants), or when
both are the same yes / no / maybe word in any of the four languages (the events' answer words,
handlers.events_sms, so `да` answers a `კი / არა` poll). One word is one option, also in a
multiple-choice poll; a word that names two options names none.
"""

from __future__ import annotations

from datetime import timedelta

from bot.sms.context import SmsRequest
from bot.sms.grammar import clean, parse_numbers, token_variants
from handlers.events_sms import answer_word
from models.base import utcnow
from models.polls import Poll, recent_polls_for_member

# A late `კი` to a poll closed this recently gets "P7 is closed" (not "nothing open").
RECENTLY_CLOSED = timedelta(days=7)
# Spellings of the answer words the events' list lacks (Azerbaijani "xeyr", no).
MORE_ANSWER_WORDS = {"xeyr": "no", "xeyir": "no", "хейр": "no"}


def _answer_of(words: list[str]) -> str | None:
    """going | no | maybe when the words are one answer word, else None."""
    if len(words) != 1:
        return None
    answer = answer_word(words[0])
    if answer is not None:
        return answer
    for variant in token_variants(words[0]):
        if variant in MORE_ANSWER_WORDS:
            return MORE_ANSWER_WORDS[variant]
    return None


def _same_words(option: list[str], typed: list[str]) -> bool:
    return len(option) == len(typed) and all(
        token_variants(a) & token_variants(b) for a, b in zip(option, typed, strict=True)
    )


def option_for_word(options: list[str], text: str) -> int | None:
    """The option (1-based) the typed text names, when exactly one does; else None."""
    return _option_for_word(options, text)


def poll_option_for_word(poll: Poll, text: str) -> int | None:
    """The option the typed text names in any of the poll's versions (ka, az, ru, en), when
    the versions that name one agree on exactly one; else None."""
    found = {_option_for_word(options, text) for _, options in poll.versions().values()}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _option_for_word(options: list[str], text: str) -> int | None:
    typed = clean(text).split()
    if not typed or parse_numbers(" ".join(typed)) is not None:
        return None
    words = [clean(option).split() for option in options]
    same = [n for n, option in enumerate(words, 1) if _same_words(option, typed)]
    if same:
        return same[0] if len(same) == 1 else None
    answer = _answer_of(typed)
    if answer is None:
        return None
    alike = [n for n, option in enumerate(words, 1) if _answer_of(option) == answer]
    return alike[0] if len(alike) == 1 else None


async def polls_named(request: SmsRequest) -> tuple[list[tuple[Poll, int]], list[Poll]]:
    """The member's open polls the lone word names one option of (with it), and the polls
    closed lately whose options it names (a late answer)."""
    assert request.member is not None and request.member.id is not None
    now = utcnow()
    polls = await recent_polls_for_member(
        session=request.session, member_id=request.member.id, since=now - RECENTLY_CLOSED
    )
    open_: list[tuple[Poll, int]] = []
    closed: list[Poll] = []
    for poll in polls:
        option = poll_option_for_word(poll, request.text)
        if option is None:
            continue
        if poll.accepts_votes(now):
            open_.append((poll, option))
        else:
            closed.append(poll)
    return open_, closed
