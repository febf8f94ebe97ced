"""Syncing the command tree only when its definition changed since the last sync.

Discord rate-limits command syncs, and a sync on every start is the classic way
to hit that limit; the hash of what was last synced is kept in the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord
from discord import app_commands

from storage.engine import SessionFactory, writing
from storage.queries.state import get_state, set_state

log = logging.getLogger(__name__)


async def _payload(tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None) -> str:
    translator = tree.translator
    commands = tree.get_commands(guild=guild)
    if translator is not None:
        body = [await c.get_translated_payload(tree, translator) for c in commands]
    else:
        body = [c.to_dict(tree) for c in commands]
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


async def sync_if_changed(
    tree: app_commands.CommandTree[Any],
    sessions: SessionFactory,
    *,
    application_id: int,
    dev_guild_id: int | None,
) -> list[str]:
    """Sync globally, and to ``dev_guild_id`` when set, where the definition changed.

    Returns what was synced ("global", "guild:<id>"), for the log and the tests.
    """
    targets: list[discord.abc.Snowflake | None] = [None]
    if dev_guild_id:
        dev = discord.Object(id=dev_guild_id)
        tree.copy_global_to(guild=dev)
        targets.append(dev)
    synced: list[str] = []
    for target in targets:
        label = "global" if target is None else f"guild:{target.id}"
        digest = hashlib.sha256((await _payload(tree, target)).encode()).hexdigest()
        key = f"command-sync:{application_id}:{label}"
        # Reading and writing in separate transactions: on SQLite, one that reads and
        # then writes can deadlock with another process starting at the same time.
        async with sessions() as session:
            unchanged = await get_state(session, key=key) == digest
        if unchanged:
            log.info("commands unchanged since the last sync (%s); not syncing", label)
            continue
        await tree.sync(guild=target)
        async with writing(sessions) as session:
            await set_state(session, key=key, value=digest)
            await session.commit()
        log.info("synced commands (%s)", label)
        synced.append(label)
    return synced
