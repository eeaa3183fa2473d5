"""merge: the first migration of every domain, so new migrations have one head to build on

Revision ID: 0002
Revises: broadcasts_01, dashboard_01, gateway_01, grants_01 (after events_01), polls_01,
    registration_01, reminders_01, youth_01
Create Date: 2026-11-26 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0002"
down_revision: str | Sequence[str] | None = (
    "broadcasts_01",
    "dashboard_01",
    "gateway_01",
    "grants_01",
    "polls_01",
    "registration_01",
    "reminders_01",
    "youth_01",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
