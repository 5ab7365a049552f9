"""hardening: delivery by age, flood control, retention, cancelled invitations, note length

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        # Delivery is retried by age: a row put back by an operator counts from then.
        batch_op.add_column(sa.Column("requeued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("scrubbed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        # Per-chat inbound rate limit: a token bucket and the end of a silence.
        batch_op.add_column(sa.Column("flood_tokens", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("flood_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        # A person's text (at most 2,000 characters) plus the label a note carries with it.
        batch_op.alter_column(
            "note",
            existing_type=sa.String(length=2000),
            type_=sa.String(length=2100),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.alter_column(
            "note",
            existing_type=sa.String(length=2100),
            type_=sa.String(length=2000),
            existing_nullable=True,
        )
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("muted_until")
        batch_op.drop_column("flood_at")
        batch_op.drop_column("flood_tokens")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("scrubbed")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("requeued_at")
