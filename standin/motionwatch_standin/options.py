"""Turning a test's `options={...}` into the `data` of an APPLICATION_COMMAND.

Discord's client only lets a user pick a subcommand that exists, fill options
that exist, and choose from `choices`; it sends values typed by the option's
type, and puts users, members, roles, channels and attachments the options
refer to into `resolved`. Anything a real user could not send fails loudly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from motionwatch_standin.messages import MessageStore, UploadedFile
from motionwatch_standin.model import Guild, World
from motionwatch_standin.payload import JSON, StandInUsageError, as_snowflake

SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10
ATTACHMENT = 11

TYPE_NAMES = {
    STRING: "string",
    INTEGER: "integer",
    BOOLEAN: "boolean",
    USER: "user",
    CHANNEL: "channel",
    ROLE: "role",
    MENTIONABLE: "mentionable",
    NUMBER: "number",
    ATTACHMENT: "attachment",
}


@dataclass(frozen=True)
class Upload:
    """A file a user attaches to an attachment option."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


OptionValue: TypeAlias = str | int | float | bool | Upload


@dataclass
class _Resolved:
    users: JSON = field(default_factory=dict)
    members: JSON = field(default_factory=dict)
    roles: JSON = field(default_factory=dict)
    channels: JSON = field(default_factory=dict)
    attachments: JSON = field(default_factory=dict)

    def to_payload(self) -> JSON:
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class Focus:
    """The option being typed into, for autocomplete, and its raw text."""

    name: str
    value: str


class OptionBuilder:
    def __init__(self, world: World, messages: MessageStore) -> None:
        self._world = world
        self._messages = messages

    def command_data(
        self,
        command: JSON,
        guild: Guild,
        channel_id: int,
        *,
        options: Mapping[str, OptionValue],
        subcommand: str | None,
        subcommand_group: str | None,
        focus: Focus | None = None,
    ) -> JSON:
        label = f"/{command['name']}"
        definitions: list[JSON] = list(command.get("options") or [])
        path: list[tuple[int, str]] = []
        if subcommand_group is not None:
            group = _pick(label, definitions, subcommand_group, SUB_COMMAND_GROUP)
            label += f" {subcommand_group}"
            definitions = list(group.get("options") or [])
            path.append((SUB_COMMAND_GROUP, subcommand_group))
            if subcommand is None:
                raise StandInUsageError(f"{label} needs a subcommand: {_names(definitions)}")
        if subcommand is not None:
            sub = _pick(label, definitions, subcommand, SUB_COMMAND)
            label += f" {subcommand}"
            definitions = list(sub.get("options") or [])
            path.append((SUB_COMMAND, subcommand))
        elif any(d.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for d in definitions):
            raise StandInUsageError(f"{label} needs a subcommand: {_names(definitions)}")

        resolved = _Resolved()
        values = self._values(label, definitions, options, guild, channel_id, resolved, focus)
        # Wrap leaf options in their subcommand (group) options, innermost first.
        for kind, name in reversed(path):
            values = [{"type": kind, "name": name, "options": values}]

        data: JSON = {"id": command["id"], "name": command["name"], "type": command.get("type", 1)}
        if values:
            data["options"] = values
        if resolved.to_payload():
            data["resolved"] = resolved.to_payload()
        if command.get("guild_id") is not None:
            data["guild_id"] = command["guild_id"]
        return data

    def _values(
        self,
        label: str,
        definitions: list[JSON],
        options: Mapping[str, OptionValue],
        guild: Guild,
        channel_id: int,
        resolved: _Resolved,
        focus: Focus | None,
    ) -> list[JSON]:
        known = {str(d["name"]) for d in definitions}
        unknown = set(options) - known
        if focus is not None and focus.name not in known:
            unknown.add(focus.name)
        if unknown:
            missing = ", ".join(sorted(unknown))
            raise StandInUsageError(
                f"{label} has no option {missing}; options: {_names(definitions)}"
            )
        values: list[JSON] = []
        for definition in definitions:
            name = str(definition["name"])
            kind = int(definition["type"])
            if focus is not None and name == focus.name:
                if not definition.get("autocomplete"):
                    raise StandInUsageError(f"{label} option {name!r} has no autocomplete")
                # Discord sends the partial text as typed, whatever the option type.
                values.append({"type": kind, "name": name, "value": focus.value, "focused": True})
            elif name in options:
                value = self._convert(label, definition, options[name], guild, channel_id, resolved)
                values.append({"type": kind, "name": name, "value": value})
            elif definition.get("required") and focus is None:
                raise StandInUsageError(f"{label} needs option {name!r}")
        return values

    def _convert(
        self,
        label: str,
        definition: JSON,
        raw: OptionValue,
        guild: Guild,
        channel_id: int,
        resolved: _Resolved,
    ) -> Any:
        kind = int(definition["type"])
        where = f"{label} option {definition['name']!r} ({TYPE_NAMES.get(kind, kind)})"
        value: Any
        if kind == STRING:
            if isinstance(raw, Upload | bool):
                raise StandInUsageError(f"{where}: {raw!r} is not text")
            value = str(raw)
            _check_length(where, definition, value)
        elif kind == INTEGER:
            value = _integer(where, raw)
            _check_range(where, definition, value)
        elif kind == NUMBER:
            value = _number(where, raw)
            _check_range(where, definition, value)
        elif kind == BOOLEAN:
            value = _boolean(where, raw)
        elif kind in (USER, ROLE, MENTIONABLE, CHANNEL):
            value = self._entity(where, kind, definition, raw, guild, channel_id, resolved)
        elif kind == ATTACHMENT:
            if not isinstance(raw, Upload):
                raise StandInUsageError(f"{where}: pass standin.Upload(filename, data)")
            upload = UploadedFile("option", raw.filename, raw.content_type, raw.data)
            record = self._messages.host(channel_id, upload)
            resolved.attachments[str(record.id)] = record.to_payload()
            value = str(record.id)
        else:
            raise StandInUsageError(f"{where}: option type {kind} is not supported")
        choices = definition.get("choices")
        if choices and value not in [c.get("value") for c in choices]:
            offered = ", ".join(repr(c.get("value")) for c in choices)
            raise StandInUsageError(f"{where}: {value!r} is not one of the choices {offered}")
        return value

    def _entity(
        self,
        where: str,
        kind: int,
        definition: JSON,
        raw: OptionValue,
        guild: Guild,
        channel_id: int,
        resolved: _Resolved,
    ) -> str:
        ident = as_snowflake(raw) if not isinstance(raw, Upload) else None
        if ident is None:
            raise StandInUsageError(f"{where}: {raw!r} is not an id")
        user = self._world.users.get(ident)
        if kind in (USER, MENTIONABLE) and user is not None:
            resolved.users[str(ident)] = user.to_payload()
            member = guild.members.get(ident)
            if member is not None:
                permissions = guild.permissions_of(ident)
                resolved.members[str(ident)] = member.to_payload(
                    permissions=permissions, with_user=False
                )
            return str(ident)
        role = guild.roles.get(ident)
        if kind in (ROLE, MENTIONABLE) and role is not None:
            resolved.roles[str(ident)] = role.to_payload()
            return str(ident)
        channel = guild.channels.get(ident)
        if kind == CHANNEL and channel is not None:
            allowed = definition.get("channel_types")
            if allowed and channel.type not in allowed:
                raise StandInUsageError(f"{where}: channel type {channel.type} not in {allowed}")
            payload = channel.to_payload()
            payload["permissions"] = str(guild.permissions_of(self._world.bot.id))
            resolved.channels[str(ident)] = payload
            return str(ident)
        raise StandInUsageError(f"{where}: no such {TYPE_NAMES[kind]} {ident} in guild {guild.id}")


