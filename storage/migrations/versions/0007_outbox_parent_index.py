"""outbox: index the parent of a role message's copies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Whether a referral reached anyone reads all its copies, on every failed try: without
    # an index that scans a table that only grows (and, on SQLite, under the write lock).
    op.create_index("ix_outbox_parent_id", "outbox", ["parent_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_parent_id", table_name="outbox")
