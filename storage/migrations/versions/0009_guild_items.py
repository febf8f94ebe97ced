"""guild items: a guild's own motions, kept in the item table beside the configured ones

``/track motion`` adds a row owned by one guild (``guild_id``), with its names, an
optional National Assembly bill number and its news keywords; ``/track stop`` hides
it (``hidden_at``/``hidden_by``), never deletes it. Configured items keep
``guild_id`` NULL.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "guild_id",
    "name_en",
    "name_ko",
    "bill_no",
    "keywords",
    "created_by",
    "hidden_at",
    "hidden_by",
)


def upgrade() -> None:
    op.add_column("item", sa.Column("guild_id", sa.BigInteger(), nullable=True))
    op.add_column("item", sa.Column("name_en", sa.String(length=100), nullable=True))
    op.add_column("item", sa.Column("name_ko", sa.String(length=100), nullable=True))
    op.add_column("item", sa.Column("bill_no", sa.String(length=32), nullable=True))
    op.add_column("item", sa.Column("keywords", sa.JSON(), nullable=True))
    op.add_column("item", sa.Column("created_by", sa.BigInteger(), nullable=True))
    op.add_column("item", sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("item", sa.Column("hidden_by", sa.BigInteger(), nullable=True))
    op.create_index("ix_item_guild", "item", ["guild_id"], unique=False)
    op.create_index("ix_item_bill_no", "item", ["bill_no"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_item_bill_no", table_name="item")
    op.drop_index("ix_item_guild", table_name="item")
    with op.batch_alter_table("item") as batch:
        for column in _COLUMNS:
            batch.drop_column(column)
