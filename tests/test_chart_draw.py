"""The painted chart: bounded PNG and self-contained SVG, Korean without a missing glyph."""

from __future__ import annotations

import dataclasses
import struct
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET

import pytest

from charts.draw import font_path, render
from charts.plan import ChartPlan
from tests.conftest import ROOT
from tests.test_chart_plan import NOW, _event, _gsomia, _motion, _plan, _views, kst


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _plans() -> list[ChartPlan]:
    reported = kst(2016, 9, 21, 14, 30)
    motion = [_event(1, kst(2016, 9, 20, 11), "submitted"), _event(2, reported, "reported")]
    return [
        _plan(_gsomia(), _views(_gsomia()), NOW, "ko"),
        _plan(_gsomia(), _views(_gsomia()), NOW, "en"),
        _plan(_motion(), motion, kst(2016, 9, 23), "ko"),
    ]


@pytest.mark.parametrize("plan", _plans(), ids=["gsomia-ko", "gsomia-en", "motion-ko"])
def test_png_and_svg_render_every_letter(plan: ChartPlan) -> None:
    render.cache_clear()
    with warnings.catch_warnings():
        # matplotlib warns "Glyph ... missing from font(s)" for a letter it cannot draw.
        warnings.simplefilter("error")
        png = render(plan, "png")
        svg = render(plan, "svg")
    assert png_size(png) == (1200, 600)
    assert 5_000 < len(png) < 1_000_000
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # Text as outlines: no <text> that would need the font where the SVG is shown.
    assert not list(root.iter("{http://www.w3.org/2000/svg}text"))
    assert len(svg) < 1_000_000


def test_a_letter_the_font_lacks_would_fail_the_test_above() -> None:
    plan = dataclasses.replace(_plans()[0], title="𝔘 (MATHEMATICAL FRAKTUR U)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="missing from font"):
            render(plan, "png")


def test_the_same_plan_is_rendered_once() -> None:
    plan = _plans()[0]
    render.cache_clear()
    first = render(plan, "png")
    assert render(plan, "png") is first
    assert render.cache_info().hits == 1 and render.cache_info().misses == 1


def test_the_font_is_the_packaged_nanum_gothic_and_its_package_is_never_imported() -> None:
    assert font_path().name == "NanumGothic.ttf" and font_path().stat().st_size > 1_000_000
    render(_plans()[0], "png")
    # Importing koreanize_matplotlib would import pyplot and rewrite global settings.
    assert "koreanize_matplotlib" not in sys.modules
    assert "matplotlib.pyplot" not in sys.modules


def test_the_bot_starts_without_importing_matplotlib() -> None:
    code = (
        "import sys, bot, cogs.timeline, services.charts, web.chart\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at start-up'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
