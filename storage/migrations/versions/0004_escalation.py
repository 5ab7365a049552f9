"""escalation ladder

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:55:04.078143
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ladder_rung", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("overdue_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("ladder_base", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("overdue_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("resolve_overdue_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_ticket_next_due", ["next_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_next_due")
        batch_op.drop_column("resolve_overdue_at")
        batch_op.drop_column("overdue_since")
        batch_op.drop_column("ladder_base")
        batch_op.drop_column("overdue_level")
        batch_op.drop_column("ladder_rung")
