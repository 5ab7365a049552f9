"""inbox: mark scrubbed rows, so parked failures and chat-less updates are emptied too

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every row starts unmarked: emptying an already empty payload once more is harmless.
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scrubbed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.drop_column("scrubbed")
