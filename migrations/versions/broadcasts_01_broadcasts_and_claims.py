"""broadcasts: broadcasts and their schedules; outbox claim holder and urgency

Revision ID: broadcasts_01
Revises: 0001
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "broadcasts_01"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("month_day", sa.Integer(), nullable=True),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("over_budget_ok", sa.Boolean(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("skipped_runs", sa.Integer(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("broadcast_schedule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_broadcast_schedule_created_by"), ["created_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_broadcast_schedule_next_run_at"), ["next_run_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_broadcast_schedule_status"), ["status"], unique=False)

    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("occurrence_key", sa.String(length=80), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("reach", sa.JSON(), nullable=False),
        sa.Column("sms_parts", sa.Integer(), nullable=False),
        sa.Column("est_cost", sa.Float(), nullable=False),
        sa.Column("over_budget", sa.Boolean(), nullable=False),
        sa.Column("notify_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("notify_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"]),
        sa.ForeignKeyConstraint(["schedule_id"], ["broadcast_schedule.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("occurrence_key"),
    )
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcast_created_by"), ["created_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_broadcast_schedule_id"), ["schedule_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_broadcast_status"), ["status"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("urgent")
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_status"))
        batch_op.drop_index(batch_op.f("ix_broadcast_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_broadcast_created_by"))
    op.drop_table("broadcast")
    with op.batch_alter_table("broadcast_schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_schedule_status"))
        batch_op.drop_index(batch_op.f("ix_broadcast_schedule_next_run_at"))
        batch_op.drop_index(batch_op.f("ix_broadcast_schedule_created_by"))
    op.drop_table("broadcast_schedule")
