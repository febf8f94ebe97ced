"""Painting a ChartPlan as PNG or SVG with matplotlib's Agg back end.

matplotlib is imported inside the functions: the bot starts without paying for it
(about half a second and tens of MB) until someone asks for a chart. pyplot is
never used: its global figure registry is not safe off the main thread, while a
``Figure`` with its own ``FigureCanvasAgg`` is an ordinary object.

Every text is set in NanumGothic, shipped by the ``koreanize-matplotlib`` wheel
(covers Hangul and Latin), so the picture looks the same on any machine and no
font is fetched at run time. The package itself is never imported: its
``__init__`` imports pyplot and rewrites matplotlib's global settings; we only
read the font file beside it.

Renders hold a lock: matplotlib's settings and font caches are process-wide, one
render at a time bounds CPU and memory, and the result is cached by plan, so the
same picture asked again (same data, language, format, minute) costs nothing.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import threading
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from charts.plan import ChartPlan, DateMarker

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

Format = Literal["png", "svg"]
WIDTH_PX, HEIGHT_PX, DPI = 1200, 600, 100
FONT_PACKAGE = "koreanize_matplotlib"
FONT_FILE = "fonts/NanumGothic.ttf"
CACHE_SIZE = 32
_lock = threading.Lock()

STAGE_COLOURS = {
    "negotiating": "#9ecae1",
    "initialled": "#6baed6",
    "signed": "#4292c6",
    "in_force": "#41ab5d",
    "termination_notified": "#fd8d3c",
    "notice_suspended": "#fdd0a2",
    "notice_withdrawn": "#74c476",
    "terminated": "#969696",
    "announced": "#9ecae1",
    "submitted": "#6baed6",
    "reported": "#fd8d3c",
    "passed": "#e6550d",
    "rejected": "#969696",
    "discarded": "#bdbdbd",
    "withdrawn": "#bdbdbd",
    "shelved": "#d9d9d9",
}
# matplotlib leaves out of the legend any artist whose label starts with "_".
NO_LEGEND = "_nolegend_"
RENEWAL, NOTICE, OTHER, WINDOW, TODAY = "#238b45", "#d94801", "#6a51a3", "#fdae6b", "#cb181d"


class FontMissingError(RuntimeError):
    """The Hangul font package is not installed: a broken install, not a user's error."""


@cache
def font_path() -> Path:
    """NanumGothic.ttf inside the installed koreanize-matplotlib, found without importing it."""
    spec = importlib.util.find_spec(FONT_PACKAGE)
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise FontMissingError(f"the package {FONT_PACKAGE} (koreanize-matplotlib) is missing")
    path = Path(next(iter(locations))) / FONT_FILE
    if not path.is_file():
        raise FontMissingError(f"{path} is missing")
    return path


@cache
def _font_family() -> str:
    from matplotlib import font_manager

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


@lru_cache(maxsize=CACHE_SIZE)
def render(plan: ChartPlan, fmt: Format) -> bytes:
    """The picture of ``plan``; blocking (hundreds of ms): call it off the event loop."""
    with _lock:
        return _render(plan, fmt)


def _render(plan: ChartPlan, fmt: Format) -> bytes:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # NanumGothic has no U+2212 MINUS SIGN (axes.unicode_minus). SVG text as outlines: it
    # shows the same letters without the font installed. A fixed hash salt: same plan,
    # same bytes.
    with matplotlib.rc_context(
        {
            "font.family": [_font_family()],
            "font.size": 10,
            "axes.unicode_minus": False,
            "svg.fonttype": "path",
            "svg.hashsalt": "motionwatch",
        }
    ):
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.1, 0.2, 0.86, 0.66))
        _paint(plan, axes)
        figure.suptitle(plan.title, x=0.03, y=0.97, ha="left", fontsize=15)
        figure.text(0.03, 0.905, plan.subtitle, ha="left", fontsize=10, color="#555555")
        handles, labels = axes.get_legend_handles_labels()
        figure.legend(
            handles,
            labels,
            loc="lower center",
            ncol=min(6, max(1, len(labels))),
            frameon=False,
            fontsize=9,
            bbox_to_anchor=(0.5, 0.0),
        )
        out = io.BytesIO()
        metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        figure.savefig(out, format=fmt, dpi=DPI, metadata=metadata)
    data = out.getvalue()
    log.debug("chart %r as %s: %d bytes", plan.title, fmt, len(data))
    return data


