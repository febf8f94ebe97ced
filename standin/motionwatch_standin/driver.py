"""`DiscordStandIn`: the one object tests, the demo mode and the benchmark use.

It owns the parts (world, stores, gateway, server) and offers the driver API:
build guilds, play users (slash commands, autocomplete, clicks, messages),
control the gateway, and read back what the bot did.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from motionwatch_standin.commands import CommandStore, SyncRecord
from motionwatch_standin.gateway import ConnectRecord, Gateway
from motionwatch_standin.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    AutocompleteChoice,
    InteractionBook,
    InteractionRecord,
)
from motionwatch_standin.journal import Journal, RequestRecord
from motionwatch_standin.messages import MessageRecord, MessageStore
from motionwatch_standin.model import DEFAULT_BOT_PERMISSIONS, Guild, World
from motionwatch_standin.nonces import DEFAULT_NONCE_WINDOW, NonceBook
from motionwatch_standin.options import Focus, OptionBuilder, OptionValue
from motionwatch_standin.payload import JSON, SnowflakeFactory, StandInUsageError
from motionwatch_standin.ratelimits import RateLimiter, RateLimits, RateLimitStats
from motionwatch_standin.rest import CoreRoutes
from motionwatch_standin.rest_interactions import InteractionRoutes
from motionwatch_standin.server import Server
from motionwatch_standin.state import Settings, State
from motionwatch_standin.validate import SpecValidator

log = logging.getLogger(__name__)

COMPONENT_BUTTON = 2
COMPONENT_STRING_SELECT = 3


class DiscordStandIn:
    """A local Discord (REST under /api/v10 and a gateway) for one bot.

    Use as ``async with DiscordStandIn() as standin:`` or call `start()` and
    `stop()`. Add guilds before the bot connects; guilds added later reach it
    as GUILD_CREATE.

    The bot may run as several processes, each with its own gateway session,
    numbered by IDENTIFY (the first is 1). A user's interaction goes to one of
    them: ``via=n`` names it; by default it is the newest live session. A session
    that IDENTIFYs with ``shard: [id, count]`` sees only its shard's guilds, and
    only gets their interactions.

    ``nonce_window``: how long (s) an ``enforce_nonce`` nonce returns the message it
    made. ``rate_limits``: True (Discord's typical limits, `RateLimits()`) or a
    `RateLimits` to answer over-limit requests with 429; off by default.
    """

    def __init__(
        self,
        spec_path: str | Path | None = None,
        *,
        token: str | None = None,
        bot_name: str = "MotionWatch",
        host: str = "127.0.0.1",
        port: int = 0,
        heartbeat_interval_ms: int = 41_250,
        response_deadline: float | None = 3.0,
        reject_invalid: bool = True,
        nonce_window: float = DEFAULT_NONCE_WINDOW,
        rate_limits: bool | RateLimits = False,
    ) -> None:
        ids = SnowflakeFactory()
        world = World(ids, bot_name)
        self.bot_token = token or _make_token(world.application_id)
        self._host, self._port = host, port
        self._validator = SpecValidator.for_path(Path(spec_path) if spec_path else None)
        journal = Journal()
        messages = MessageStore(ids, self._attachment_url)
        interactions = InteractionBook(world, journal)
        gateway = Gateway(
            world, journal, self.bot_token, lambda: self.resume_gateway_url, heartbeat_interval_ms
        )
        self._state = State(
            settings=Settings(self.bot_token, reject_invalid, response_deadline),
            world=world,
            journal=journal,
            messages=messages,
            commands=CommandStore(ids, world.application_id),
            interactions=interactions,
            gateway=gateway,
            nonces=NonceBook(nonce_window),
        )
        self._limiter = RateLimiter()
        self.set_rate_limits(rate_limits)
        self._options = OptionBuilder(world, messages)
        self._server = Server(
            journal=journal,
            validator=self._validator,
            token=self.bot_token,
            reject_invalid=reject_invalid,
            routes=CoreRoutes(self._state).routes() + InteractionRoutes(self._state).routes(),
            gateway=gateway.handle,
            limiter=self._limiter,
        )
        self._started = False
        self._resumes_at_reconnect = 0

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._port = await self._server.start(self._host, self._port)
        self._state.gateway_url = self.gateway_url
        self._started = True
        log.info("Discord stand-in on %s (%s)", self.api_base, self.spec_status)

    async def stop(self) -> None:
        if not self._started:
            return
        await self._state.gateway.close_all()
        await self._server.stop()
        self._started = False

    async def __aenter__(self) -> DiscordStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- addresses and identity ---------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def api_base(self) -> str:
        """What discord.py's `Route.BASE` must be set to."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self._host}:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self._host}:{self._port}/gateway/resume"

    @property
    def application_id(self) -> int:
        return self._state.world.application_id

    @property
    def bot_user_id(self) -> int:
        return self._state.world.bot.id

    @property
    def spec_status(self) -> str:
        """Whether bodies are checked against the OpenAPI spec, and if not, why."""
        return self._validator.status

    @property
    def spec_available(self) -> bool:
        return self._validator.available

    # -- the world ----------------------------------------------------------------

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        preferred_locale: str = "en-US",
        channels: Sequence[str] = ("general",),
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """``shard=(id, count)``: give the guild an id that shard ``id`` of ``count`` owns."""
        if shard is not None and not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
            raise StandInUsageError(f"shard {shard} is not (id, count) with 0 <= id < count")
        return self._state.world.add_guild(
            name,
            preferred_locale=preferred_locale,
            channels=channels,
            bot_permissions=bot_permissions,
            shard=shard,
        )

    def guild(self, guild_id: int) -> Guild:
        return self._state.world.guild(guild_id)

    def allow_ping_role(self, guild_id: int, role_id: int) -> None:
        """Let message bodies list this role in allowed_mentions.roles."""
        if role_id not in self.guild(guild_id).roles:
            raise StandInUsageError(f"guild {guild_id} has no role {role_id}")
        self._state.ping_roles.setdefault(guild_id, set()).add(role_id)

    # -- commands -------------------------------------------------------------------

    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """The synced commands: global ones, or those of one guild."""
        return self._state.commands.listing(guild_id)

    def sync_count(self, guild_id: int | None = None) -> int:
        """How many bulk overwrites the bot made for this scope."""
        return self._state.commands.sync_count(guild_id)

    @property
    def sync_calls(self) -> list[SyncRecord]:
        return list(self._state.commands.sync_calls)

    # -- playing a user -------------------------------------------------------------

    async def invoke(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, OptionValue] | None = None,
        *,
        subcommand: str | None = None,
        subcommand_group: str | None = None,
        locale: str = "en-US",
        via: int | None = None,
    ) -> InteractionRecord:
        """Run a slash command as `user_id` and return once INTERACTION_CREATE is written.

        ``via``: the gateway session (by IDENTIFY number) that gets it.
        """
        guild = self._require_connected(guild_id, via)
        command = self._state.commands.find(guild_id, name)
        data = self._options.command_data(
            command,
            guild,
            channel_id,
            options=options or {},
            subcommand=subcommand,
            subcommand_group=subcommand_group,
        )
        label = " ".join(p for p in (name, subcommand_group, subcommand) if p)
        interaction = self._state.interactions.create(
            type=APPLICATION_COMMAND,
            guild=guild,
            channel_id=channel_id,
            user_id=user_id,
            name=label,
            data=data,
            locale=locale,
        )
        await self._deliver(interaction, via)
        return interaction

    async def autocomplete(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        *,
        focused: str,
        value: str,
        options: Mapping[str, OptionValue] | None = None,
        subcommand: str | None = None,
        subcommand_group: str | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109
        via: int | None = None,
    ) -> list[AutocompleteChoice]:
        """Type `value` into option `focused` and return the bot's suggestions."""
        guild = self._require_connected(guild_id, via)
        command = self._state.commands.find(guild_id, name)
        data = self._options.command_data(
            command,
            guild,
            channel_id,
            options=options or {},
            subcommand=subcommand,
            subcommand_group=subcommand_group,
            focus=Focus(focused, value),
        )
        interaction = self._state.interactions.create(
            type=AUTOCOMPLETE,
            guild=guild,
            channel_id=channel_id,
            user_id=user_id,
            name=f"{name} (autocomplete {focused})",
            data=data,
            locale=locale,
        )
        await self._deliver(interaction, via)
        callback = await interaction.response(timeout)
        return callback.choices

    async def click(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        message: MessageRecord | int,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        locale: str = "en-US",
        stale: bool = False,
        via: int | None = None,
    ) -> InteractionRecord:
        """Click a button (or pick `values` in a string select) on a message.

        ``stale``: click as a client that has not seen the message change yet, or that
        sends a forged ``custom_id``: a button the message no longer (or never) has.
        """
        guild = self._require_connected(guild_id, via)
        message_id = message if isinstance(message, int) else message.id
        current = self._state.messages.get(message_id)
        if current is None:
            raise StandInUsageError(f"no message {message_id} to click on")
        component = current.find_component(custom_id)
        if component is None and stale:
            # The message as that client shows it: with the button it clicked.
            component = {"type": COMPONENT_BUTTON, "style": 1, "label": "?", "custom_id": custom_id}
            current = dataclasses.replace(
                current, components=[{"type": 1, "components": [component]}]
            )
        if component is None:
            raise StandInUsageError(
                f"message {message_id} has no component {custom_id!r};"
                f" it has: {', '.join(current.custom_ids()) or 'none'}"
            )
        if component.get("disabled"):
            raise StandInUsageError(f"component {custom_id!r} is disabled")
        kind = int(component["type"])
        data: JSON = {"custom_id": custom_id, "component_type": kind}
        if kind == COMPONENT_STRING_SELECT:
            offered = {str(o.get("value")) for o in component.get("options") or []}
            chosen = list(values or [])
            if not set(chosen) <= offered:
                raise StandInUsageError(f"{custom_id!r} offers {sorted(offered)}, not {chosen}")
            data["values"] = chosen
        elif kind != COMPONENT_BUTTON:
            raise StandInUsageError(f"clicking component type {kind} is not supported")
        interaction = self._state.interactions.create(
            type=MESSAGE_COMPONENT,
            guild=guild,
            channel_id=channel_id,
            user_id=user_id,
            name=custom_id,
            data=data,
            locale=locale,
            message=current,
        )
        await self._deliver(interaction, via)
        return interaction

    async def post_message(self, channel_id: int, user_id: int, content: str) -> MessageRecord:
        """A user writes in a channel; the bot gets MESSAGE_CREATE."""
        channel = self._state.world.find_channel(channel_id)
        if channel is None:
            raise StandInUsageError(f"no channel {channel_id}")
        guild = self.guild(channel.guild_id)
        member = guild.member(user_id)
        message = self._state.messages.create(
            channel_id=channel_id, guild_id=guild.id, author=member.user, body={"content": content}
        )
        payload = message.to_payload(with_guild_id=True)
        payload["member"] = member.to_payload(with_user=False)
        self._state.gateway.dispatch("MESSAGE_CREATE", payload)
        self._state.journal.notify()
        return message

    @property
    def interactions(self) -> list[InteractionRecord]:
        return list(self._state.interactions.all)

    def _require_connected(self, guild_id: int, via: int | None) -> Guild:
        # Before the interaction is made: a session that does not exist (or does not own
        # the guild's shard) is the caller's mistake.
        guild = self.guild(guild_id)
        self._state.gateway.chosen(via, guild_id)
        return guild

    async def _deliver(
        self,
        interaction: InteractionRecord,
        via: int | None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        def sent(at: float) -> None:
            if interaction.sent_at is None:
                interaction.sent_at = at
            self._state.journal.notify()

        # Discord hands an interaction to one session, not to every process of the bot.
        interaction.session, live = self._state.gateway.deliver_one(
            "INTERACTION_CREATE", interaction.payload, sent, via=via, guild_id=interaction.guild_id
        )
        if live:
            await self._state.journal.wait_for(
                lambda: interaction.sent_at, timeout, "INTERACTION_CREATE to be written"
            )

    # -- what the bot posted ---------------------------------------------------------

    def messages(self, channel_id: int, *, include_ephemeral: bool = False) -> list[MessageRecord]:
        """Messages in a channel, oldest first, in their current (edited) state."""
        return self._state.messages.in_channel(channel_id, include_ephemeral=include_ephemeral)

    def message(self, message_id: int) -> MessageRecord:
        message = self._state.messages.get(message_id)
        if message is None:
            raise StandInUsageError(f"no message {message_id}")
        return message

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[MessageRecord], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> MessageRecord:
        """The oldest message in the channel (existing or future) that matches."""

        def probe() -> MessageRecord | None:
            for message in self._state.messages.in_channel(channel_id, include_ephemeral=True):
                if predicate is None or predicate(message):
                    return message
            return None

        return await self._state.journal.wait_for(probe, timeout, f"a message in {channel_id}")

    # -- gateway control ------------------------------------------------------------

    def hold_posts(self, channel_id: int) -> None:
        """Create messages posted in this channel but keep the answer until ``release_posts``."""
        self._state.held[channel_id] = asyncio.Event()

    def refuse_posts(
        self,
        channel_id: int,
        status: int = 400,
        code: int = 50035,
        message: str = "Invalid Form Body",
    ) -> None:
        """Answer every message post in this channel with this error, until ``accept_posts``."""
        self._state.refused[channel_id] = (status, code, message)

    def accept_posts(self, channel_id: int) -> None:
        self._state.refused.pop(channel_id, None)

    def recommend_shards(self, count: int) -> None:
        """The shard count GET /gateway/bot recommends (1 by default), as Discord does by
        the bot's size."""
        if count < 1:
            raise StandInUsageError(f"a recommended shard count is 1 or more, not {count}")
        self._state.recommended_shards = count

    def set_nonce_window(self, seconds: float) -> None:
        """How long a repeated ``enforce_nonce`` nonce returns the earlier message."""
        self._state.nonces.window = seconds

    @property
    def nonce_window(self) -> float:
        return self._state.nonces.window

    def set_rate_limits(self, limits: bool | RateLimits) -> None:
        """Rate limits on (True: Discord's typical ones, or these) or off; fresh windows."""
        if limits is True:
            limits = RateLimits()
        self._limiter.config = limits or None

    @property
    def rate_limits(self) -> RateLimits | None:
        return self._limiter.config

    @property
    def rate_limit_stats(self) -> RateLimitStats:
        """REST requests the bot made and how many were answered 429 (global or per route)."""
        return self._limiter.stats

    def release_posts(self, channel_id: int) -> None:
        gate = self._state.held.pop(channel_id, None)
        if gate is not None:
            gate.set()

    async def wait_until_connected(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        session: int | None = None,
    ) -> int:
        """Until a session (number ``session``, else any) is live with READY + GUILD_CREATE
        queued; returns its number (with ``session`` None, the newest live one)."""
        gateway = self._state.gateway

        def probe() -> int | None:
            live = gateway.live_sessions
            if session is None:
                return live[-1] if live else None
            return session if session in live else None

        what = "the bot to IDENTIFY" if session is None else f"gateway session {session}"
        return await self._state.journal.wait_for(probe, timeout, f"{what} on the gateway")

    async def wait_for_identifies(self, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until ``count`` sessions in all have identified (several bot processes, say)."""
        await self._state.journal.wait_for(
            lambda: self._state.gateway.identify_count >= count or None,
            timeout,
            f"{count} IDENTIFYs on the gateway",
        )

    async def send_reconnect(self) -> None:
        """Op 7 RECONNECT: the bot should come back and RESUME."""
        self._resumes_at_reconnect = self._state.gateway.resume_count
        if await self._state.gateway.send_reconnect() == 0:
            raise StandInUsageError("no live gateway session to send RECONNECT to")

    async def wait_for_resume(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until a RESUME after the last `send_reconnect()` succeeded."""
        await self._state.journal.wait_for(
            lambda: self._state.gateway.resume_count > self._resumes_at_reconnect,
            timeout,
            "the bot to RESUME",
        )

    @property
    def identify_count(self) -> int:
        return self._state.gateway.identify_count

    @property
    def live_sessions(self) -> list[int]:
        """The numbers of the gateway sessions with a live connection, oldest first."""
        return self._state.gateway.live_sessions

    @property
    def resume_count(self) -> int:
        return self._state.gateway.resume_count

    @property
    def identify_payloads(self) -> list[JSON]:
        """What the bot sent in IDENTIFY (token redacted)."""
        return list(self._state.gateway.identifies)

    @property
    def heartbeat_count(self) -> int:
        return self._state.gateway.heartbeats

    @property
    def gateway_connects(self) -> list[ConnectRecord]:
        """Every websocket connection: path (/gateway or /gateway/resume) and query."""
        return list(self._state.gateway.connects)

    # -- the log ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self._state.journal.requests)

    @property
    def violations(self) -> list[str]:
        return list(self._state.journal.violations)

    def clear_violations(self) -> None:
        self._state.journal.violations.clear()

    def assert_no_violations(self) -> None:
        violations = self._state.journal.violations
        if violations:
            listing = "\n  ".join(violations)
            raise AssertionError(f"{len(violations)} Discord API violation(s):\n  {listing}")

    @property
    def validation_ms(self) -> list[float]:
        """Milliseconds each schema validation took (one entry per validated body)."""
        return list(self._server.validation_ms)

    def _attachment_url(self, channel_id: int, attachment_id: int, filename: str) -> str:
        return f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{filename}"


def _make_token(application_id: int) -> str:
    """Shaped like a real bot token: base64(id).timestamp.hmac."""
    head = base64.urlsafe_b64encode(str(application_id).encode()).decode().rstrip("=")
    return f"{head}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"
