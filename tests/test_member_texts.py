"""Texts of registration and membership: the LAG's Georgian name as the source text has it,
and the SMS HELP within two parts in every language and script."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# The LAG's own text (../shared/seed/lagodekhi-lag.ka.txt) names it "ადგილობრივი განვითარების
# ჯგუფი"; "ადგილობრივი სამოქმედო ჯგუფი" is a calque of "Local Action Group" it never uses.
SOURCE_NAME = "ადგილობრივი განვითარების ჯგუფ"
CALQUE = "სამოქმედო ჯგუფ"


def _georgian_catalog_texts() -> dict[str, str]:
    texts: dict[str, str] = {}
    for folder in (ROOT / "locales" / "ka", ROOT / "web" / "locales" / "ka"):
        for path in sorted(folder.rglob("*.po")):
            with path.open("rb") as fh:
                for message in read_po(fh, locale=None):
                    if message.id and isinstance(message.string, str):
                        texts[f"{path.name}:{message.id}"] = message.string
    return texts


def test_every_georgian_catalog_names_the_lag_as_its_source_text_does() -> None:
    texts = _georgian_catalog_texts()
    calques = sorted(key for key, text in texts.items() if CALQUE in text)
    assert calques == []
    named = sorted(key for key, text in texts.items() if SOURCE_NAME in text)
    assert "registration.po:registration.consent_data" in named  # who collects the data
    assert "core.po:core.choose_language" in named  # the first thing a newcomer reads
