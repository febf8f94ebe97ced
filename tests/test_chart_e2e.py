"""/timeline view:chart via the real bot and the stand-in; the web chart routes (SPEC §3, §8)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, MessageRecord
from motionwatch_standin.interactions import InteractionRecord
from tests.conftest import E2E_NOW, ROOT, World
from tests.test_chart_draw import png_size
from web.chart import add_chart_routes

DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
RENDER_WAIT = 30.0  # the first render imports matplotlib; CI machines are shared


async def _chart_message(interaction: InteractionRecord) -> MessageRecord:
    callback = await interaction.response()
    assert callback.type == DEFERRED and not callback.ephemeral
    (message,) = await interaction.wait_followups(1, timeout=RENDER_WAIT)
    return message


def _assert_chart_png(message: MessageRecord, item: str) -> bytes:
    (attachment,) = message.attachments
    assert attachment.filename == f"{item}-chart.png"
    data = attachment.data
    assert attachment.size == len(data)
    width, height = png_size(data)
    assert 600 <= width <= 2400 and 300 <= height <= 1600
    assert 5_000 <= len(data) <= 1_000_000
    assert not message.components  # no buttons on a chart
    return data


async def test_timeline_view_chart_answers_with_a_png(world: World) -> None:
    interaction = await world.standin.invoke(
        world.guild.id,
        world.channel,
        world.member,
        "timeline",
        options={"item": "gsomia", "view": "chart"},
    )
    message = await _chart_message(interaction)
    _assert_chart_png(message, "gsomia")
    assert message.content == (
        "South Korea–Japan GSOMIA: stages, renewals and deadlines, as of 23 Nov 2026."
    )
    # Sent as Discord takes files: multipart, payload_json checked against the OpenAPI spec.
    (upload,) = [r for r in world.standin.requests if r.multipart]
    assert [(f.part, f.filename) for f in upload.files] == [("files[0]", "gsomia-chart.png")]
    assert upload.route is not None and upload.route.startswith("/webhooks/")
    assert upload.validation_ms is not None and not upload.violations
    assert upload.json["allowed_mentions"] == {"parse": []}
    # The list view is still the default, with its buttons.
    listed = await world.standin.invoke(
        world.guild.id, world.channel, world.member, "timeline", options={"item": "gsomia"}
    )
    reply = await listed.response()
    assert reply.embeds and reply.components and not reply.attachments


async def test_the_view_option_is_synced_with_korean_names(world: World) -> None:
    (command,) = [c for c in world.standin.commands() if c["name"] == "timeline"]
    (view,) = [o for o in command["options"] if o["name"] == "view"]
    assert view["name_localizations"]["ko"] == "보기"
    assert [(c["value"], c["name_localizations"]["ko"]) for c in view["choices"]] == [
        ("list", "목록"),
        ("chart", "그림"),
    ]


async def test_a_korean_guild_gets_a_korean_chart(
    standin: DiscordStandIn, database_url: str
) -> None:
    guild = standin.add_guild("한국 모임", preferred_locale="ko")
    channel = next(iter(guild.channels))
    member = guild.add_member("민아")
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=lambda: E2E_NOW
    ):
        interaction = await standin.invoke(
            guild.id, channel, member, "timeline", options={"item": "gsomia", "view": "chart"}
        )
        message = await _chart_message(interaction)
        _assert_chart_png(message, "gsomia")
        assert message.content == (
            "한일 군사정보보호협정(GSOMIA): 단계, 연장, 시한(2026년 11월 23일 기준)."
        )
        interaction = await standin.invoke(
            guild.id,
            channel,
            member,
            "timeline",
            options={"item": "han-minkoo-dismissal", "view": "chart"},
        )
        _assert_chart_png(await _chart_message(interaction), "han-minkoo-dismissal")


@asynccontextmanager
async def _web(world: World) -> AsyncIterator[str]:
    app = web.Application()
    add_chart_routes(app, services=world.bot.services)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_the_web_routes_serve_svg_and_png(world: World) -> None:
    async with _web(world) as base, aiohttp.ClientSession() as http:
        async with http.get(f"{base}/items/gsomia/chart.svg") as response:
            assert response.status == 200
            assert response.content_type == "image/svg+xml"
            assert "max-age=" in response.headers["Cache-Control"]
            svg = await response.read()
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        async with http.get(f"{base}/items/gsomia/chart.png?lang=ko") as response:
            assert response.status == 200
            assert response.content_type == "image/png"
            assert response.headers["Content-Language"] == "ko"
            width, height = png_size(await response.read())
            assert (width, height) == (1200, 600)
        async with http.get(f"{base}/items/han-minkoo-dismissal/chart.png?lang=xx") as response:
            assert response.status == 200 and response.headers["Content-Language"] == "en"
        async with http.get(f"{base}/items/nothing-here/chart.svg") as response:
            assert response.status == 404
        async with http.get(f"{base}/items/gsomia/chart.gif") as response:
            assert response.status == 404