def _pick(label: str, definitions: list[JSON], name: str, kind: int) -> JSON:
    for definition in definitions:
        if definition.get("name") == name and definition.get("type") == kind:
            return definition
    what = "subcommand group" if kind == SUB_COMMAND_GROUP else "subcommand"
    raise StandInUsageError(f"{label} has no {what} {name!r}; it has: {_names(definitions)}")


def _names(definitions: list[JSON]) -> str:
    return ", ".join(str(d.get("name")) for d in definitions) or "none"


def _integer(where: str, raw: OptionValue) -> int:
    if isinstance(raw, bool | Upload):
        raise StandInUsageError(f"{where}: {raw!r} is not an integer")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise StandInUsageError(f"{where}: {raw!r} is not an integer")
        return int(raw)
    try:
        return int(raw)
    except ValueError:
        raise StandInUsageError(f"{where}: {raw!r} is not an integer") from None


def _number(where: str, raw: OptionValue) -> float:
    if isinstance(raw, bool | Upload):
        raise StandInUsageError(f"{where}: {raw!r} is not a number")
    try:
        return float(raw)
    except ValueError:
        raise StandInUsageError(f"{where}: {raw!r} is not a number") from None


def _boolean(where: str, raw: OptionValue) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise StandInUsageError(f"{where}: {raw!r} is not a boolean")


def _check_range(where: str, definition: JSON, value: float) -> None:
    low, high = definition.get("min_value"), definition.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        raise StandInUsageError(f"{where}: {value} is outside [{low}, {high}]")


def _check_length(where: str, definition: JSON, value: str) -> None:
    low, high = definition.get("min_length"), definition.get("max_length")
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        raise StandInUsageError(f"{where}: length {len(value)} is outside [{low}, {high}]")
