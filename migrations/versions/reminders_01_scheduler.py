"""scheduler: reminder_log refs, skipped refs, the scheduler lease, one-off notices

Revision ID: reminders_01
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reminders_01"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_reminder_log_ref"), ["ref"], unique=False)

    op.create_table(
        "reminder_skip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("actor_member_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_tick_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "scheduled_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.Column("sms_text", sa.String(length=1000), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("scheduled_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheduled_notice_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scheduled_notice_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_notice_member_id"))
        batch_op.drop_index(batch_op.f("ix_scheduled_notice_due_at"))
    op.drop_table("scheduled_notice")
    op.drop_table("scheduler_lease")
    op.drop_table("reminder_skip")
    with op.batch_alter_table("reminder_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_log_ref"))
        batch_op.drop_column("detail")
        batch_op.drop_column("planned_at")
        batch_op.drop_column("ref")
