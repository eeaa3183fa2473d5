"""Grant applicants: the awarded amount and the applicant's co-financing (GEL), recorded when
an applicant is funded (paper applications need no change: channel "office").

Revision ID: grants_02
Revises: audiences_01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "grants_02"
down_revision: str | Sequence[str] | None = "audiences_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("grant_applicant") as batch:
        batch.add_column(sa.Column("awarded_amount", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cofinancing_amount", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grant_applicant") as batch:
        batch.drop_column("cofinancing_amount")
        batch.drop_column("awarded_amount")
