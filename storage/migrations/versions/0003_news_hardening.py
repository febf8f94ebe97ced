"""news posts: failures, digests, who handled a story

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add columns with server defaults otherwise portably.
    with op.batch_alter_table("news_post") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="story")
        )
        batch.add_column(sa.Column("digest_post_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failure", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("handled_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("event_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("news_post") as batch:
        for name in (
            "event_id", "handled_at", "handled_by", "failure", "attempts", "digest_post_id", "kind"
        ):  # fmt: skip
            batch.drop_column(name)
