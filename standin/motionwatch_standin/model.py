"""The world the bot sees: users, guilds, channels, roles and members.

Payload builders here follow what discord.py reads (state.py, guild.py,
member.py, role.py, channel.py): every key it indexes with ``data[...]`` is
always present, so a real client never trips on a KeyError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from motionwatch_standin.payload import JSON, SnowflakeFactory, StandInUsageError, iso_now


class Perm:
    """Permission bits (https://discord.com/developers/docs/topics/permissions)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38
    # Every bit Discord defines today; owners and administrators get them all.
    ALL = (1 << 51) - 1


# What a new guild's @everyone role gets on Discord (the common subset).
DEFAULT_EVERYONE_PERMISSIONS = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CONNECT
    | Perm.SPEAK
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.SEND_MESSAGES_IN_THREADS
)

# The bot's managed role: what an invite link with these scopes would grant.
DEFAULT_BOT_PERMISSIONS = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.SEND_MESSAGES_IN_THREADS
)

CHANNEL_TEXT = 0


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    position: int
    type: int = CHANNEL_TEXT
    topic: str | None = None

    def to_payload(self, *, with_guild_id: bool = True) -> JSON:
        # Channels inside GUILD_CREATE are guild-relative: no guild_id there.
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "parent_id": None,
            "topic": self.topic,
            "nsfw": False,
            "permission_overwrites": [],
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }
        if with_guild_id:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class Member:
    user: User
    roles: list[int]
    joined_at: str = field(default_factory=iso_now)
    nick: str | None = None

    def to_payload(self, *, permissions: int | None = None, with_user: bool = True) -> JSON:
        data: JSON = {
            "roles": [str(role) for role in self.roles],
            "joined_at": self.joined_at,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


EmitFn = Callable[[str, JSON], object]
GuildFn = Callable[["Guild"], None]


class World:
    """Everything the stand-in knows about users and guilds."""

    def __init__(self, ids: SnowflakeFactory, bot_name: str) -> None:
        self.ids = ids
        self.bot = User(ids.next(), bot_name, bot=True)
        self.owner = User(ids.next(), "app-owner", global_name="App Owner")
        # Modern applications share their id with their bot user.
        self.application_id = self.bot.id
        self.users: dict[int, User] = {self.bot.id: self.bot, self.owner.id: self.owner}
        self.guilds: dict[int, Guild] = {}
        # Set by the gateway so that changes made after connect reach the bot.
        self.emit: EmitFn | None = None
        self.guild_added: GuildFn | None = None

    def add_guild(
        self,
        name: str,
        *,
        preferred_locale: str,
        channels: Sequence[str],
        bot_permissions: int,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        guild_id = self.ids.next() if shard is None else self.ids.next_on_shard(*shard)
        guild = Guild(self, guild_id, name, preferred_locale)
        for channel in channels:
            guild.add_channel(channel)
        role = guild.add_role(f"{self.bot.username}", bot_permissions, _bot_id=self.bot.id)
        guild.members[self.bot.id] = Member(self.bot, [role])
        self.guilds[guild.id] = guild
        # From here on, changes to the guild are news for a connected bot.
        guild.announced = True
        if self.guild_added is not None:
            self.guild_added(guild)
        return guild

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise StandInUsageError(f"no guild {guild_id}; add it with add_guild()") from None

    def find_channel(self, channel_id: int) -> Channel | None:
        for guild in self.guilds.values():
            channel = guild.channels.get(channel_id)
            if channel is not None:
                return channel
        return None

    def _emit(self, guild: Guild, event: str, data: JSON) -> None:
        if guild.announced and self.emit is not None:
            self.emit(event, data)


class Guild:
    """A guild fixture. Methods return the new object's id, as tests need ids."""

    def __init__(self, world: World, guild_id: int, name: str, preferred_locale: str) -> None:
        self._world = world
        self.id = guild_id
        self.name = name
        self.preferred_locale = preferred_locale
        self.owner_id = world.owner.id
        self.joined_at = iso_now()
        self.announced = False
        # @everyone's id is the guild's id; discord.py relies on that.
        self.roles: dict[int, Role] = {
            guild_id: Role(guild_id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS)
        }
        self.channels: dict[int, Channel] = {}
        self.members: dict[int, Member] = {}

    def __repr__(self) -> str:
        return f"<Guild id={self.id} name={self.name!r}>"

    def add_channel(self, name: str, *, topic: str | None = None) -> int:
        channel = Channel(self._world.ids.next(), self.id, name, len(self.channels), topic=topic)
        self.channels[channel.id] = channel
        self._world._emit(self, "CHANNEL_CREATE", channel.to_payload())
        return channel.id

    def delete_channel(self, channel_id: int) -> None:
        """The channel is gone: REST answers 404 Unknown Channel for it from now on."""
        channel = self.channel(channel_id)
        del self.channels[channel_id]
        self._world._emit(self, "CHANNEL_DELETE", channel.to_payload())

    def add_role(
        self,
        name: str,
        permissions: int = 0,
        *,
        mentionable: bool = False,
        _bot_id: int | None = None,
    ) -> int:
        role = Role(
            self._world.ids.next(),
            name,
            permissions,
            position=len(self.roles),
            mentionable=mentionable,
            managed=_bot_id is not None,
            bot_id=_bot_id,
        )
        self.roles[role.id] = role
        self._world._emit(
            self, "GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.to_payload()}
        )
        return role.id

    def add_member(
        self,
        name: str,
        roles: Sequence[int] = (),
        owner: bool = False,
        *,
        global_name: str | None = None,
    ) -> int:
        for role in roles:
            if role not in self.roles:
                raise StandInUsageError(f"guild {self.id} has no role {role}")
        user = User(self._world.ids.next(), name, global_name=global_name)
        self._world.users[user.id] = user
        member = Member(user, [role for role in roles if role != self.id])
        self.members[user.id] = member
        if owner:
            self.owner_id = user.id
        self._world._emit(
            self, "GUILD_MEMBER_ADD", {"guild_id": str(self.id), **member.to_payload()}
        )
        return user.id

    def channel_named(self, name: str) -> int:
        for channel in self.channels.values():
            if channel.name == name:
                return channel.id
        raise StandInUsageError(f"guild {self.id} has no channel named {name!r}")

    def member(self, user_id: int) -> Member:
        try:
            return self.members[user_id]
        except KeyError:
            raise StandInUsageError(f"user {user_id} is not a member of guild {self.id}") from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise StandInUsageError(f"guild {self.id} has no channel {channel_id}") from None

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions, as Discord computes them (no overwrites here)."""
        if user_id == self.owner_id:
            return Perm.ALL
        member = self.member(user_id)
        value = self.roles[self.id].permissions
        for role_id in member.roles:
            role = self.roles.get(role_id)
            if role is not None:
                value |= role.permissions
        if value & Perm.ADMINISTRATOR:
            return Perm.ALL
        return value

    def to_payload(self, *, members: Iterable[Member]) -> JSON:
        """The GUILD_CREATE payload: the guild with its channels, roles and members."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "joined_at": self.joined_at,
            "large": False,
            "member_count": len(self.members),
            "roles": [role.to_payload() for role in self.roles.values()],
            "channels": [c.to_payload(with_guild_id=False) for c in self.channels.values()],
            "members": [member.to_payload() for member in members],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def partial_payload(self) -> JSON:
        """The `guild` object inside an interaction."""
        return {"id": str(self.id), "locale": self.preferred_locale, "features": []}
