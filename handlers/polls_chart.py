"""The results as a bar chart (PNG), drawn with Pillow.

`chart_data` decides what is drawn (testable on its own); `render_chart` draws it and
returns the bar rectangles it drew. Labels use a system font that has Georgian glyphs
(`fc-list :lang=ka`); without one, text is transliterated to Latin (national
romanization), so the chart never shows empty boxes.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.i18n import t
from bot.sms.translit import to_latin_sms
from handlers.polls_render import option_label
from models.polls import Poll
from models.polls_results import PollResults

WIDTH, MARGIN, BAR_HEIGHT, GAP = 900, 30, 34, 22
LABEL_WIDTH = 330
COLORS = ((46, 125, 50), (25, 118, 210), (239, 108, 0), (142, 36, 170), (0, 137, 123))
BACKGROUND, INK, TRACK = (255, 255, 255), (33, 33, 33), (236, 239, 241)
FALLBACK_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansGeorgian-Regular.ttf",
)
FontT = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    percent: int


@dataclass(frozen=True)
class ChartData:
    title: str
    bars: list[Bar]
    footer: str
    voters: int = 0


def chart_data(poll: Poll, results: PollResults, language: str) -> ChartData:
    """One bar per option, in the poll's order, with its count and share of voters."""
    bars = [
        Bar(option_label(n, option), results.counts[n - 1], results.percent(results.counts[n - 1]))
        for n, option in enumerate(poll.options, start=1)
    ]
    footer = t(
        "polls.chart_footer",
        language,
        code=poll.code,
        voters=results.voters,
        audience=results.audience,
        percent=results.turnout,
    )
    return ChartData(f"{poll.code} · {poll.question}", bars, footer, results.voters)


@functools.cache
def georgian_font_path() -> str | None:
    """A TrueType font that draws Georgian, found with fontconfig, else a known path."""
    candidates: list[str] = []
    if shutil.which("fc-list"):
        try:
            listed = subprocess.run(
                ["fc-list", ":lang=ka", "file"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        paths = [line.split(":")[0].strip() for line in listed.splitlines() if line.strip()]
        # Prefer a plain sans face over bold, italic, mono or serif ones.
        paths.sort(
            key=lambda p: (
                any(w in p for w in ("Bold", "Oblique", "Italic", "Mono", "Serif", "Light")),
                len(p),
            )
        )
        candidates += paths
    candidates += [p for p in FALLBACK_FONTS if Path(p).exists()]
    for path in candidates:
        try:
            font = ImageFont.truetype(path, 20)
        except OSError:
            continue
        if covers(font, "აბგდ"):
            return path
    return None


def _mask(font: FontT, text: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


def covers(font: FontT, text: str) -> bool:
    """Whether every letter of `text` has a real glyph (not the "missing" box)."""
    missing = _mask(font, "\U0010fffd")
    return all(_mask(font, ch) != missing for ch in set(text) if not ch.isspace())


def load_font(size: int) -> tuple[FontT, bool]:
    """(font, georgian_ok)."""
    path = georgian_font_path()
    if path is not None:
        return ImageFont.truetype(path, size), True
    for fallback in FALLBACK_FONTS:
        if Path(fallback).exists():
            return ImageFont.truetype(fallback, size), False
    return ImageFont.load_default(size), False


def drawable(text: str, font: FontT) -> str:
    """The text as this font can draw it: romanized when a letter has no glyph."""
    if covers(font, text):
        return text
    latin = to_latin_sms(text)
    return "".join(ch if ch.isspace() or covers(font, ch) else "?" for ch in latin)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: FontT, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def render_chart(data: ChartData) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """The PNG, and each bar's (left, top, right, bottom) in the order of `data.bars`."""
    font, _ = load_font(18)
    title_font, _ = load_font(24)
    title_lines = textwrap.wrap(drawable(data.title, title_font), width=60)[:3] or [""]
    top = MARGIN + 34 * len(title_lines) + 16
    height = top + len(data.bars) * (BAR_HEIGHT + GAP) + 50 + MARGIN
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(title_lines):
        draw.text((MARGIN, MARGIN + 34 * i), line, fill=INK, font=title_font)
    track_left = MARGIN + LABEL_WIDTH
    track_width = WIDTH - track_left - MARGIN - 120
    # Bars are shares of the voters (the whole track = everyone who voted), not of the winner.
    biggest = data.voters or max((bar.count for bar in data.bars), default=0)
    boxes: list[tuple[int, int, int, int]] = []
    for i, bar in enumerate(data.bars):
        y = top + i * (BAR_HEIGHT + GAP)
        label = _fit(draw, drawable(bar.label, font), font, LABEL_WIDTH - 12)
        draw.text((MARGIN, y + 7), label, fill=INK, font=font)
        draw.rectangle((track_left, y, track_left + track_width, y + BAR_HEIGHT), fill=TRACK)
        length = round(track_width * bar.count / biggest) if biggest else 0
        box = (track_left, y, track_left + length, y + BAR_HEIGHT)
        if length > 0:
            draw.rectangle(box, fill=COLORS[i % len(COLORS)])
        boxes.append(box)
        draw.text(
            (track_left + track_width + 10, y + 7),
            f"{bar.count} ({bar.percent}%)",
            fill=INK,
            font=font,
        )
    footer = drawable(data.footer, font)
    draw.text((MARGIN, height - MARGIN - 24), footer, fill=INK, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue(), boxes
