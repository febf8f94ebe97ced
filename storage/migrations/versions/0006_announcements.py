"""announcements recorded with the change they announce

Each moderator's change that a guild with an updates channel should hear of is a row,
written in the change's own transaction and posted from the store (claimed, sent with a
nonce, recorded posted or dropped), so a crash neither loses an announcement nor, after
Discord forgot the nonce, posts it twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "announcement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["timeline_event.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_announcement_state", "announcement", ["state", "id"])
    op.create_index("ix_announcement_guild", "announcement", ["guild_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_announcement_guild", table_name="announcement")
    op.drop_index("ix_announcement_state", table_name="announcement")
    op.drop_table("announcement")
