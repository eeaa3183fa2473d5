"""Turn a message text with ``parse_mode`` into what the user sees, rejecting malformed
markup the way Telegram does ("Bad Request: can't parse entities: ...").

Only the rules that bots trip over are checked: unsupported or unbalanced HTML tags, and
unescaped reserved characters / unclosed entities in MarkdownV2 and legacy Markdown.
"""

from __future__ import annotations

import re

from tests.fakes.telegram_models import ApiError, bad_request

_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d+)|#[xX]([0-9a-fA-F]+));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}


def render(text: str, parse_mode: str | None) -> str:
    """The plain text Telegram would store for ``text`` sent with ``parse_mode``."""
    if not parse_mode:
        return text
    mode = parse_mode.lower()
    if mode == "html":
        return _html(text)
    if mode == "markdownv2":
        return _markdown_v2(text)
    if mode == "markdown":
        return _markdown(text)
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def _cant_parse(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _html(text: str) -> str:
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            end = text.find(">", i)
            if end < 0:
                raise _cant_parse(f"Unclosed start tag at byte offset {_offset(text, i)}")
            _html_tag(text, i, text[i + 1 : end], open_tags)
            i = end + 1
        elif char == "&" and (entity := _HTML_ENTITY.match(text, i)):
            named, decimal, hexadecimal = entity.groups()
            if named:
                out.append(_NAMED_ENTITIES[named])
            else:
                out.append(chr(int(decimal) if decimal else int(hexadecimal, 16)))
            i = entity.end()
        else:
            out.append(char)
            i += 1
    if open_tags:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def _html_tag(text: str, index: int, inner: str, open_tags: list[str]) -> None:
    at = _offset(text, index)
    if inner.startswith("/"):
        name = inner[1:].strip().lower()
        if not open_tags:
            raise _cant_parse(f"Unexpected end tag at byte offset {at}")
        expected = open_tags.pop()
        if name and name != expected:
            raise _cant_parse(
                f'Unmatched end tag at byte offset {at}, expected "</{expected}>", '
                f'found "</{name}>"'
            )
        return
    match = _TAG_NAME.match(inner)
    name = match.group(0).lower() if match else ""
    if name not in _HTML_TAGS:
        raise _cant_parse(f'Unsupported start tag "{name}" at byte offset {at}')
    if name == "span" and "tg-spoiler" not in inner:
        raise _cant_parse(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    open_tags.append(name)


def _markdown_v2(text: str) -> str:
    out: list[str] = []
    open_marks: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) < 127:
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            i = _mdv2_code(text, i, out)
        elif char == "[":
            open_marks.append(("[", i))
            i += 1
        elif char == "]" and open_marks and open_marks[-1][0] == "[":
            open_marks.pop()
            if not text.startswith("(", i + 1):
                raise _reserved("]")
            i = _mdv2_url_end(text, i + 1)
        elif char in "*~":
            _toggle(open_marks, char, text, i)
            i += 1
        elif char == "_":
            # "___" closes italic before underline, matching Telegram's greedy rule.
            mark = "__" if text.startswith("__", i) and _top(open_marks) != "_" else "_"
            _toggle(open_marks, mark, text, i)
            i += len(mark)
        elif char == "|" and text.startswith("||", i):
            _toggle(open_marks, "||", text, i)
            i += 2
        elif (char == ">" and (i == 0 or text[i - 1] == "\n")) or (
            char == "!" and text.startswith("![", i)
        ):
            i += 1
        elif char in _MDV2_RESERVED:
            raise _reserved(char)
        else:
            out.append(char)
            i += 1
    if open_marks:
        mark, start = open_marks[-1]
        raise _cant_parse(
            f"Can't find end of {_MDV2_NAMES[mark]} entity at byte offset {_offset(text, start)}"
        )
    return "".join(out)


def _reserved(char: str) -> ApiError:
    return _cant_parse(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


def _top(open_marks: list[tuple[str, int]]) -> str | None:
    return open_marks[-1][0] if open_marks else None


def _toggle(open_marks: list[tuple[str, int]], mark: str, text: str, index: int) -> None:
    if _top(open_marks) == mark:
        open_marks.pop()
    elif any(open_mark == mark for open_mark, _ in open_marks):
        raise _cant_parse(
            f"Can't find end of {_MDV2_NAMES[mark]} entity at byte offset {_offset(text, index)}"
        )
    else:
        open_marks.append((mark, index))


def _mdv2_code(text: str, start: int, out: list[str]) -> int:
    """Copy a `code` or ```pre``` span's content to ``out``; return the index after it."""
    fence = "```" if text.startswith("```", start) else "`"
    i = start + len(fence)
    content: list[str] = []
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            content.append(text[i + 1])
            i += 2
        elif text.startswith(fence, i):
            body = "".join(content)
            if fence == "```" and "\n" in body:
                language, _, rest = body.partition("\n")
                body = rest if language and " " not in language else body
            out.append(body)
            return i + len(fence)
        else:
            content.append(text[i])
            i += 1
    name = "Pre" if fence == "```" else "Code"
    raise _cant_parse(f"Can't find end of {name} entity at byte offset {_offset(text, start)}")


def _mdv2_url_end(text: str, paren: int) -> int:
    i = paren + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == ")":
            return i + 1
        else:
            i += 1
    raise _cant_parse(f"Can't find end of a URL at byte offset {_offset(text, paren)}")


def _markdown(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        closing = {"*": "*", "_": "_", "`": "`", "[": "]"}.get(char)
        if closing is None:
            out.append(char)
            i += 1
            continue
        fence = "```" if text.startswith("```", i) else char
        end = text.find("```" if fence == "```" else closing, i + len(fence))
        if end < 0:
            raise _cant_parse(
                f"Can't find end of the entity starting at byte offset {_offset(text, i)}"
            )
        out.append(text[i + len(fence) : end])
        i = end + len(fence if fence == "```" else closing)
        if char == "[" and text.startswith("(", i):
            url_end = text.find(")", i)
            if url_end < 0:
                raise _cant_parse(f"Can't find end of a URL at byte offset {_offset(text, i)}")
            i = url_end + 1
    return "".join(out)
