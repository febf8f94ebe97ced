"""/about: version, uptime, gateway latency, database back end, last poll."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from i18n import t
from render.common import COLOURS, Embed, Reply, moment_text


@dataclass(frozen=True, slots=True)
class AboutFacts:
    version: str
    uptime: timedelta
    latency_ms: float | None
    database: str
    last_poll: datetime | None
    items: int
    guilds: int
    # This server's reminders by outcome (sent, passed, other), when asked in a server.
    reminders: dict[str, int] | None = None
    # This server's announcements by outcome (posted, waiting, dropped), likewise.
    announcements: dict[str, int] | None = None


def _duration(language: str, span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return t(language, "about.duration", days=days, hours=hours, minutes=minutes, seconds=seconds)


def render_about(language: str, facts: AboutFacts) -> Reply:
    latency = (
        t(language, "about.latency_value", ms=f"{facts.latency_ms:.0f}")
        if facts.latency_ms is not None
        else t(language, "about.unknown")
    )
    last_poll = moment_text(facts.last_poll) if facts.last_poll else t(language, "about.never")
    embed: Embed = {
        "title": "motionwatch",
        "description": t(language, "about.description"),
        "color": COLOURS["info"],
        "fields": [
            {"name": t(language, "about.version"), "value": facts.version, "inline": True},
            {
                "name": t(language, "about.uptime"),
                "value": _duration(language, facts.uptime),
                "inline": True,
            },
            {"name": t(language, "about.latency"), "value": latency, "inline": True},
            {"name": t(language, "about.database"), "value": facts.database, "inline": True},
            {"name": t(language, "about.last_poll"), "value": last_poll, "inline": True},
            {
                "name": t(language, "about.tracking"),
                "value": t(
                    language, "about.tracking_value", items=facts.items, guilds=facts.guilds
                ),
                "inline": True,
            },
        ],
    }
    if facts.reminders is not None:
        counts = facts.reminders
        embed["fields"].append(
            {
                "name": t(language, "about.reminders"),
                "value": t(
                    language,
                    "about.reminders_value",
                    sent=counts.get("sent", 0),
                    passed=counts.get("passed", 0),
                    other=counts.get("other", 0),
                ),
                "inline": False,
            }
        )
    if facts.announcements is not None:
        counts = facts.announcements
        embed["fields"].append(
            {
                "name": t(language, "about.announcements"),
                "value": t(
                    language,
                    "about.announcements_value",
                    posted=counts.get("posted", 0),
                    waiting=counts.get("waiting", 0),
                    dropped=counts.get("dropped", 0),
                ),
                "inline": False,
            }
        )
    return Reply(embeds=[embed])
