"""ticket merge: a possible duplicate's older ticket, and the ticket a report was merged into

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two nullable columns pointing at another ticket: a report is a possible duplicate of
    # at most one older ticket and is merged into at most one, so no link table is needed.
    # batch_alter_table: SQLite adds a foreign key only by copying the table.
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_ticket_duplicate_of_id", "ticket", ["duplicate_of_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_ticket_merged_into_id", "ticket", ["merged_into_id"], ["id"]
        )
        batch_op.create_index("ix_ticket_merged_into_id", ["merged_into_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_merged_into_id")
        batch_op.drop_constraint("fk_ticket_merged_into_id", type_="foreignkey")
        batch_op.drop_constraint("fk_ticket_duplicate_of_id", type_="foreignkey")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("duplicate_of_id")
