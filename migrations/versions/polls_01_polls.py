"""Quick polls: polls, their recipients (electorate) and ballots.

Revision ID: polls_01
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "polls_01"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("results_live", sa.Boolean(), nullable=False),
        sa.Column("results_to_voters", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminder_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=40), nullable=True),
        sa.Column("audience_size", sa.Integer(), nullable=False),
        sa.Column("ballot_salt", sa.String(length=64), nullable=True),
        sa.Column("final_results", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_closes_at"), ["closes_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_poll_status"), ["status"], unique=False)

    op.create_table(
        "poll_ballot",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=10), nullable=True),
        sa.Column("youth", sa.Boolean(), nullable=True),
        sa.Column("gender", sa.String(length=10), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["poll_id"], ["poll.id"]),
        sa.PrimaryKeyConstraint("poll_id", "voter_key"),
    )
    op.create_table(
        "poll_recipient",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("ballot_rev", sa.Integer(), nullable=False),
        sa.Column("ballot_shown_rev", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["poll_id"], ["poll.id"]),
        sa.PrimaryKeyConstraint("poll_id", "member_id"),
    )
    with op.batch_alter_table("poll_recipient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_poll_recipient_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("poll_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_recipient_member_id"))
    op.drop_table("poll_recipient")
    op.drop_table("poll_ballot")
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_status"))
        batch_op.drop_index(batch_op.f("ix_poll_closes_at"))
    op.drop_table("poll")
