"""The grant competition: calls, their info sessions (links to events) and applicants.

Revision ID: grants_01
Revises: events_01 (grant_info_session.event_id references event.id)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "grants_01"
down_revision: str | Sequence[str] | None = "events_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grant_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("priorities", sa.JSON(), nullable=False),
        sa.Column("applicant_types", sa.JSON(), nullable=False),
        sa.Column("min_amount", sa.Integer(), nullable=False),
        sa.Column("max_amount", sa.Integer(), nullable=False),
        sa.Column("cofinancing_pct", sa.Integer(), nullable=False),
        sa.Column("manual_url", sa.String(length=500), nullable=True),
        sa.Column("idea_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shortlist_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("training_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("full_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interviews_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("results_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contract_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("grant_call", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grant_call_full_deadline"), ["full_deadline"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grant_call_idea_deadline"), ["idea_deadline"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grant_call_status"), ["status"], unique=False)

    op.create_table(
        "grant_applicant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("applicant_type", sa.String(length=20), nullable=False),
        sa.Column("idea_title", sa.String(length=200), nullable=False),
        sa.Column("village", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=10), nullable=True),
        sa.Column("gender", sa.String(length=10), nullable=True),
        sa.Column("youth", sa.Boolean(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_call.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grant_id", "member_id", name="uq_grant_applicant"),
    )
    with op.batch_alter_table("grant_applicant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_applicant_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_grant_applicant_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grant_applicant_stage"), ["stage"], unique=False)

    op.create_table(
        "grant_info_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_call.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grant_id", "event_id", name="uq_grant_info_session"),
    )
    with op.batch_alter_table("grant_info_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grant_info_session_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grant_info_session_grant_id"), ["grant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("grant_info_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_info_session_grant_id"))
        batch_op.drop_index(batch_op.f("ix_grant_info_session_event_id"))

    op.drop_table("grant_info_session")
    with op.batch_alter_table("grant_applicant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_applicant_stage"))
        batch_op.drop_index(batch_op.f("ix_grant_applicant_member_id"))
        batch_op.drop_index(batch_op.f("ix_grant_applicant_grant_id"))

    op.drop_table("grant_applicant")
    with op.batch_alter_table("grant_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_call_status"))
        batch_op.drop_index(batch_op.f("ix_grant_call_idea_deadline"))
        batch_op.drop_index(batch_op.f("ix_grant_call_full_deadline"))

    op.drop_table("grant_call")
