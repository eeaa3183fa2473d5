"""Polls in every member's language: optional az / ru / en versions of the question and of the
options beside the Georgian ones (NULL for the polls made before: Georgian only).

Revision ID: polls_02
Revises: grants_02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "polls_02"
down_revision: str | Sequence[str] | None = "grants_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("question_versions", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("option_versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.drop_column("option_versions")
        batch.drop_column("question_versions")
