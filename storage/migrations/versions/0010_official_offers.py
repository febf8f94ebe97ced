"""official bills seen, and new motions offered in guilds' news channels

``official_bill`` keeps every dismissal motion the Open API has shown (its first sight
is when it is offered); ``announcement`` also carries those offers (``kind`` "offer",
with the bill number and no event), delivered exactly once like an announcement.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "official_bill",
        sa.Column("bill_no", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=True),
        sa.Column("link_url", sa.String(length=2000), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("bill_no"),
    )
    with op.batch_alter_table("announcement") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="change")
        )
        batch.add_column(sa.Column("bill_no", sa.String(length=32), nullable=True))
        batch.alter_column("event_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM announcement WHERE kind <> 'change'")
    with op.batch_alter_table("announcement") as batch:
        batch.alter_column("event_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("bill_no")
        batch.drop_column("kind")
    op.drop_table("official_bill")
