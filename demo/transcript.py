"""Discord messages as a person reads them, in a terminal: timestamps resolved, embeds as text."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

_STAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
WIDTH = 78


def _relative(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    future = seconds >= 0
    span = abs(seconds)
    for size, unit in (
        (31_536_000, "year"),
        (2_592_000, "month"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
    ):
        if span >= size:
            n = max(1, round(span / size))
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        text = "a few seconds"
    return f"in {text}" if future else f"{text} ago"


def resolve(text: str, *, tz: ZoneInfo, now: datetime, names: Mapping[int, str]) -> str:
    def stamp(match: re.Match[str]) -> str:
        moment = datetime.fromtimestamp(int(match.group(1)), UTC)
        style = match.group(2) or "f"
        local = moment.astimezone(tz)
        if style == "R":
            return _relative(moment, now)
        if style in "dD":
            return local.strftime("%-d %b %Y")
        if style in "tT":
            return local.strftime("%H:%M")
        if style == "F":
            return local.strftime("%A, %-d %B %Y %H:%M %Z")
        return local.strftime("%-d %B %Y %H:%M %Z")

    text = _STAMP.sub(stamp, text)
    text = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", text)
    text = _USER.sub(lambda m: "@" + names.get(int(m.group(1)), "someone"), text)
    text = _ROLE.sub(lambda m: "@" + names.get(int(m.group(1)), "role"), text)
    text = _CHANNEL.sub(lambda m: "#" + names.get(int(m.group(1)), "channel"), text)
    return re.sub(r"(?<!\w)\*([^*\n]+)\*(?!\w)", r"\1", text.replace("**", "")).replace("`", "")


def _wrap(text: str, indent: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines() or [""]:
        out.extend(
            textwrap.wrap(
                line, WIDTH - len(indent), initial_indent=indent, subsequent_indent=indent
            )
            or [indent.rstrip()]
        )
    return out


def render_message(
    message: Mapping[str, Any], *, tz: ZoneInfo, now: datetime, names: Mapping[int, str]
) -> list[str]:
    def r(text: str) -> str:
        return resolve(text, tz=tz, now=now, names=names)

    lines: list[str] = []
    if message.get("content"):
        lines.extend(_wrap(r(str(message["content"])), "  "))
    for embed in message.get("embeds") or []:
        lines.append("  ┌─ " + r(str(embed.get("title", ""))))
        if embed.get("description"):
            lines.extend(_wrap(r(str(embed["description"])), "  │ "))
        for field in embed.get("fields") or []:
            lines.append("  │ ▸ " + r(str(field.get("name", ""))))
            lines.extend(_wrap(r(str(field.get("value", ""))), "  │     "))
        footer = (embed.get("footer") or {}).get("text")
        if footer:
            lines.append("  └─ " + r(str(footer)))
        else:
            lines.append("  └─")
    buttons = [
        f"[{c.get('label', '?')}{' (disabled)' if c.get('disabled') else ''}]"
        for row in message.get("components") or []
        for c in row.get("components", [])
        if c.get("type") == 2
    ]
    if buttons:
        lines.append("  " + " ".join(buttons))
    return lines


class _TextLines(HTMLParser):
    """A page's visible text, a line per block, as a terminal shows it."""

    BLOCKS = frozenset(
        {"p", "div", "li", "h1", "h2", "h3", "dt", "dd", "section", "header", "footer", "br", "tr"}
    )
    HIDDEN = frozenset({"style", "script", "title", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._hidden = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.lines.append(text)
        self._current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._current.append(data)


def page_text(html: str) -> list[str]:
    """The readable text of an HTML page, tags stripped, one line per block."""
    parser = _TextLines()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.lines
