"""A news feed on loopback for the demo: one outlet's RSS, to which the demo adds a story."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web


@dataclass
class Story:
    guid: str
    title: str
    link: str
    published: datetime


@dataclass
class DemoFeed:
    title: str
    stories: list[Story] = field(default_factory=list)
    url: str = ""

    def rss(self) -> bytes:
        items = "".join(
            f"<item><guid isPermaLink='false'>{escape(s.guid)}</guid>"
            f"<title>{escape(s.title)}</title><link>{escape(s.link)}</link>"
            f"<pubDate>{format_datetime(s.published)}</pubDate></item>"
            for s in self.stories
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape(self.title)}</title><link>{escape(self.url)}</link>"
            f"{items}</channel></rss>"
        ).encode()


@contextlib.asynccontextmanager
async def serving(feed: DemoFeed) -> AsyncIterator[DemoFeed]:
    """Serve ``feed`` at http://127.0.0.1:<free port>/feed.xml until the block ends."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=feed.rss(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Our own socket on a free port, so the address is known without aiohttp's internals.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    feed.url = f"http://127.0.0.1:{sock.getsockname()[1]}/feed.xml"
    try:
        yield feed
    finally:
        await runner.cleanup()
