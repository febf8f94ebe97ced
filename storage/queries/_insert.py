from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


async def insert_ignoring_conflicts(
    session: AsyncSession, *, table: Table, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> int:
    """Insert ``rows``, skipping those that clash on ``conflict``; return how many were new.

    ON CONFLICT DO NOTHING makes this safe when two processes start together.
    """
    if not rows:
        return 0
    conn = await session.connection()
    stmt = insert_or_skip(conn.dialect.name, table, conflict).values(list(rows))
    result = await conn.execute(stmt)
    return int(result.rowcount or 0)


def insert_or_skip(
    dialect: str, table: Table, conflict: Sequence[str]
) -> postgresql.Insert | sqlite.Insert:
    """INSERT .. ON CONFLICT (``conflict``) DO NOTHING, in the back end's own dialect."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict)


def table_of(model: type[SQLModel]) -> Table:
    table = getattr(model, "__table__", None)
    assert isinstance(table, Table), f"{model.__name__} is not a table model"
    return table
