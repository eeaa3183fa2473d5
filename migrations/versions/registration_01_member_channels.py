"""registration: how a member joined, since when a formal LAG member, longer consent kinds

Revision ID: registration_01
Revises: 0001
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "registration_01"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lag_member_since", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("joined_via", sa.String(length=20), nullable=True))
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=20),
            type_=sa.String(length=40),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=40),
            type_=sa.String(length=20),
            existing_nullable=False,
        )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("joined_via")
        batch_op.drop_column("lag_member_since")
