"""reminders planned in the store: planned deadlines and each reminded guild's offsets

What is due is worked out from the store rather than from one process's memory, and a
change re-plans by rewriting its few plan rows. ``known_deadline`` is no longer needed:
each planned row carries since when it was planned. A delivery row now also carries
what posting it needs (the deadline's kind, effect and title) and why it was dropped.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planned_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("deadline_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effect_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("custom_id", sa.Integer(), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.ForeignKeyConstraint(["custom_id"], ["custom_deadline.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deadline_key", "deadline_at", "scope"),
    )
    op.create_index("ix_planned_deadline_scope", "planned_deadline", ["scope", "item_id"])
    op.create_index("ix_planned_deadline_custom", "planned_deadline", ["custom_id"])
    op.create_index("ix_planned_deadline_at", "planned_deadline", ["deadline_at"])
    op.create_table(
        "reminder_offset",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("offset_seconds", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "offset_seconds"),
    )
    op.create_index("ix_reminder_offset_offset", "reminder_offset", ["offset_seconds", "guild_id"])
    with op.batch_alter_table("reminder_delivery") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=32), nullable=False, server_default=""))
        batch.add_column(sa.Column("effect_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("title", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(length=200), nullable=True))
    op.drop_table("known_deadline")


def downgrade() -> None:
    op.create_table(
        "known_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.BigInteger(), nullable=False),
        sa.Column("deadline_key", sa.String(length=160), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "deadline_key", "deadline_at"),
    )
    with op.batch_alter_table("reminder_delivery") as batch:
        batch.drop_column("reason")
        batch.drop_column("title")
        batch.drop_column("effect_at")
        batch.drop_column("kind")
    op.drop_index("ix_reminder_offset_offset", table_name="reminder_offset")
    op.drop_table("reminder_offset")
    op.drop_index("ix_planned_deadline_at", table_name="planned_deadline")
    op.drop_index("ix_planned_deadline_custom", table_name="planned_deadline")
    op.drop_index("ix_planned_deadline_scope", table_name="planned_deadline")
    op.drop_table("planned_deadline")
