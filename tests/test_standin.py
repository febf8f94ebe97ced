"""End-to-end tests of the Discord stand-in with a real, unmodified discord.py bot.

The bot here is tiny and defined in this file on purpose: these tests are
about the stand-in speaking Discord well enough, not about the project's bot.
discord.py is pointed at the stand-in by two class attributes: `Route.BASE`
(REST) and `DiscordWebSocket.DEFAULT_GATEWAY` (a plain `Client` never asks
GET /gateway/bot; only `AutoShardedClient` does).
"""

from __future__ import annotations

import asyncio
import io
import json
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route, handle_message_parameters

from motionwatch_standin import (
    SPEC_ENV,
    DiscordStandIn,
    MessageRecord,
    Perm,
    StandInUsageError,
)

ITEMS = ["gsomia", "dismissal-motion", "gsomia-renewal"]


# -- the bot under test ----------------------------------------------------------


class Counter(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.count = 0

    @discord.ui.button(label="+1", custom_id="counter:inc", style=discord.ButtonStyle.primary)
    async def increment(
        self, interaction: discord.Interaction, button: discord.ui.Button[Counter]
    ) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"count: {self.count}", view=self)

    @discord.ui.button(label="reset", custom_id="counter:reset")
    async def reset(
        self, interaction: discord.Interaction, button: discord.ui.Button[Counter]
    ) -> None:
        # Acknowledge first (DEFERRED_UPDATE_MESSAGE), edit the message afterwards.
        await interaction.response.defer()
        self.count = 0
        await interaction.edit_original_response(content="count: 0", view=self)


class StandInBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            # on_ready waits this long after the last GUILD_CREATE (2 s by default).
            guild_ready_timeout=0.05,
        )
        self.guild_id = guild_id

    async def setup_hook(self) -> None:
        item = app_commands.Group(name="item", description="Tracked items")

        @item.command(name="show", description="Show one item")
        @app_commands.describe(name="Which item", count="How many times")
        async def show(
            interaction: discord.Interaction,
            name: str,
            count: app_commands.Range[int, 1, 10] = 1,
            loud: bool = False,
        ) -> None:
            assert interaction.guild is not None
            assert isinstance(interaction.user, discord.Member)
            embed = discord.Embed(title=f"{name} ×{count}", description=interaction.guild.name)
            embed.add_field(
                name="manager", value=str(interaction.user.guild_permissions.manage_guild)
            )
            embed.add_field(name="channel", value=getattr(interaction.channel, "name", "?"))
            embed.add_field(name="loud", value=str(loud))
            embed.set_footer(text=f"asked by {interaction.user.name}")
            sent = await interaction.response.send_message(embed=embed)
            await interaction.followup.send(f"sent message {sent.message_id}", ephemeral=True)

        @show.autocomplete("name")
        async def show_names(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=n, value=n) for n in ITEMS if current in n]

        self.tree.add_command(item)

        @self.tree.command(name="slow", description="Answer after deferring")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("working…")
            await interaction.followup.send("second note")
            await interaction.edit_original_response(content="done")
            fetched = await interaction.original_response()
            await interaction.followup.send(f"fetched: {fetched.content}")

        @self.tree.command(name="counter", description="A counter with a button")
        async def counter(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("count: 0", view=Counter())

        @self.tree.command(name="ping", description="Answer pong")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)

        await self.tree.sync()

        guild = discord.Object(self.guild_id)

        @self.tree.command(name="setup", description="Guild-only setup", guild=guild)
        async def setup(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("set up")

        await self.tree.sync(guild=guild)


# -- fixtures ----------------------------------------------------------------------


@dataclass
class World:
    guild_id: int
    channel_id: int
    manager_role: int
    manager_id: int
    member_id: int


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as server:
        yield server


@pytest.fixture
def world(standin: DiscordStandIn) -> World:
    guild = standin.add_guild("Assembly watchers")
    manager_role = guild.add_role("managers", Perm.MANAGE_GUILD)
    return World(
        guild_id=guild.id,
        channel_id=guild.channel_named("general"),
        manager_role=manager_role,
        manager_id=guild.add_member("alice", roles=[manager_role]),
        member_id=guild.add_member("bob"),
    )


@pytest.fixture
def pointed_at_standin(standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py's REST base and gateway URL, redirected for this test only."""
    monkeypatch.setattr(Route, "BASE", standin.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(standin.gateway_url))


ClientT = TypeVar("ClientT", bound=discord.Client)


@asynccontextmanager
async def connected_bot(standin: DiscordStandIn, world: World) -> AsyncIterator[StandInBot]:
    async with connected(standin, StandInBot(world.guild_id)) as client:
        yield client


@asynccontextmanager
async def connected(standin: DiscordStandIn, client: ClientT) -> AsyncIterator[ClientT]:
    """``client`` logged in to the stand-in and ready, until the block ends."""
    try:
        await client.login(standin.bot_token)  # REST: /users/@me, application, setup_hook's syncs
    except BaseException:
        await client.close()
        raise
    runner = asyncio.create_task(client.connect())
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({runner, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await client.close()
        raise AssertionError(
            f"bot did not become ready: {runner.exception() if done else 'timeout'}"
        )
    try:
        yield client
    finally:
        await client.close()
        await runner


@pytest.fixture
async def bot(
    standin: DiscordStandIn, world: World, pointed_at_standin: None
) -> AsyncIterator[StandInBot]:
    async with connected_bot(standin, world) as client:
        yield client


# -- login, connect, sync ------------------------------------------------------------


async def test_spec_status_is_visible(standin: DiscordStandIn) -> None:
    print(f"stand-in: {standin.spec_status}")
    assert standin.spec_status


async def test_login_connect_and_sync(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    assert standin.identify_count == 1
    identify = standin.identify_payloads[0]
    assert identify["intents"] == discord.Intents.default().value
    assert identify["token"] == "<redacted>"
    paths = [(r.method, r.path) for r in standin.requests]
    assert ("GET", "/users/@me") in paths
    assert ("GET", "/oauth2/applications/@me") in paths
    assert ("GET", "/gateway") in paths  # the websocket, from DEFAULT_GATEWAY

    assert sorted(c["name"] for c in standin.commands()) == ["counter", "item", "ping", "slow"]
    assert [c["name"] for c in standin.commands(world.guild_id)] == ["setup"]
    assert standin.sync_count() == 1
    assert standin.sync_count(world.guild_id) == 1

    # What GUILD_CREATE gave the bot's cache.
    guild = bot.get_guild(world.guild_id)
    assert guild is not None
    assert guild.name == "Assembly watchers"
    assert guild.get_channel(world.channel_id) is not None
    assert guild.default_role.id == guild.id
    manager = guild.get_role(world.manager_role)
    assert manager is not None and manager.permissions.manage_guild
    assert guild.me is not None and guild.me.guild_permissions.send_messages
    assert guild.member_count == 3  # the bot, alice and bob
    standin.assert_no_violations()


async def test_sync_is_recorded_as_unchanged_when_nothing_changed(
    standin: DiscordStandIn, bot: StandInBot
) -> None:
    ids = {c["name"]: c["id"] for c in standin.commands()}
    await bot.tree.sync()
    assert standin.sync_count() == 2
    assert standin.sync_calls[-1].changed is False
    assert {c["name"]: c["id"] for c in standin.commands()} == ids
    standin.assert_no_violations()


async def test_wrong_token_fails_login(standin: DiscordStandIn, pointed_at_standin: None) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


# -- slash commands, autocomplete, components ------------------------------------------


async def test_subcommand_with_options_answers_with_an_embed(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    interaction = await standin.invoke(
        world.guild_id,
        world.channel_id,
        world.manager_id,
        "item",
        {"name": "gsomia", "count": "3", "loud": True},
        subcommand="show",
    )
    response = await interaction.response()

    assert response.type == 4
    assert not response.ephemeral
    (embed,) = response.embeds
    assert embed["title"] == "gsomia ×3"
    assert embed["description"] == "Assembly watchers"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields == {"manager": "True", "channel": "general", "loud": "True"}
    assert embed["footer"]["text"] == "asked by alice"
    # discord.py read the message id from the callback's answer.
    assert response.message is not None
    (note,) = await interaction.wait_followups(1)
    assert note.content == f"sent message {response.message.id}" and note.ephemeral
    assert interaction.original is response.message
    assert standin.messages(world.channel_id)[-1].id == response.message.id
    assert interaction.sent_at is not None and interaction.responded_at is not None
    assert interaction.latency is not None and interaction.latency > 0
    standin.assert_no_violations()


async def test_member_without_the_permission_is_seen_as_such(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    interaction = await standin.invoke(
        world.guild_id, world.channel_id, world.member_id, "item", {"name": "x"}, subcommand="show"
    )
    fields = {f["name"]: f["value"] for f in (await interaction.response()).embeds[0]["fields"]}
    assert fields["manager"] == "False"


async def test_deferred_reply_followups_and_edit_of_the_original(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    interaction = await standin.invoke(world.guild_id, world.channel_id, world.member_id, "slow")

    response = await interaction.response()
    assert response.type == 5
    first, second, third = await interaction.wait_followups(3)
    # The first followup after a deferral fills the "thinking" message itself.
    assert first is interaction.original
    assert second.content == "second note"
    edited = await interaction.wait_edit()
    assert edited is first and edited.content == "done"
    assert not edited.loading
    # GET .../messages/@original gave the bot the edited message.
    assert third.content == "fetched: done"
    standin.assert_no_violations()


async def test_autocomplete_returns_the_bots_choices(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    choices = await standin.autocomplete(
        world.guild_id,
        world.channel_id,
        world.member_id,
        "item",
        subcommand="show",
        focused="name",
        value="gsomia",
    )
    assert [c.value for c in choices] == ["gsomia", "gsomia-renewal"]
    standin.assert_no_violations()


async def test_button_click_updates_the_message(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    command = await standin.invoke(world.guild_id, world.channel_id, world.member_id, "counter")
    message = (await command.response()).message
    assert message is not None and message.custom_ids() == ["counter:inc", "counter:reset"]

    for expected in ("count: 1", "count: 2"):
        click = await standin.click(
            world.guild_id, world.channel_id, world.member_id, message, "counter:inc"
        )
        update = await click.response()
        assert update.type == 7
        assert update.content == expected

    stored: MessageRecord = standin.message(message.id)
    assert stored.content == "count: 2"
    assert stored.edit_count == 2
    assert stored.custom_ids() == ["counter:inc", "counter:reset"]

    reset = await standin.click(
        world.guild_id, world.channel_id, world.member_id, stored, "counter:reset"
    )
    assert (await reset.response()).type == 6
    assert (await reset.wait_edit()).content == "count: 0"
    assert reset.original is stored and stored.edit_count == 3
    standin.assert_no_violations()


async def test_guild_command_and_ephemeral_reply(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    setup = await standin.invoke(world.guild_id, world.channel_id, world.manager_id, "setup")
    assert (await setup.response()).content == "set up"
    assert setup.payload["data"]["guild_id"] == str(world.guild_id)

    ping = await standin.invoke(world.guild_id, world.channel_id, world.member_id, "ping")
    reply = await ping.response()
    assert reply.ephemeral and reply.content == "pong"
    assert reply.message is not None
    assert reply.message not in standin.messages(world.channel_id)
    assert reply.message in standin.messages(world.channel_id, include_ephemeral=True)
    standin.assert_no_violations()


async def test_invalid_invocations_fail_loudly(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    g, c, u = world.guild_id, world.channel_id, world.member_id
    with pytest.raises(StandInUsageError, match="not synced a command 'nope'"):
        await standin.invoke(g, c, u, "nope")
    with pytest.raises(StandInUsageError, match="needs a subcommand"):
        await standin.invoke(g, c, u, "item")
    with pytest.raises(StandInUsageError, match="no option colour"):
        await standin.invoke(g, c, u, "item", {"name": "x", "colour": 1}, subcommand="show")
    with pytest.raises(StandInUsageError, match="outside"):
        await standin.invoke(g, c, u, "item", {"name": "x", "count": 11}, subcommand="show")
    with pytest.raises(StandInUsageError, match="needs option 'name'"):
        await standin.invoke(g, c, u, "item", subcommand="show")


# -- channel messages ----------------------------------------------------------------


async def test_channel_message_with_a_file(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    channel = bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(
        "weekly report", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "r.csv")
    )

    stored = await standin.wait_for_message(world.channel_id, lambda m: bool(m.attachments))
    assert stored.id == sent.id
    assert stored.content == "weekly report"
    (attachment,) = stored.attachments
    assert (attachment.filename, attachment.size) == ("r.csv", 8)
    upload = next(r for r in standin.requests if r.multipart)
    assert [(f.part, f.filename, f.size) for f in upload.files] == [("files[0]", "r.csv", 8)]
    assert upload.json["allowed_mentions"] == {"parse": []}
    # The attachment URL is served by the stand-in's CDN.
    assert await sent.attachments[0].read() == b"a,b\n1,2\n"

    edited = await sent.edit(content="weekly report (fixed)")
    assert edited.content == standin.message(sent.id).content == "weekly report (fixed)"
    standin.assert_no_violations()


# -- the gateway ---------------------------------------------------------------------


async def test_reconnect_then_resume_replays_missed_events(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)
    await standin.send_reconnect()
    # Sent while the bot reconnects: must arrive through the RESUME replay.
    missed = await standin.invoke(world.guild_id, world.channel_id, world.member_id, "ping")
    await standin.wait_for_resume()
    await asyncio.wait_for(resumed.wait(), 5)

    assert (await missed.response()).content == "pong"
    after = await standin.invoke(world.guild_id, world.channel_id, world.member_id, "ping")
    assert (await after.response()).content == "pong"
    assert (standin.identify_count, standin.resume_count) == (1, 1)
    first, again = standin.gateway_connects
    assert (first.path, again.path) == ("/gateway", "/gateway/resume")  # resume_gateway_url
    assert again.query["compress"] == "zlib-stream"
    standin.assert_no_violations()


async def test_several_sessions_live_at_once_and_each_interaction_reaches_one(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    seen: dict[str, list[int]] = {"first": [], "second": []}

    def recorder(name: str) -> Callable[[discord.Interaction], Coroutine[Any, Any, None]]:
        async def on_interaction(interaction: discord.Interaction) -> None:
            seen[name].append(interaction.id)

        return on_interaction

    bot.add_listener(recorder("first"), "on_interaction")

    async def ping(via: int | None = None) -> int:
        interaction = await standin.invoke(
            world.guild_id, world.channel_id, world.member_id, "ping", via=via
        )
        assert (await interaction.response()).content == "pong"
        assert interaction.session is not None
        return interaction.session

    async with connected_bot(standin, world) as other:
        other.add_listener(recorder("second"), "on_interaction")
        # A second IDENTIFY with the same token leaves the first session connected.
        assert await standin.wait_until_connected(session=2) == 2
        assert standin.live_sessions == [1, 2]
        assert await ping() == 2  # the newest live session, by default
        assert await ping(via=1) == 1
        assert len(seen["first"]) == len(seen["second"]) == 1

        await standin.send_reconnect()
        await standin.wait_for_resume()
        await standin.wait_until_connected(session=1)
        await standin.wait_until_connected(session=2)
        # Each came back as the session it was.
        assert await ping(via=1) == 1
        assert await ping(via=2) == 2
        assert (standin.identify_count, len(seen["first"]), len(seen["second"])) == (2, 2, 2)
        with pytest.raises(StandInUsageError, match="no gateway session 3"):
            await ping(via=3)

    # The second bot is gone: its session stays (resumable) but has no connection.
    assert standin.live_sessions == [1]
    assert await ping() == 1
    standin.assert_no_violations()


async def test_guild_added_after_connect_reaches_the_bot(
    standin: DiscordStandIn, bot: StandInBot
) -> None:
    # The task registers its listener long before GUILD_CREATE crosses the socket.
    joined = asyncio.create_task(bot.wait_for("guild_join", timeout=5))
    guild = standin.add_guild("Late guild")
    assert (await joined).id == guild.id
    assert bot.get_guild(guild.id) is not None


async def test_plain_json_gateway_without_compression(standin: DiscordStandIn) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{standin.gateway_url}?v=10&encoding=json") as ws,
    ):
        hello = await ws.receive_json(timeout=5)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await ws.send_json({"op": 1, "d": None})
        assert (await ws.receive_json(timeout=5))["op"] == 11
        await ws.send_json(
            {"op": 2, "d": {"token": standin.bot_token, "intents": 1, "properties": {}}}
        )
        ready = await ws.receive_json(timeout=5)
        assert ready["t"] == "READY" and ready["s"] == 1
        assert {"v", "user", "guilds", "session_id", "resume_gateway_url", "application"} <= set(
            ready["d"]
        )


async def test_zlib_stream_frames_end_with_sync_flush(standin: DiscordStandIn) -> None:
    standin.add_guild("Zipped")
    inflate = zlib.decompressobj()
    url = f"{standin.gateway_url}?v=10&encoding=json&compress=zlib-stream"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        frame = await ws.receive_bytes(timeout=5)
        assert frame.endswith(b"\x00\x00\xff\xff")
        assert json.loads(inflate.decompress(frame))["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": standin.bot_token, "intents": 1}})
        events = [json.loads(inflate.decompress(await ws.receive_bytes(timeout=5))) for _ in "12"]
        assert [e["t"] for e in events] == ["READY", "GUILD_CREATE"]
        assert events[1]["d"]["roles"][0]["id"] == events[1]["d"]["id"]  # @everyone


async def test_resume_of_an_unknown_session_is_refused(standin: DiscordStandIn) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{standin.resume_gateway_url}?v=10&encoding=json") as ws,
    ):
        await ws.receive_json(timeout=5)
        resume = {"token": standin.bot_token, "session_id": "gone", "seq": 3}
        await ws.send_json({"op": 6, "d": resume})
        assert await ws.receive_json(timeout=5) == {"op": 9, "d": False}
    assert standin.resume_count == 0


async def test_wrong_gateway_token_closes_with_4004(standin: DiscordStandIn) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{standin.gateway_url}?v=10&encoding=json") as ws,
    ):
        await ws.receive_json(timeout=5)
        await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1}})
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4004


# -- validation ----------------------------------------------------------------------


async def test_rule_breaking_bodies_are_violations(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    quiet = discord.AllowedMentions.none()
    with (
        handle_message_parameters(content="x" * 2001, allowed_mentions=quiet) as params,
        pytest.raises(discord.HTTPException) as too_long,
    ):
        await bot.http.send_message(world.channel_id, params=params)
    assert too_long.value.status == 400
    with handle_message_parameters(content="no mention settings") as params:
        await bot.http.send_message(world.channel_id, params=params)
    loud = discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(world.manager_role)], replied_user=False
    )
    with handle_message_parameters(content="<@&role>", allowed_mentions=loud) as params:
        await bot.http.send_message(world.channel_id, params=params)
    standin.allow_ping_role(world.guild_id, world.manager_role)
    with handle_message_parameters(content="<@&role>", allowed_mentions=loud) as params:
        await bot.http.send_message(world.channel_id, params=params)
    with pytest.raises(discord.NotFound):
        await bot.http.request(Route("GET", "/guilds/{guild_id}/audit-logs", guild_id=1))

    violations = standin.violations
    assert len(violations) == 4, violations
    assert violations[0].endswith("content: 2001 characters (max 2000)")
    assert "allowed_mentions: missing" in violations[1]
    assert f"role {world.manager_role} is not allowed to be pinged" in violations[2]
    assert violations[3] == "GET /guilds/1/audit-logs: unimplemented route"
    with pytest.raises(AssertionError, match="4 Discord API violation"):
        standin.assert_no_violations()


async def test_bad_command_definitions_are_rejected(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    payload = [{"name": "Status", "description": "", "type": 1}]
    with pytest.raises(discord.HTTPException) as rejected:
        await bot.http.bulk_upsert_guild_commands(standin.application_id, world.guild_id, payload)
    assert rejected.value.code == 50035
    rules = "\n".join(standin.violations)
    assert "'Status' must be lower case" in rules
    assert "description: 0 characters (must be 1-100)" in rules
    assert standin.sync_count(world.guild_id) == 1  # the rejected call changed nothing


async def test_schema_catches_what_the_rules_do_not(
    standin: DiscordStandIn, world: World, bot: StandInBot
) -> None:
    if not standin.spec_available:
        pytest.skip(standin.spec_status)
    row = {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "x" * 101}]}
    body = {"content": "hi", "components": [row], "allowed_mentions": {"parse": []}}
    with pytest.raises(discord.HTTPException):
        await bot.http.request(
            Route("POST", "/channels/{channel_id}/messages", channel_id=world.channel_id), json=body
        )
    (violation,) = standin.violations
    assert "schema create_message" in violation
    assert "components[0].components[0].custom_id" in violation
    timings = standin.validation_ms
    print(f"schema validation: {len(timings)} bodies, max {max(timings):.2f} ms")


async def test_without_the_spec_rules_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPEC_ENV, "/nonexistent/openapi.json")
    async with DiscordStandIn() as standin:
        assert not standin.spec_available
        assert "skipped" in standin.spec_status
        assert "/nonexistent/openapi.json" in standin.spec_status
        channel_id = standin.add_guild().channel_named("general")
        headers = {"Authorization": f"Bot {standin.bot_token}"}
        body = {"content": "x" * 2001, "allowed_mentions": {"parse": []}}
        url = f"{standin.api_base}/channels/{channel_id}/messages"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=body, headers=headers) as r,
        ):
            assert r.status == 400
            assert r.headers["Content-Type"] == "application/json"
            assert (await r.json())["code"] == 50035
        assert standin.violations == [
            f"POST /channels/{channel_id}/messages: content: 2001 characters (max 2000)"
        ]
