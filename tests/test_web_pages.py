"""The web pages (SPEC §8) over HTTP on loopback, on each back end: what a visitor reads."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from markupsafe import escape
from sqlalchemy.engine import make_url

from services.moderation import add_update
from storage.engine import writing
from storage.notify import Scope
from storage.queries.events import seed_events
from tests.conftest import E2E_NOW, drop_pg_database
from tests.websupport import Site, site
from tracker.items import SeedEvent
from tracker.model import Precision

__all__ = ["site"]  # the fixture, used by name

GUILD = 10**17 + 7
MODERATOR = 10**17 + 8
RLO = "\u202e"
SCRIPT = "<script>alert(1)</script>"
# Tags, a script, both quotes and a right-to-left override, padded to 4,000 characters.
HOSTILE = (
    f"<b>bold</b> {SCRIPT} \"double\" 'single' {RLO}reversed{RLO} <img src=x onerror=alert(2)>"
)
HOSTILE = (HOSTILE + " x" * 2000)[:4000]
# The store keeps at most this much of a summary (timeline_event.summary_en).
STORED = HOSTILE[:1000]
HOSTILE_URL = "https://example.invalid/a?\"><script>alert(3)</script>&q='x'"


async def get(site: Site, path: str, **headers: str) -> tuple[int, str]:
    async with site.client.get(path, headers=headers) as response:
        return response.status, await response.text()


async def test_index_lists_each_item_with_its_stage(site: Site) -> None:
    status, page = await get(site, "/")
    assert status == 200
    assert "South Korea–Japan GSOMIA" in page
    assert "Termination notice withdrawn (back in force)" in page
    assert "Motion to dismiss Defence Minister Han Min-koo" in page
    assert 'href="/items/gsomia?lang=en"' in page
    assert 'href="/items/han-minkoo-dismissal?lang=en"' in page
    assert '<meta name="viewport"' in page


async def test_item_page_in_english(site: Site) -> None:
    status, page = await get(site, "/items/gsomia")
    assert status == 200
    assert '<html lang="en">' in page
    assert "Termination notice withdrawn (back in force)" in page
    assert "since 21 Mar 2023" in page
    # At 23 Nov 2026 09:00 KST the renewal of that day has passed: the next is a year on.
    assert "Next renewal" in page
    assert "2027-11-23 00:00 KST (2027-11-22 15:00 UTC)" in page
    assert "by the end of 24 Aug 2027" in page
    assert "At least 2 on the record, of 10 anniversaries passed in force" in page
    assert "in Seoul&#39;s view the annual renewal did not apply then" in page
    # The whole timeline, with its sources, and no Discord markup.
    assert page.count("<li>") == 18
    assert 'href="http://english.kyodonews.jp/news/2016/11/445547.html"' in page
    assert ">Kyodo<" in page
    assert "<t:" not in page
    # The chart the page shows is the item's, drawn as SVG in the page's language.
    assert '<img src="/items/gsomia/chart.svg?lang=en"' in page
    async with site.client.get("/items/gsomia/chart.svg?lang=en") as response:
        svg = await response.read()
    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"


async def test_item_page_in_korean_by_query_and_by_browser_language(site: Site) -> None:
    by_query = await get(site, "/items/gsomia?lang=ko", **{"Accept-Language": "en-US,en"})
    by_header = await get(site, "/items/gsomia", **{"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    for status, page in (by_query, by_header):
        assert status == 200
        assert '<html lang="ko">' in page
        assert "종료 통보 철회(정상화)" in page
        assert "다음 연장일" in page
        assert "2027-11-23 00:00 KST" in page
    # English first in the browser's list wins over Korean further down; ?lang=en over both.
    _, page = await get(site, "/items/gsomia", **{"Accept-Language": "en;q=0.9, ko;q=0.5"})
    assert '<html lang="en">' in page
    _, page = await get(site, "/items/gsomia?lang=en", **{"Accept-Language": "ko"})
    assert '<html lang="en">' in page


async def test_a_shared_change_shows_on_the_next_request(site: Site) -> None:
    _, before = await get(site, "/items/gsomia")
    assert "A new shared event" not in before
    item_id = site.services.item_ids["gsomia"]
    seed = SeedEvent(
        key="late",
        occurred_at=E2E_NOW.replace(year=2025),
        precision=Precision.DATE,
        summary_en="A new shared event",
        summary_ko="새 공유 사건",
        source_name="Wire",
        source_url="https://wire.invalid/late",
    )
    async with writing(site.services.sessions) as session:
        await seed_events(session, item_id=item_id, item_key="gsomia", seeds=[seed])
        await site.services.changed(session, Scope.item(item_id))
        await session.commit()
    _, after = await get(site, "/items/gsomia")
    assert "A new shared event" in after
    assert after.count("<li>") == before.count("<li>") + 1
    _, korean = await get(site, "/items/gsomia?lang=ko")
    assert "새 공유 사건" in korean


async def test_unknown_item_is_a_404_page_with_the_key_escaped(site: Site) -> None:
    status, page = await get(site, "/items/%3Cscript%3Ealert(1)%3C%2Fscript%3E?lang=en")
    assert status == 404
    assert "Not found" in page
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    status, page = await get(site, "/items/nothing-here?lang=ko")
    assert status == 404
    assert "찾을 수 없음" in page


async def test_healthz_is_200_with_the_database_and_503_once_it_is_gone(site: Site) -> None:
    async with site.client.get("/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["database"] == "reachable"
    assert body["last_poll"] is None  # nothing polled yet in this store
    assert "last_poll_age_seconds" in body

    await site.services.engine.dispose()
    url = make_url(site.database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        _replace_with_directory(Path(url.database))
    else:
        await drop_pg_database(site.database_url)
    async with site.client.get("/healthz") as response:
        assert response.status == 503
        body = await response.json()
    assert body["database"] == "unreachable"
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        shutil.rmtree(url.database)


def _replace_with_directory(path: Path) -> None:
    # The file is gone, and a directory stands where it was: nothing can open it.
    path.unlink()
    path.mkdir()


async def test_healthz_gives_the_last_polls_age(site: Site) -> None:
    from storage.models import NewsSource

    async with writing(site.services.sessions) as session:
        session.add(
            NewsSource(
                url="https://feeds.invalid/a",
                name="A",
                last_polled_at=E2E_NOW.replace(hour=8, minute=30),
            )
        )
        await session.commit()
    async with site.client.get("/healthz") as response:
        body = await response.json()
    assert response.status == 200
    assert body["last_poll_age_seconds"] == 30 * 60
    assert body["last_poll"].startswith("2026-11-22T23:30:00")


async def test_hostile_text_is_escaped_and_a_guilds_own_events_stay_off_the_pages(
    site: Site,
) -> None:
    services = site.services
    item_id = services.item_ids["gsomia"]
    seeds = [
        SeedEvent(
            key="hostile",
            occurred_at=E2E_NOW.replace(year=2024),
            precision=Precision.DATETIME,
            summary_en=STORED,
            summary_ko=STORED,
            source_name=HOSTILE[:200],
            source_url=HOSTILE_URL,
        ),
        SeedEvent(
            key="hostile-scheme",
            occurred_at=E2E_NOW.replace(year=2025),
            precision=Precision.DATE,
            summary_en="a link that is a script",
            summary_ko="스크립트 링크",
            source_name="Scheme",
            source_url="javascript:alert(4)",
        ),
    ]
    # The shared history's write path: seed events (guild_id NULL), as every start loads them.
    async with writing(services.sessions) as session:
        assert await seed_events(session, item_id=item_id, item_key="gsomia", seeds=seeds) == 2
        await services.changed(session, Scope.item(item_id))
        await session.commit()
    # A guild's own event, through the moderators' /update add path.
    await add_update(
        services,
        guild_id=GUILD,
        actor_id=MODERATOR,
        item=services.tracker.items[0],
        summary=f"GUILD-ONLY-MARKER {SCRIPT}",
        stage="termination_notified",
        when=None,
        source_url="https://guild.invalid/only",
        source_name="Guild Only Outlet",
        now=E2E_NOW,
    )

    for path in ("/items/gsomia?lang=en", "/items/gsomia?lang=ko", "/?lang=en"):
        status, page = await get(site, path)
        assert status == 200, path
        assert SCRIPT not in page, path
        assert "<img src=x" not in page, path
        assert "<b>bold</b>" not in page, path
        assert "GUILD-ONLY-MARKER" not in page, path
        assert "Guild Only Outlet" not in page, path
        assert "guild.invalid" not in page, path
    _, page = await get(site, "/items/gsomia?lang=en")
    # The guild's termination notice moves only its own status, not the shared one.
    assert '<div class="stage">Termination notice withdrawn (back in force)</div>' in page
    escaped = str(escape(STORED))
    assert escaped in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;double&#34; &#39;single&#39;" in page
    # The right-to-left override stays inside an isolate, so it cannot flip what follows.
    start = page.index(escaped[:40])
    assert page.rfind("<bdi>", 0, start) > page.rfind("</bdi>", 0, start)
    # The hostile address is a link, quoted; the javascript: one is no link at all.
    assert 'href="https://example.invalid/a?&#34;&gt;&lt;script&gt;' in page
    assert "javascript:" not in page
    assert "Scheme" in page
    # All 4,000 characters as the browser's language: read as no language we have.
    status, page = await get(site, "/items/gsomia", **{"Accept-Language": HOSTILE})
    assert status == 200
    assert '<html lang="en">' in page
    # And as an unknown item's key: a 404 that shows the key escaped and cut short.
    status, page = await get(site, "/items/" + quote(STORED, safe=""))
    assert status == 404
    assert SCRIPT not in page
    assert str(escape(STORED[:99])) in page
    assert str(escape(STORED[:101])) not in page
