"""Interactions the stand-in sent, and what the bot did with them.

An `InteractionRecord` is the test's handle on one interaction: it fills in as
the bot answers (callback, followups, edits of the original response), and its
`response()` / `wait_followups()` / `wait_edit()` wait on the journal's change
events, never by sleeping.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from motionwatch_standin.journal import Journal
from motionwatch_standin.messages import FLAG_EPHEMERAL, AttachmentRecord, MessageRecord
from motionwatch_standin.model import Guild, World
from motionwatch_standin.payload import JSON

PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

# Which callbacks Discord accepts for which interaction type.
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}

# What Discord tells interactions about uploads (discord.py requires the key).
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class AutocompleteChoice:
    name: str
    value: str | int | float


@dataclass
class CallbackRecord:
    """The bot's answer to an interaction (POST .../callback)."""

    type: int
    data: JSON
    at: float
    message: MessageRecord | None = None

    @property
    def content(self) -> str | None:
        value = self.data.get("content")
        return value if isinstance(value, str) else None

    @property
    def embeds(self) -> list[JSON]:
        return list(self.data.get("embeds") or [])

    @property
    def components(self) -> list[JSON]:
        return list(self.data.get("components") or [])

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def attachments(self) -> list[AttachmentRecord]:
        return list(self.message.attachments) if self.message is not None else []

    @property
    def choices(self) -> list[AutocompleteChoice]:
        return [
            AutocompleteChoice(str(c.get("name")), c["value"])
            for c in self.data.get("choices") or []
            if isinstance(c, dict) and "value" in c
        ]


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    guild_id: int
    channel_id: int
    user_id: int
    name: str
    payload: JSON = field(repr=False)
    journal: Journal = field(repr=False)
    # The gateway session (by IDENTIFY number) it was dispatched to.
    session: int | None = None
    sent_at: float | None = None
    responded_at: float | None = None
    callback: CallbackRecord | None = None
    original: MessageRecord | None = None
    followups: list[MessageRecord] = field(default_factory=list)
    # The message a component click came from (what type 6/7 answers update).
    source_message: MessageRecord | None = None
    _edits_seen: int = field(default=0, repr=False)

    def set_original(self, message: MessageRecord) -> None:
        """From now on @original is `message`; only its later edits count for wait_edit."""
        self.original = message
        self._edits_seen = message.edit_count

    @property
    def latency(self) -> float | None:
        """Seconds from writing INTERACTION_CREATE to the callback's arrival."""
        if self.sent_at is None or self.responded_at is None:
            return None
        return self.responded_at - self.sent_at

    async def response(self, timeout: float = 5.0) -> CallbackRecord:  # noqa: ASYNC109
        return await self.journal.wait_for(
            lambda: self.callback, timeout, f"the callback of interaction {self.name!r}"
        )

    async def wait_followups(self, n: int = 1, timeout: float = 5.0) -> list[MessageRecord]:  # noqa: ASYNC109
        return await self.journal.wait_for(
            lambda: list(self.followups) if len(self.followups) >= n else None,
            timeout,
            f"{n} followup(s) of interaction {self.name!r} (have {len(self.followups)})",
        )

    async def wait_edit(self, timeout: float = 5.0) -> MessageRecord:  # noqa: ASYNC109
        """The original response after its next edit not yet waited for."""

        def probe() -> MessageRecord | None:
            message = self.original
            if message is not None and message.edit_count > self._edits_seen:
                self._edits_seen = message.edit_count
                return message
            return None

        return await self.journal.wait_for(
            probe, timeout, f"an edit of the original response of {self.name!r}"
        )


class InteractionBook:
    """Interactions by id and by token, and the payloads that create them."""

    def __init__(self, world: World, journal: Journal) -> None:
        self._world = world
        self._journal = journal
        self.all: list[InteractionRecord] = []
        self._by_id: dict[int, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}

    def by_id(self, interaction_id: int) -> InteractionRecord | None:
        return self._by_id.get(interaction_id)

    def by_token(self, token: str) -> InteractionRecord | None:
        return self._by_token.get(token)

    def create(
        self,
        *,
        type: int,
        guild: Guild,
        channel_id: int,
        user_id: int,
        name: str,
        data: JSON,
        locale: str,
        message: MessageRecord | None = None,
    ) -> InteractionRecord:
        interaction_id = self._world.ids.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(120)
        channel = guild.channel(channel_id)
        member = guild.member(user_id)
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self._world.application_id),
            "type": type,
            "data": data,
            "guild_id": str(guild.id),
            "guild": guild.partial_payload(),
            "channel_id": str(channel_id),
            "channel": channel.to_payload(),
            "member": member.to_payload(permissions=guild.permissions_of(user_id)),
            "token": token,
            "version": 1,
            "locale": locale,
            "guild_locale": guild.preferred_locale,
            "app_permissions": str(guild.permissions_of(self._world.bot.id)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = message.to_payload()
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=type,
            guild_id=guild.id,
            channel_id=channel_id,
            user_id=user_id,
            name=name,
            payload=payload,
            journal=self._journal,
            source_message=message,
        )
        self.all.append(record)
        self._by_id[interaction_id] = record
        self._by_token[token] = record
        return record

    def metadata(self, record: InteractionRecord) -> JSON:
        """`interaction_metadata` of a message the interaction produced."""
        user = self._world.users[record.user_id]
        data: JSON = {
            "id": str(record.id),
            "type": record.type,
            "user": user.to_payload(),
            "authorizing_integration_owners": {"0": str(record.guild_id)},
        }
        if record.type == APPLICATION_COMMAND:
            data["name"] = record.name
        if record.source_message is not None:
            data["interacted_message_id"] = str(record.source_message.id)
        return data


def callback_data(body: Any) -> JSON:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}
