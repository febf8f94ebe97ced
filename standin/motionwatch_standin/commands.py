"""Application commands the bot registered, global and per guild.

Discord keeps a command's id when a bulk overwrite re-sends the same name and
type, and bumps its version; the store does the same, so tests can tell a
no-op sync from a real change.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from motionwatch_standin.payload import JSON, SnowflakeFactory, StandInUsageError

CHAT_INPUT = 1

# The defaults Discord fills in when a definition omits them.
_DEFAULTS: JSON = {
    "type": CHAT_INPUT,
    "description": "",
    "options": [],
    "default_member_permissions": None,
    "nsfw": False,
    "name_localizations": None,
    "description_localizations": None,
}


@dataclass(frozen=True)
class SyncRecord:
    """One bulk overwrite: which scope, which names, and whether anything changed."""

    guild_id: int | None
    names: tuple[str, ...]
    changed: bool
    at: float


Key = tuple[int, str]


def _key(command: JSON) -> Key:
    return (int(command.get("type") or CHAT_INPUT), str(command.get("name")))


def _definition(command: JSON) -> JSON:
    """The part of a command that a client defines (no ids, no versions)."""
    return {
        k: v for k, v in command.items() if k not in ("id", "application_id", "version", "guild_id")
    }


class CommandStore:
    def __init__(self, ids: SnowflakeFactory, application_id: int) -> None:
        self._ids = ids
        self._application_id = application_id
        self._scopes: dict[int | None, dict[Key, JSON]] = {None: {}}
        self.sync_calls: list[SyncRecord] = []

    def listing(self, guild_id: int | None = None) -> list[JSON]:
        return [copy.deepcopy(c) for c in self._scopes.get(guild_id, {}).values()]

    def sync_count(self, guild_id: int | None = None) -> int:
        return sum(1 for call in self.sync_calls if call.guild_id == guild_id)

    def bulk_overwrite(self, guild_id: int | None, payloads: list[JSON]) -> list[JSON]:
        old = self._scopes.get(guild_id, {})
        new: dict[Key, JSON] = {}
        changed = len(payloads) != len(old)
        for payload in payloads:
            stored, was_changed = self._store(guild_id, old.get(_key(payload)), payload)
            new[_key(stored)] = stored
            changed = changed or was_changed
        self._scopes[guild_id] = new
        names = tuple(str(p.get("name")) for p in payloads)
        self.sync_calls.append(SyncRecord(guild_id, names, changed, time.perf_counter()))
        return self.listing(guild_id)

    def upsert(self, guild_id: int | None, payload: JSON) -> tuple[JSON, bool]:
        """POST one command; True when it was new (Discord answers 201 then)."""
        scope = self._scopes.setdefault(guild_id, {})
        previous = scope.get(_key(payload))
        stored, _ = self._store(guild_id, previous, payload)
        scope[_key(stored)] = stored
        return copy.deepcopy(stored), previous is None

    def get(self, guild_id: int | None, command_id: int) -> JSON | None:
        for command in self._scopes.get(guild_id, {}).values():
            if int(command["id"]) == command_id:
                return command
        return None

    def edit(self, guild_id: int | None, command_id: int, changes: JSON) -> JSON | None:
        command = self.get(guild_id, command_id)
        if command is None:
            return None
        scope = self._scopes[guild_id]
        del scope[_key(command)]
        merged = {**_definition(command), **changes}
        stored, _ = self._store(guild_id, command, merged)
        scope[_key(stored)] = stored
        return copy.deepcopy(stored)

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        command = self.get(guild_id, command_id)
        if command is None:
            return False
        del self._scopes[guild_id][_key(command)]
        return True

    def find(self, guild_id: int | None, name: str, type: int = CHAT_INPUT) -> JSON:
        """The command a user in `guild_id` would see: guild commands shadow global ones."""
        scopes = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            command = self._scopes.get(scope, {}).get((type, name))
            if command is not None:
                return command
        known = sorted(
            {n for scope in scopes for (t, n) in self._scopes.get(scope, {}) if t == type}
        )
        raise StandInUsageError(
            f"the bot has not synced a command {name!r} visible in guild {guild_id};"
            f" synced: {', '.join(known) or 'none'}"
        )

    def _store(
        self, guild_id: int | None, previous: JSON | None, payload: JSON
    ) -> tuple[JSON, bool]:
        definition = {**_DEFAULTS, **_definition(payload)}
        changed = previous is None or _definition(previous) != definition
        stored: JSON = {
            **copy.deepcopy(definition),
            "id": previous["id"] if previous is not None else str(self._ids.next()),
            "application_id": str(self._application_id),
            "version": str(self._ids.next())
            if changed or previous is None
            else previous["version"],
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored, changed
