"""Messages the bot posted or edited, and the files attached to them.

One store holds channel messages, interaction responses and followups alike,
because Discord treats them all as messages in a channel: a component click
can edit any of them, and @original may be a channel message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from motionwatch_standin.model import User
from motionwatch_standin.payload import JSON, SnowflakeFactory, as_snowflake, iso_now

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
# The flags a client may set when sending or editing; others are Discord's own.
CLIENT_FLAGS = (
    FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2
)

MESSAGE_DEFAULT = 0
MESSAGE_CHAT_INPUT_COMMAND = 20


@dataclass
class UploadedFile:
    """One file part of a multipart request."""

    part: str
    filename: str
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class AttachmentRecord:
    id: int
    filename: str
    size: int
    content_type: str | None
    url: str
    description: str | None = None
    data: bytes = field(default=b"", repr=False)

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        return data


@dataclass
class MessageRecord:
    """A message as the stand-in holds it; edits change this object in place."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[AttachmentRecord] = field(default_factory=list)
    allowed_mentions: JSON | None = None
    flags: int = 0
    type: int = MESSAGE_DEFAULT
    webhook_id: int | None = None
    interaction_metadata: JSON | None = None
    created_at: str = field(default_factory=iso_now)
    edited_at: str | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def edited(self) -> bool:
        return self.edit_count > 0

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)

    def find_component(self, custom_id: str) -> JSON | None:
        for component in _walk(self.components):
            if component.get("custom_id") == custom_id:
                return component
        return None

    def custom_ids(self) -> list[str]:
        return [str(c["custom_id"]) for c in _walk(self.components) if "custom_id" in c]

    def to_payload(self, *, with_guild_id: bool = False) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": self.type,
            "author": self.author.to_payload(),
            "content": self.content,
            "timestamp": self.created_at,
            "edited_timestamp": self.edited_at,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.to_payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
        }
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if with_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


def _walk(components: Sequence[Any]) -> Iterator[JSON]:
    """Every component, nested ones too (action rows, sections, containers)."""
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        yield from _walk(component.get("components") or [])
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            yield accessory


AttachmentUrl = Callable[[int, int, str], str]


class MessageStore:
    def __init__(self, ids: SnowflakeFactory, attachment_url: AttachmentUrl) -> None:
        self._ids = ids
        self._attachment_url = attachment_url
        self._messages: dict[int, MessageRecord] = {}
        self._attachments: dict[int, AttachmentRecord] = {}

    def create(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        author: User,
        body: JSON,
        files: Sequence[UploadedFile] = (),
        type: int = MESSAGE_DEFAULT,
        webhook_id: int | None = None,
        extra_flags: int = 0,
        interaction_metadata: JSON | None = None,
    ) -> MessageRecord:
        message = MessageRecord(
            id=self._ids.next(),
            channel_id=channel_id,
            guild_id=guild_id,
            author=author,
            type=type,
            webhook_id=webhook_id,
            interaction_metadata=interaction_metadata,
        )
        self._apply(message, body, files, creating=True)
        message.flags |= extra_flags
        self._messages[message.id] = message
        return message

    def edit(self, message: MessageRecord, body: JSON, files: Sequence[UploadedFile] = ()) -> None:
        self._apply(message, body, files, creating=False)
        # Any edit resolves a deferred ("thinking") response.
        message.flags &= ~FLAG_LOADING
        message.edit_count += 1
        message.edited_at = iso_now()

    def fill(self, message: MessageRecord, body: JSON, files: Sequence[UploadedFile] = ()) -> None:
        """Give a deferred ("thinking") response its content; Discord shows no edit."""
        content = {k: v for k, v in body.items() if k != "flags"}
        self._apply(message, content, files, creating=True)
        message.flags &= ~FLAG_LOADING

    def delete(self, message: MessageRecord) -> None:
        message.deleted = True

    def get(self, message_id: int) -> MessageRecord | None:
        message = self._messages.get(message_id)
        return None if message is None or message.deleted else message

    def attachment(self, attachment_id: int) -> AttachmentRecord | None:
        return self._attachments.get(attachment_id)

    def in_channel(
        self, channel_id: int, *, include_ephemeral: bool = False
    ) -> list[MessageRecord]:
        return [
            m
            for m in self._messages.values()
            if m.channel_id == channel_id
            and not m.deleted
            and (include_ephemeral or not m.ephemeral)
        ]

    def history(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[MessageRecord]:
        """One page of GET /channels/{id}/messages, newest first, as Discord pages.

        ``before``: the newest ``limit`` with smaller ids; ``after``: the oldest
        ``limit`` with greater ids; ``around``: half before, the rest from it on.
        At most one of them is used, in that order of precedence: around, before, after.
        """
        oldest_first = sorted(self.in_channel(channel_id), key=lambda m: m.id)
        if around is not None:
            older = [m for m in oldest_first if m.id < around]
            older = older[max(0, len(older) - limit // 2) :] if limit // 2 else []
            rest = [m for m in oldest_first if m.id >= around][: limit - len(older)]
            page = older + rest
        elif before is not None:
            page = [m for m in oldest_first if m.id < before][-limit:]
        elif after is not None:
            page = [m for m in oldest_first if m.id > after][:limit]
        else:
            page = oldest_first[-limit:]
        return list(reversed(page))

    def host(
        self, channel_id: int, upload: UploadedFile, description: str | None = None
    ) -> AttachmentRecord:
        """Keep an uploaded file and give it a URL the stand-in serves."""
        attachment_id = self._ids.next()
        record = AttachmentRecord(
            id=attachment_id,
            filename=upload.filename,
            size=len(upload.data),
            content_type=upload.content_type,
            url=self._attachment_url(channel_id, attachment_id, upload.filename),
            description=description,
            data=upload.data,
        )
        self._attachments[attachment_id] = record
        return record

    def _apply(
        self, message: MessageRecord, body: JSON, files: Sequence[UploadedFile], *, creating: bool
    ) -> None:
        # Only keys present in the body change; that is how Discord's PATCH works.
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = list(body["components"] or [])
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if body.get("flags") is not None:
            kept = message.flags & ~CLIENT_FLAGS
            message.flags = kept | (int(body["flags"]) & CLIENT_FLAGS)
        if "attachments" in body or files:
            message.attachments = self._attachments_for(message, body, files, creating=creating)

    def _attachments_for(
        self, message: MessageRecord, body: JSON, files: Sequence[UploadedFile], *, creating: bool
    ) -> list[AttachmentRecord]:
        by_part = {f.part: f for f in files}
        entries = body.get("attachments")
        if entries is None:
            # Files without an attachments list are simply added.
            kept = [] if creating else list(message.attachments)
            return kept + [self.host(message.channel_id, f) for f in files]
        result: list[AttachmentRecord] = []
        existing = {a.id: a for a in message.attachments}
        for entry in entries or []:
            if not isinstance(entry, dict):
                continue
            ident = entry.get("id")
            upload = by_part.get(f"files[{ident}]")
            if upload is not None:
                result.append(self.host(message.channel_id, upload, entry.get("description")))
                continue
            old = existing.get(as_snowflake(ident) or -1)
            if old is not None:
                result.append(old)
        return result
