"""The LAG's communities (თემი), loaded from a data file so another LAG can swap it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, select


class Community(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=64)
    position: int = 0
    name_ka: str = Field(max_length=120)
    name_az: str = Field(max_length=120)
    name_ru: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    name_latin: str = Field(max_length=120)
    villages: str = ""  # newline-separated known villages, Georgian

    def name(self, language: str, *, latin: bool = False) -> str:
        if latin:
            return self.name_latin
        return str(getattr(self, f"name_{language}", None) or self.name_ka)

    @property
    def village_list(self) -> list[str]:
        return [v for v in self.villages.split("\n") if v]


def read_communities_file(path: Path) -> list[dict[str, object]]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    rows = data.get("community", [])
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: no [[community]] entries")
    return rows


async def sync_communities(*, session: AsyncSession, path: Path) -> int:
    """Insert or update the communities from the data file; returns how many there are."""
    rows = read_communities_file(path)
    existing = {c.code: c for c in (await session.execute(select(Community))).scalars()}
    for position, row in enumerate(rows, start=1):
        code = str(row["code"])
        community = existing.get(code) or Community(
            code=code, name_ka="", name_az="", name_ru="", name_en="", name_latin=""
        )
        community.position = position
        for lang in ("ka", "az", "ru", "en"):
            setattr(community, f"name_{lang}", str(row.get(lang) or row["ka"]))
        community.name_latin = str(row.get("latin") or row.get("en") or row["ka"])
        villages = row.get("villages") or []
        assert isinstance(villages, list)
        community.villages = "\n".join(str(v) for v in villages)
        session.add(community)
    await session.flush()
    return len(rows)


async def list_communities(*, session: AsyncSession) -> list[Community]:
    result = await session.execute(select(Community).order_by(Community.position))  # type: ignore[arg-type]
    return list(result.scalars())
