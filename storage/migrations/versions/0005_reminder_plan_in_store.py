"""reminders planned in the store: planned deadlines, offsets as rows, owed rows ahead of time

What is due is decided from the store rather than from one process's memory, and a
change re-plans only what it touches (in SQL). ``known_deadline`` is no longer needed:
a planned reminder row is itself the record that it was owed before its time.

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
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.ForeignKeyConstraint(["custom_id"], ["custom_deadline.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deadline_key", "deadline_at", "scope"),
    )
    op.create_index("ix_planned_deadline_scope", "planned_deadline", ["scope", "item_id"])
    op.create_table(
        "reminder_offset",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("offset_seconds", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "offset_seconds"),
    )
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
    op.execute("DELETE FROM reminder_delivery WHERE state = 'planned'")
    with op.batch_alter_table("reminder_delivery") as batch:
        batch.drop_column("reason")
        batch.drop_column("title")
        batch.drop_column("effect_at")
        batch.drop_column("kind")
    op.drop_table("reminder_offset")
    op.drop_index("ix_planned_deadline_scope", table_name="planned_deadline")
    op.drop_table("planned_deadline")
