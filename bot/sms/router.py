"""One inbound SMS router for every capability, so the SMS grammar stays one coherent thing.

Precedence (fixed; tests/test_sms_router.py pins it):

1. the whole message is an opt-out or opt-in word (STOP …, START …)
2. HELP
3. an answer to the step this phone is in the middle of (a Dialog row)
4. a keyword, with or without a code (`JOIN`, `YES E12`), or a code first (`P7 2`); a
   keyword registered with `alone=False` (YES, NO, MAYBE) only with something after it
5. a bare answer that exactly one capability claims for this member (`YES`, `2`): so a lone
   `YES` never reaches past a step this phone is in the middle of. When several claim it
   (`კი` to an open invitation and to a yes/no poll), none guesses: if each of them can say
   how to send it with its code (`which=`), the member is asked which (`YES E12` / `P7 კი`)
6. otherwise a short hint, and the text is kept for the secretariat's inbox
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.sms.grammar import alias_keys, clean, parse_code, token_variants

if TYPE_CHECKING:
    from bot.sms.context import SmsRequest

Handler = Callable[["SmsRequest"], Awaitable[None]]
# A bare-answer resolver returns a handler when this message is an answer it owns.
Resolver = Callable[["SmsRequest"], Awaitable[Handler | None]]
# When several claim a bare answer: one line telling how to send it to this capability with
# its code, in the member's language (None: it cannot say, and the fallback answers).
WhichHint = Callable[["SmsRequest"], Awaitable[str | None]]


class KeywordCollision(ValueError):
    """Two keywords would match the same typed word."""


@dataclass
class Keyword:
    name: str
    aliases: tuple[str, ...]
    handler: Handler
    keys: frozenset[str] = field(default=frozenset())
    alone: bool = True  # False: the word alone is a bare answer (5.), not this keyword (4.)


@dataclass
class Route:
    kind: str  # optout | optin | help | step | keyword | code | bare | which | fallback
    handler: Handler
    name: str
    code: str | None = None
    args: list[str] = field(default_factory=list)


class SmsRouter:
    def __init__(self) -> None:
        self.keywords: dict[str, Keyword] = {}
        self._by_key: dict[str, Keyword] = {}
        self.code_handlers: dict[str, Handler] = {}
        self.steps: dict[str, Handler] = {}
        self.resolvers: list[tuple[str, Resolver]] = []
        self.which_hints: dict[str, WhichHint] = {}
        self.optout_handler: Handler | None = None
        self.optin_handler: Handler | None = None
        self.help_handler: Handler | None = None
        self.fallback_handler: Handler | None = None
        self.optout_keys: frozenset[str] = frozenset()
        self.optin_keys: frozenset[str] = frozenset()
        self.help_keys: frozenset[str] = frozenset()

    # -- registration -------------------------------------------------------------------
    def keyword(
        self,
        name: str,
        aliases: list[str] | tuple[str, ...],
        handler: Handler,
        *,
        alone: bool = True,
    ) -> None:
        """Register a keyword; aliases in every script. Raises KeywordCollision on overlap.

        `alone=False`: the word by itself is an answer, not a command (`YES` vs `YES E12`):
        it goes to the bare resolvers (precedence 5), after any step the phone is in.
        """
        keys = frozenset(k for alias in (name, *aliases) for k in alias_keys(alias))
        for key in keys:
            other = self._by_key.get(key)
            if other is not None and other.name != name:
                raise KeywordCollision(f"{name!r} and {other.name!r} both match {key!r}")
            if key in self.optout_keys | self.optin_keys | self.help_keys:
                raise KeywordCollision(f"{name!r} matches the reserved word {key!r}")
        keyword = Keyword(name, tuple(aliases), handler, keys, alone)
        self.keywords[name] = keyword
        for key in keys:
            self._by_key[key] = keyword

    def code_prefix(self, letter: str, handler: Handler) -> None:
        """`P7 2`: a message that starts with a code of this letter goes to `handler`."""
        letter = letter.casefold()
        if letter in self.code_handlers:
            raise KeywordCollision(f"code prefix {letter!r} registered twice")
        self.code_handlers[letter] = handler

    def step(self, flow: str, handler: Handler) -> None:
        self.steps[flow] = handler

    def bare(self, name: str, resolver: Resolver, *, which: WhichHint | None = None) -> None:
        """A bare-answer resolver; `which`: its line when another capability claims it too."""
        self.resolvers.append((name, resolver))
        if which is not None:
            self.which_hints[name] = which

    def set_optout(self, words: list[str], handler: Handler) -> None:
        self.optout_keys = frozenset(k for w in words for k in alias_keys(w))
        self.optout_handler = handler

    def set_optin(self, words: list[str], handler: Handler) -> None:
        self.optin_keys = frozenset(k for w in words for k in alias_keys(w))
        self.optin_handler = handler

    def set_help(self, words: list[str], handler: Handler) -> None:
        self.help_keys = frozenset(k for w in words for k in alias_keys(w))
        self.help_handler = handler

    def set_fallback(self, handler: Handler) -> None:
        self.fallback_handler = handler

    def match_keyword(self, token: str) -> Keyword | None:
        for variant in token_variants(token):
            keyword = self._by_key.get(variant)
            if keyword is not None:
                return keyword
        return None

    def help_topic(self, word: str) -> str | None:
        """What `HELP <word>` asks about, as `rt.sms_help_details` names it: a keyword's name
        (`GRANT`, `გრანტი` → "grant"), `code:<letter>` for a code or its letter (`P7`, `P` →
        "code:p"), or "stop" / "start" / "help" for the reserved words; None if nothing."""
        variants = token_variants(word)
        if variants & self.optout_keys:
            return "stop"
        if variants & self.optin_keys:
            return "start"
        if variants & self.help_keys:
            return "help"
        keyword = self.match_keyword(word)
        if keyword is not None:
            return keyword.name
        code = parse_code(word)
        letters = {code[0]} if code is not None else {v for v in variants if len(v) == 1}
        for letter in sorted(letters):
            if letter in self.code_handlers:
                return f"code:{letter}"
        return None

    def is_command(self, text: str) -> bool:
        """Whether a message is plainly a command of its own: a code first, or a keyword alone
        or followed by a code (`GRANTS`, `YES E12`, `P7 2`), but not a lone answer word (`YES`)
        — what a step may hand back to the router instead of taking it as its answer."""
        words = clean(text).split()
        if not words:
            return False
        code = parse_code(words[0])
        if code is not None and code[0] in self.code_handlers:
            return True
        keyword = self.match_keyword(words[0])
        if keyword is None:
            return False
        return keyword.alone if len(words) == 1 else parse_code(words[1]) is not None

    @staticmethod
    def _whole_message_is(text: str, keys: frozenset[str]) -> bool:
        words = text.split()
        return len(words) == 1 and bool(token_variants(words[0]) & keys)

    # -- routing --------------------------------------------------------------------------
    async def route(self, request: SmsRequest) -> Route:
        """Decide which handler gets this message (does not run it)."""
        text = clean(request.text)
        words = text.split()
        if self.optout_handler and self._whole_message_is(text, self.optout_keys):
            return Route("optout", self.optout_handler, "optout")
        if self.optin_handler and self._whole_message_is(text, self.optin_keys):
            return Route("optin", self.optin_handler, "optin")
        if self.help_handler and words and token_variants(words[0]) & self.help_keys:
            return Route("help", self.help_handler, "help", args=words[1:])
        dialog = request.dialog
        if dialog is not None and dialog.flow in self.steps:
            return Route("step", self.steps[dialog.flow], f"step:{dialog.flow}", args=words)
        if words:
            code = parse_code(words[0])
            if code is not None and code[0] in self.code_handlers:
                return Route(
                    "code", self.code_handlers[code[0]], f"code:{code[0]}", code, words[1:]
                )
            keyword = self.match_keyword(words[0])
            if keyword is not None and (keyword.alone or len(words) > 1):
                code = parse_code(words[1]) if len(words) > 1 else None
                args = words[2:] if code else words[1:]
                return Route("keyword", keyword.handler, keyword.name, code, args)
        claims: list[tuple[str, Handler]] = []
        for name, resolver in self.resolvers:
            handler = await resolver(request)
            if handler is not None:
                claims.append((name, handler))
        if len(claims) == 1:
            return Route("bare", claims[0][1], f"bare:{claims[0][0]}", args=words)
        assert self.fallback_handler is not None, "the SMS router needs a fallback handler"
        names = [name for name, _ in claims]
        if len(names) > 1 and all(name in self.which_hints for name in names):
            hints = [self.which_hints[name] for name in names]
            return Route("which", self._ask_which(hints), "which:" + "+".join(names), args=words)
        return Route("fallback", self.fallback_handler, "fallback", args=words)

    def _ask_which(self, hints: list[WhichHint]) -> Handler:
        """Several capabilities claim a bare answer: each says how to send it with its code."""
        fallback = self.fallback_handler
        assert fallback is not None

        async def ask(request: SmsRequest) -> None:
            lines = [await hint(request) for hint in hints]
            if any(line is None for line in lines):
                await fallback(request)
                return
            await request.reply("\n".join(line for line in lines if line))

        return ask
