"""staff, invitations, ticket work columns, outbox fan-out

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:26:40.928411
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope_level", sa.String(length=8), nullable=False),
        sa.Column("scope_code", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "staff_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope_level", sa.String(length=8), nullable=False),
        sa.Column("scope_code", sa.String(length=12), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["invite.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_member_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_staff_scope", ["scope_code", "active"], unique=False)

    op.create_table(
        "station_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_code", sa.String(length=12), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["invite.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("station_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_station_group_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_station_group_station_code"), ["station_code"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key("fk_outbox_parent_id", "outbox", ["parent_id"], ["id"])

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_action_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("resolution_note", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("feedback", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("feedback_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_ticket_assignee_id", "staff_member", ["assignee_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ticket_assignee_id", type_="foreignkey")
        batch_op.drop_column("feedback_due_at")
        batch_op.drop_column("feedback")
        batch_op.drop_column("resolution_note")
        batch_op.drop_column("outcome")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("first_action_at")
        batch_op.drop_column("signed_at")
        batch_op.drop_column("assignee_id")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_parent_id", type_="foreignkey")
        batch_op.drop_column("message_id")
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("station_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_group_station_code"))
        batch_op.drop_index(batch_op.f("ix_station_group_chat_id"))

    op.drop_table("station_group")
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_scope")
        batch_op.drop_index(batch_op.f("ix_staff_member_user_id"))

    op.drop_table("staff_member")
    op.drop_table("invite")