def _paint(plan: ChartPlan, axes: Axes) -> None:
    from matplotlib import dates

    tz = ZoneInfo(plan.timezone)
    stages_y, events_y, deadlines_y = 2.0, 1.0, 0.0
    seen: set[str] = set()
    for span in plan.stages:
        left = _x(span.start)
        width = max(_x(span.end) - left, 0.0)
        label = span.label if span.label not in seen else NO_LEGEND
        seen.add(span.label)
        axes.broken_barh(
            [(left, width)],
            (stages_y - 0.3, 0.6),
            facecolors=STAGE_COLOURS.get(span.stage, "#c6dbef"),
            edgecolors="white",
            linewidth=0.5,
            hatch="//" if span.derived else None,
            label=label,
        )
    staged = [e for e in plan.events if e.label is not None]
    plain = [e for e in plan.events if e.label is None]
    if plain:
        axes.plot(
            [_x(e.at) for e in plain],
            [events_y] * len(plain),
            "o",
            color="#6baed6",
            markersize=4,
            alpha=0.7,
        )
    if staged:
        axes.plot(
            [_x(e.at) for e in staged],
            [events_y] * len(staged),
            "D",
            color="#08519c",
            markersize=5,
        )
    words = dict(plan.legend_labels)
    if plan.vote_window is not None:
        w = plan.vote_window
        axes.axvspan(_x(w.start), _x(w.end), color=WINDOW, alpha=0.35, label=w.label)
    lines: tuple[tuple[tuple[DateMarker, ...], str, str, Literal["-", "--", ":"]], ...] = (
        (plan.renewals, RENEWAL, "renewal", "-"),
        (plan.notices, NOTICE, "notice_deadline", "--"),
        (plan.others, OTHER, "other", ":"),
    )
    for markers, colour, kind, style in lines:
        for i, m in enumerate(markers):
            axes.vlines(
                _x(m.at),
                deadlines_y - 0.35,
                stages_y + 0.35,
                colors=colour,
                linestyles=style,
                linewidth=1.0,
                alpha=0.5 if m.past else 1.0,
                label=words.get(kind, kind) if i == 0 else NO_LEGEND,
            )
        ahead = [m for m in markers if not m.past]
        if ahead:
            axes.plot(
                [_x(m.at) for m in ahead],
                [deadlines_y] * len(ahead),
                "v",
                color=colour,
                markersize=7,
            )
    axes.axvline(_x(plan.today), color=TODAY, linewidth=1.6, label=words["today"])
    axes.annotate(
        plan.today_label,
        (_x(plan.today), stages_y + 0.45),
        color=TODAY,
        fontsize=9,
        ha="right",
        va="bottom",
        xytext=(-4, 0),
        textcoords="offset points",
    )
    axes.set_xlim(_x(plan.start), _x(plan.end))
    axes.set_ylim(-0.7, 2.9)
    axes.set_yticks([stages_y, events_y, deadlines_y], list(plan.lane_labels))
    locator = dates.AutoDateLocator(tz=tz, maxticks=12)
    axes.xaxis.set_major_locator(locator)
    if plan.language == "ko":
        formatter = dates.ConciseDateFormatter(
            locator, tz=tz, show_offset=False, formats=KO_FORMATS, zero_formats=KO_ZERO_FORMATS
        )
    else:
        formatter = dates.ConciseDateFormatter(locator, tz=tz, show_offset=False)
    axes.xaxis.set_major_formatter(formatter)
    axes.grid(axis="x", color="#eeeeee")
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)


def _x(moment: datetime) -> float:
    """A moment as matplotlib's date number (days since its epoch)."""
    from matplotlib import dates

    return float(dates.date2num(moment))


# Month names by strftime are the C locale's English: Korean ticks use numbers.
KO_FORMATS = ["%Y년", "%m월", "%d일", "%H:%M", "%H:%M", "%S.%f"]
KO_ZERO_FORMATS = ["", "%Y년", "%m월", "%m월 %d일", "%H:%M", "%H:%M"]
