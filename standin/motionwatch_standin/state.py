"""The stand-in's parts in one place, handed to the REST handlers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from motionwatch_standin.commands import CommandStore
from motionwatch_standin.gateway import Gateway
from motionwatch_standin.interactions import InteractionBook
from motionwatch_standin.journal import Journal, RequestRecord
from motionwatch_standin.messages import MessageRecord, MessageStore
from motionwatch_standin.model import World
from motionwatch_standin.nonces import NonceBook
from motionwatch_standin.payload import JSON
from motionwatch_standin.rules import mentions_disabled


@dataclass
class Settings:
    token: str
    # Answer bodies that break Discord's own rules with 400, as Discord does.
    reject_invalid: bool = True
    # Discord drops interactions not answered within 3 s ("Unknown interaction").
    response_deadline: float | None = 3.0


@dataclass
class State:
    settings: Settings
    world: World
    journal: Journal
    messages: MessageStore
    commands: CommandStore
    interactions: InteractionBook
    gateway: Gateway
    ping_roles: dict[int, set[int]] = field(default_factory=dict)
    # enforce_nonce: a repeated send within the window returns the first message.
    nonces: NonceBook = field(default_factory=NonceBook)
    # Channels whose message posts are answered only when released (a bot dying mid-send).
    held: dict[int, asyncio.Event] = field(default_factory=dict)
    # Channels whose message posts are refused: (HTTP status, Discord error code, message).
    refused: dict[int, tuple[int, int, str]] = field(default_factory=dict)
    # Known once the server is bound (port 0 means "any free port").
    gateway_url: str = ""
    # What GET /gateway/bot recommends: an AutoShardedClient given no count opens these.
    recommended_shards: int = 1

    def check_mentions(self, record: RequestRecord, body: object, guild_id: int | None) -> None:
        """Record (never reject) message bodies that could ping someone."""
        if not isinstance(body, dict):
            return
        allowed = self.ping_roles.get(guild_id or 0, set())
        for problem in mentions_disabled(body, allowed):
            self.journal.violation(record, problem)

    # Discord echoes the bot's own (non-ephemeral) messages over the gateway.

    def announce_created(self, message: MessageRecord) -> None:
        if not message.ephemeral:
            self.gateway.dispatch("MESSAGE_CREATE", message.to_payload(with_guild_id=True))
        self.journal.notify()

    def announce_edited(self, message: MessageRecord) -> None:
        if not message.ephemeral:
            self.gateway.dispatch("MESSAGE_UPDATE", message.to_payload(with_guild_id=True))
        self.journal.notify()

    def announce_deleted(self, message: MessageRecord) -> None:
        if not message.ephemeral:
            payload: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                payload["guild_id"] = str(message.guild_id)
            self.gateway.dispatch("MESSAGE_DELETE", payload)
        self.journal.notify()
