"""The item page in a real headless Chromium (the system's), at phone and desktop widths."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.pngcheck import ink
from tests.websupport import Site, site

__all__ = ["site"]  # the fixture, used by name

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"phone": 390, "desktop": 1280}
# Set to keep the screenshots for a look (e.g. WEB_SCREENSHOTS=/tmp/shots).
SHOTS = Path(os.environ["WEB_SCREENSHOTS"]) if os.environ.get("WEB_SCREENSHOTS") else None

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs the Debian chromium package at /usr/bin/chromium (CI installs it)",
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.mark.parametrize(
    ("query", "stage", "renewal_label"),
    [
        ("", "Termination notice withdrawn (back in force)", "Next renewal"),
        ("?lang=ko", "종료 통보 철회(정상화)", "다음 연장일"),
    ],
)
async def test_item_page_reads_and_renders_at_phone_and_desktop_width(
    site: Site,
    browser: Browser,
    query: str,
    stage: str,
    renewal_label: str,
) -> None:
    for name, width in WIDTHS.items():
        context = await browser.new_context(
            viewport={"width": width, "height": 900}, locale="en-US"
        )
        try:
            page = await context.new_page()
            response = await page.goto(f"{site.url}/items/gsomia{query}")
            assert response is not None and response.status == 200
            status = page.locator("#status")
            assert await page.locator("#status .stage").inner_text() == stage
            assert await status.is_visible()
            renewal = page.locator("#status dt", has_text=renewal_label)
            assert await renewal.is_visible(), name
            value = await renewal.locator("xpath=following-sibling::dd[1]").inner_text()
            assert value == "2027-11-23 00:00 KST (2027-11-22 15:00 UTC)", name
            assert await page.locator("ol.timeline li").count() == 18
            # The chart, drawn by the server as SVG, has loaded into the page.
            chart = page.locator("figure img")
            await chart.scroll_into_view_if_needed()
            loaded = await chart.evaluate("img => img.complete ? img.naturalWidth : 0")
            assert loaded > 0, name
            # Nothing runs on the page, and nothing is wider than the screen.
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (name, overflow)
            shot = await page.screenshot(full_page=False)
            if SHOTS:
                (SHOTS / f"gsomia{query.replace('?', '-')}-{name}.png").write_bytes(shot)
        finally:
            await context.close()
        shot_width, height, colours, share = ink(shot)
        assert (shot_width, height) == (width, 900), name
        assert colours > 10, (name, colours)
        assert share > 0.02, (name, share)
