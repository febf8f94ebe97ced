"""Moderation and guild setup end to end (SPEC §1, §3, §7): /update, /deadline, /setup,
the permission rule, validation that stores nothing, the audit log, announcements, mentions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import CallbackRecord, DiscordStandIn, Guild, Perm
from storage.models import (
    AuditLog,
    CustomDeadline,
    EventRevision,
    GuildSettings,
    TimelineEvent,
)
from tests.conftest import E2E_NOW, ROOT

KST = ZoneInfo("Asia/Seoul")
FORBIDDEN_MOD = (
    "Only moderators (Manage Server, or the server's moderator role) can do this; "
    "nothing was changed."
)
FORBIDDEN_ADMIN = "Only administrators (Manage Server) can do this; nothing was changed."


@dataclass
class Server:
    standin: DiscordStandIn
    guild: Guild
    general: int
    updates: int
    member: int
    moderator: int
    admin: int
    moderator_role: int
    ping_role: int
    bot: Any

    async def ask(
        self, user: int, name: str, sub: str | None = None, **options: str | int
    ) -> CallbackRecord:
        interaction = await self.standin.invoke(
            self.guild.id, self.general, user, name, options=options or None, subcommand=sub
        )
        return await interaction.response()

    async def store(self) -> dict[str, object]:
        """What the database holds that a command could change."""
        async with self.bot.services.sessions() as session:
            counts = {
                model.__name__: (await session.exec(select(func.count()).select_from(model))).one()
                for model in (TimelineEvent, EventRevision, AuditLog, CustomDeadline)
            }
            events = (await session.exec(select(TimelineEvent))).all()
            settings = await session.get(GuildSettings, self.guild.id)
        counts["events"] = sorted(
            (e.id, e.summary_en, e.stage, e.occurred_at, e.revision, e.deleted_at) for e in events
        )
        counts["settings"] = settings.model_dump() if settings else None
        return counts


@pytest.fixture
async def server(standin: DiscordStandIn, database_url: str) -> AsyncIterator[Server]:
    guild = standin.add_guild("Korea Watchers")
    general = guild.channel_named("general")
    updates = guild.add_channel("updates")
    moderator_role = guild.add_role("Moderators")
    ping_role = guild.add_role("Watchers", mentionable=True)
    admin_role = guild.add_role("Admins", Perm.MANAGE_GUILD)
    member = guild.add_member("Mina")
    moderator = guild.add_member("Jun", roles=[moderator_role])
    admin = guild.add_member("Seo", roles=[admin_role])
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=lambda: E2E_NOW
    ) as bot:
        srv = Server(
            standin,
            guild,
            general,
            updates,
            member,
            moderator,
            admin,
            moderator_role,
            ping_role,
            bot,
        )
        reply = await srv.ask(admin, "setup", "role", purpose="moderator", role=moderator_role)
        assert reply.content == f"Members with <@&{moderator_role}> can now moderate."
        reply = await srv.ask(admin, "setup", "channel", purpose="updates", channel=updates)
        assert reply.content == f"Updates will be announced in <#{updates}>."
        yield srv


# -- /setup ---------------------------------------------------------------------------------


async def test_setup_every_option_and_show(server: Server) -> None:
    s = server
    news = s.guild.add_channel("news")
    reminders = s.guild.add_channel("reminders")
    for purpose, channel, text in [
        ("news", news, f"News will be posted in <#{news}>."),
        ("reminders", reminders, f"Reminders will be posted in <#{reminders}>."),
        ("updates", s.updates, f"Updates will be announced in <#{s.updates}>."),
    ]:
        reply = await s.ask(s.admin, "setup", "channel", purpose=purpose, channel=channel)
        assert reply.ephemeral and reply.content == text
    reply = await s.ask(s.admin, "setup", "role", purpose="ping", role=s.ping_role)
    assert reply.content == f"Reminders will ping <@&{s.ping_role}>."
    reply = await s.ask(s.admin, "setup", "reminders", offsets="10m, 1h,30d,7d,1d")
    assert reply.content == "Reminders will come 30d,7d,1d,1h,10m before each deadline."

    shown = await s.ask(s.admin, "setup", "show")
    assert shown.ephemeral
    fields = {f["name"]: f["value"] for f in shown.embeds[0]["fields"]}
    assert fields == {
        "News channel": f"<#{news}>",
        "Reminders channel": f"<#{reminders}>",
        "Updates channel": f"<#{s.updates}>",
        "Moderator role": f"<@&{s.moderator_role}>",
        "Ping role": f"<@&{s.ping_role}>",
        "Reminder offsets": "30d,7d,1d,1h,10m",
        "Language": "Server locale",
    }
    store = await s.store()
    settings = store["settings"]
    assert isinstance(settings, dict)
    assert settings["news_channel_id"] == news and settings["ping_role_id"] == s.ping_role
    async with s.bot.services.sessions() as session:
        actions = [a.action for a in (await session.exec(select(AuditLog))).all()]
    assert actions.count("setup.channel") == 4 and actions.count("setup.role") == 2
    assert "setup.reminders" in actions

    deadlines = await s.ask(s.member, "deadlines", item="gsomia")
    assert (
        "Reminders to come: 30d, 7d, 1d, 1h, 10m before"
        in deadlines.embeds[0]["fields"][0]["value"]
    )


async def test_korean_after_setup_language(server: Server) -> None:
    s = server
    reply = await s.ask(s.admin, "setup", "language", language="ko")
    assert reply.content == "이제 이 서버에서는 한국어로 답합니다."
    status = await s.ask(s.member, "status", item="gsomia")
    assert status.embeds[0]["title"] == "한일 군사정보보호협정(GSOMIA)"
    refused = await s.ask(s.member, "update", "add", item="gsomia", summary="x")
    assert refused.content is not None and refused.content.startswith("운영진(")
    bad = await s.ask(s.moderator, "update", "add", item="gsomia", summary="x", when="어제")
    assert bad.content is not None and bad.content.startswith(
        "when: '어제'은(는) 날짜나 시각이 아닙니다"
    )
    shown = await s.ask(s.admin, "setup", "show")
    assert {f["name"] for f in shown.embeds[0]["fields"]} >= {"언어", "업데이트 채널"}
    back = await s.ask(s.admin, "setup", "language", language="en")
    assert back.content == "From now on I answer in English here."


# -- /update ----------------------------------------------------------------------------------


async def test_update_add_records_announces_and_changes_the_status(server: Server) -> None:
    s = server
    reply = await s.ask(
        s.moderator,
        "update",
        "add",
        item="gsomia",
        summary="Seoul notifies Tokyo in writing that it will end the agreement.",
        stage="termination_notified",
        when="2026-11-23 08:30",
        source_url="https://example.org/notice",
        source_name="Example Wire",
    )
    assert reply.ephemeral
    assert reply.content is not None and reply.content.startswith("Recorded as #")
    event_id = int(reply.content.split("#")[1].split(" ")[0])

    announcement = await s.standin.wait_for_message(s.updates)
    (embed,) = announcement.embeds
    assert embed["title"] == "South Korea–Japan GSOMIA: new update"
    assert f"Recorded by <@{s.moderator}>" in embed["description"]
    assert "[Example Wire](https://example.org/notice)" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Stage"] == (
        "Termination notice withdrawn (back in force) → **Termination notified**"
    )
    end = int(datetime(2027, 11, 23, tzinfo=KST).timestamp())
    assert f"Termination now: <t:{end}:F>" in fields["Deadlines"]
    assert "Notice deadline no longer applies" in fields["Deadlines"]
    assert announcement.allowed_mentions == {"parse": []}

    status = await s.ask(s.member, "status", item="gsomia")
    assert status.embeds[0]["description"].startswith("**Termination notified**")
    assert {f["name"]: f["value"] for f in status.embeds[0]["fields"]}["Next deadline"].startswith(
        f"Termination: <t:{end}:F>"
    )
    timeline = await s.ask(s.member, "timeline", item="gsomia", page=2)
    assert f"`#{event_id}`" in timeline.embeds[0]["description"]
    assert f"(recorded by <@{s.moderator}>)" in timeline.embeds[0]["description"]

    async with s.bot.services.sessions() as session:
        stored = await session.get(TimelineEvent, event_id)
        audit = (await session.exec(select(AuditLog).where(AuditLog.action == "event.add"))).one()
    assert (
        stored is not None and stored.recorded_by == s.moderator and stored.guild_id == s.guild.id
    )
    assert audit.actor_id == s.moderator and audit.before is None
    assert audit.after is not None and audit.after["stage"] == "termination_notified"


async def test_another_server_does_not_see_this_servers_updates(
    server: Server, standin: DiscordStandIn
) -> None:
    s = server
    await s.ask(s.moderator, "update", "add", item="han-minkoo-dismissal", summary="Local note")
    other = standin.add_guild("Elsewhere")
    member = other.add_member("Kim")
    interaction = await standin.invoke(
        other.id,
        other.channel_named("general"),
        member,
        "timeline",
        options={"item": "han-minkoo-dismissal"},
    )
    reply = await interaction.response()
    assert "Local note" not in reply.embeds[0]["description"]
    assert reply.embeds[0]["footer"]["text"].endswith("· 6 events")


async def test_update_edit_keeps_the_previous_version(server: Server) -> None:
    s = server
    added = await s.ask(
        s.moderator,
        "update",
        "add",
        item="han-minkoo-dismissal",
        summary="Rumour of a new motion",
        when="2026-11-20",
    )
    event_id = int((added.content or "").split("#")[1].split(" ")[0])
    await s.standin.wait_for_message(s.updates)
    reply = await s.ask(
        s.admin,
        "update",
        "edit",
        event_id=event_id,
        summary="A new motion is announced",
        stage="announced",
        when="2026-11-21 09:30",
    )
    assert reply.content == (
        f"Event #{event_id} on Motion to dismiss Defence Minister Han Min-koo edited; "
        "the previous version is kept."
    )
    edited = await s.standin.wait_for_message(
        s.updates, lambda m: m.embeds[0]["title"].endswith("update edited")
    )
    fields = {f["name"]: f["value"] for f in edited.embeds[0]["fields"]}
    assert fields["Changed"] == "summary, stage, when"
    assert fields["Stage"] == "Shelved → **Announced**"
    async with s.bot.services.sessions() as session:
        event = await session.get(TimelineEvent, event_id)
        (old,) = (await session.exec(select(EventRevision))).all()
        audit = (await session.exec(select(AuditLog).where(AuditLog.action == "event.edit"))).one()
    assert (
        event is not None
        and event.revision == 2
        and event.summary_en == "A new motion is announced"
    )
    assert (old.revision, old.summary_en, old.stage) == (1, "Rumour of a new motion", None)
    assert audit.before is not None and audit.after is not None
    assert audit.before["summary_en"] == "Rumour of a new motion"
    assert audit.after["summary_en"] == "A new motion is announced"
    assert audit.actor_id == s.admin
    timeline = await s.ask(s.member, "timeline", item="han-minkoo-dismissal")
    assert "(edited, revision 2)" in timeline.embeds[0]["description"]


async def test_update_remove_hides_audits_and_announces(server: Server) -> None:
    s = server
    added = await s.ask(s.moderator, "update", "add", item="gsomia", summary="A mistaken entry")
    event_id = int((added.content or "").split("#")[1].split(" ")[0])
    reply = await s.ask(
        s.moderator, "update", "remove", event_id=event_id, reason="posted by mistake"
    )
    assert reply.ephemeral and reply.content is not None and "removed" in reply.content
    removed = await s.standin.wait_for_message(
        s.updates, lambda m: m.embeds[0]["title"].endswith("update removed")
    )
    assert "Reason: posted by mistake" in removed.embeds[0]["description"]
    timeline = await s.ask(s.member, "timeline", item="gsomia", page=2)
    assert "A mistaken entry" not in timeline.embeds[0]["description"]
    async with s.bot.services.sessions() as session:
        kept = await session.get(TimelineEvent, event_id)
        audit = (
            await session.exec(select(AuditLog).where(AuditLog.action == "event.remove"))
        ).one()
    assert (
        kept is not None
        and kept.deleted_at is not None
        and kept.delete_reason == "posted by mistake"
    )
    assert audit.after is not None and audit.after["reason"] == "posted by mistake"


async def test_without_an_updates_channel_the_moderator_is_told(
    standin: DiscordStandIn, database_url: str
) -> None:
    guild = standin.add_guild("Quiet")
    admin_role = guild.add_role("Admins", Perm.MANAGE_GUILD)
    admin = guild.add_member("Seo", roles=[admin_role])
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=lambda: E2E_NOW
    ):
        interaction = await standin.invoke(
            guild.id,
            guild.channel_named("general"),
            admin,
            "update",
            options={"item": "gsomia", "summary": "A note"},
            subcommand="add",
        )
        reply = await interaction.response()
    assert reply.content is not None and "Not announced: no updates channel is set" in reply.content


# -- /deadline ----------------------------------------------------------------------------------


async def test_deadline_add_and_remove(server: Server) -> None:
    s = server
    reply = await s.ask(
        s.moderator,
        "deadline",
        "add",
        item="gsomia",
        title="Defence ministers meet",
        when="2027-01-15 14:00",
    )
    at = int(datetime(2027, 1, 15, 14, tzinfo=KST).timestamp())
    assert reply.ephemeral and reply.content is not None
    assert reply.content.startswith("Custom deadline #")
    assert f"Defence ministers meet, <t:{at}:F>" in reply.content
    deadline_id = int(reply.content.split("#")[1].split(" ")[0])
    listed = await s.ask(s.member, "deadlines", item="gsomia")
    names = [f["name"] for f in listed.embeds[0]["fields"]]
    assert names[0] == "Defence ministers meet · South Korea–Japan GSOMIA"
    removed = await s.ask(s.moderator, "deadline", "remove", deadline_id=deadline_id)
    assert removed.content == (
        f"Custom deadline #{deadline_id} (Defence ministers meet) removed from "
        "South Korea–Japan GSOMIA."
    )
    listed = await s.ask(s.member, "deadlines", item="gsomia")
    assert "Defence ministers meet" not in str(listed.embeds)
    async with s.bot.services.sessions() as session:
        row = await session.get(CustomDeadline, deadline_id)
    assert row is not None and row.deleted_at is not None and row.deleted_by == s.moderator


# -- who may do what -------------------------------------------------------------------------------

MUTATING: list[tuple[str, str, dict[str, Any], str]] = [
    ("update", "add", {"item": "gsomia", "summary": "Matrix note"}, "moderator"),
    ("update", "edit", {"event_id": "NEW", "summary": "Matrix edit"}, "moderator"),
    ("update", "remove", {"event_id": "NEW", "reason": "matrix"}, "moderator"),
    ("deadline", "add", {"item": "gsomia", "title": "Matrix", "when": "2027-01-01"}, "moderator"),
    ("deadline", "remove", {"deadline_id": "NEWD"}, "moderator"),
    ("setup", "channel", {"purpose": "news", "channel": "GENERAL"}, "administrator"),
    ("setup", "role", {"purpose": "ping", "role": "PING"}, "administrator"),
    ("setup", "reminders", {"offsets": "1d"}, "administrator"),
    ("setup", "language", {"language": "en"}, "administrator"),
    ("setup", "show", {}, "administrator"),
    ("setup", "calendar", {"action": "show"}, "administrator"),
    ("setup", "calendar", {"action": "rotate"}, "administrator"),
]


@pytest.mark.parametrize(("name", "sub", "options", "needs"), MUTATING, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("who", ["member", "moderator", "admin"])
async def test_permission_matrix(
    server: Server, name: str, sub: str, options: dict[str, Any], needs: str, who: str
) -> None:
    s = server
    # Fresh targets for the commands that act on an existing event or deadline.
    added = await s.ask(s.admin, "update", "add", item="gsomia", summary="Target")
    event_id = int((added.content or "").split("#")[1].split(" ")[0])
    made = await s.ask(s.admin, "deadline", "add", item="gsomia", title="Target", when="2027-02-01")
    deadline_id = int((made.content or "").split("#")[1].split(" ")[0])
    values = {
        "NEW": event_id,
        "NEWD": deadline_id,
        "GENERAL": s.general,
        "PING": s.ping_role,
    }
    resolved = {k: values.get(v, v) if isinstance(v, str) else v for k, v in options.items()}
    before = await s.store()
    user = {"member": s.member, "moderator": s.moderator, "admin": s.admin}[who]
    reply = await s.ask(user, name, sub, **resolved)
    allowed = who == "admin" or (who == "moderator" and needs == "moderator")
    if allowed:
        assert reply.content not in (FORBIDDEN_MOD, FORBIDDEN_ADMIN)
    else:
        assert reply.ephemeral
        assert reply.content == (FORBIDDEN_MOD if needs == "moderator" else FORBIDDEN_ADMIN)
        assert await s.store() == before


# -- bad input ----------------------------------------------------------------------------------

LONG = "x" * 1001
BAD_INPUT: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "update",
        "add",
        {"item": "gsomia", "summary": "ok", "when": "23/11/2026"},
        "when: '23/11/2026' is not a date or time",
    ),
    (
        "update",
        "add",
        {"item": "gsomia", "summary": "ok", "when": "2026-02-30"},
        "when: '2026-02-30' is not a date or time",
    ),
    (
        "update",
        "add",
        {"item": "gsomia", "summary": "ok", "source_url": "ftp://example.org/x"},
        "source_url: 'ftp://example.org/x' is not an http(s) URL.",
    ),
    (
        "update",
        "add",
        {"item": "gsomia", "summary": "ok", "source_url": "javascript:alert(1)"},
        "source_url: 'javascript:alert(1)' is not an http(s) URL.",
    ),
    (
        "update",
        "add",
        {"item": "gsomia", "summary": LONG},
        "summary: at most 1000 characters (this one has 1001).",
    ),
    ("update", "add", {"item": "gsomia", "summary": "   "}, "summary: must not be empty."),
    (
        "update",
        "add",
        {
            "item": "gsomia",
            "summary": "ok",
            "source_name": "y" * 201,
            "source_url": "https://example.org",
        },
        "source_name: at most 200 characters",
    ),
    (
        "update",
        "add",
        {"item": "gsomia", "summary": "ok", "stage": "notice_suspended"},
        "stage: 'notice_suspended' cannot follow 'notice_withdrawn' under this item's rules; "
        "allowed next: termination_notified, terminated.",
    ),
    (
        "update",
        "add",
        {"item": "han-minkoo-dismissal", "summary": "ok", "stage": "passed"},
        "stage: 'passed' cannot follow 'shelved'",
    ),
    (
        "update",
        "add",
        {"item": "gsomia", "summary": "ok", "stage": "frozen"},
        "stage: 'frozen' is not a stage of this item",
    ),
    ("update", "add", {"item": "nato", "summary": "ok"}, "item: there is no tracked item 'nato'."),
    (
        "update",
        "edit",
        {"event_id": 99999, "summary": "ok"},
        "event_id: there is no event #99999 in this server's timeline.",
    ),
    (
        "update",
        "edit",
        {"event_id": 1, "summary": "ok"},
        "event_id: #1 is part of the shared history",
    ),
    (
        "update",
        "edit",
        {"event_id": 99999},
        "Give at least one of summary, stage, when or source_url",
    ),
    (
        "update",
        "remove",
        {"event_id": 99999, "reason": "x"},
        "event_id: there is no event #99999 in this server's timeline.",
    ),
    ("update", "remove", {"event_id": 2, "reason": "r" * 501}, "reason: at most 500 characters"),
    (
        "deadline",
        "add",
        {"item": "gsomia", "title": "t", "when": "2020-01-01"},
        "when: a deadline must be in the future.",
    ),
    (
        "deadline",
        "add",
        {"item": "gsomia", "title": "t" * 201, "when": "2030-01-01"},
        "title: at most 200 characters",
    ),
    (
        "deadline",
        "add",
        {"item": "gsomia", "title": "t", "when": "soon"},
        "when: 'soon' is not a date or time",
    ),
    (
        "deadline",
        "add",
        {"item": "unknown-item", "title": "t", "when": "2030-01-01"},
        "item: there is no tracked item 'unknown-item'.",
    ),
    (
        "deadline",
        "remove",
        {"deadline_id": 4242},
        "deadline_id: there is no custom deadline #4242 in this server.",
    ),
    (
        "setup",
        "reminders",
        {"offsets": "1w"},
        "offsets: '1w' is not a number followed by d, h or m.",
    ),
    ("setup", "reminders", {"offsets": "0m"}, "offsets: '0m' must be more than 0"),
]


@pytest.mark.parametrize(
    ("name", "sub", "options", "message"), BAD_INPUT, ids=lambda v: str(v)[:30]
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    server: Server, name: str, sub: str, options: dict[str, Any], message: str
) -> None:
    before = await server.store()
    reply = await server.ask(server.admin, name, sub, **options)
    assert reply.ephemeral
    assert reply.content is not None and reply.content.startswith(message), reply.content
    assert await server.store() == before
    assert not server.standin.messages(server.updates)


async def test_an_edit_that_would_break_the_history_is_refused(server: Server) -> None:
    s = server
    first = await s.ask(
        s.moderator,
        "update",
        "add",
        item="han-minkoo-dismissal",
        summary="Announced again",
        stage="announced",
        when="2026-11-20",
    )
    first_id = int((first.content or "").split("#")[1].split(" ")[0])
    await s.ask(
        s.moderator,
        "update",
        "add",
        item="han-minkoo-dismissal",
        summary="Submitted",
        stage="submitted",
        when="2026-11-21",
    )
    before = await s.store()
    removal = await s.ask(s.moderator, "update", "remove", event_id=first_id, reason="oops")
    # Without the announcement, 'submitted' would follow 'shelved': allowed, so this passes...
    assert removal.content is not None and removal.content.startswith("Event #")
    # ...but moving the submission before the shelving is not.
    again = await s.ask(
        s.moderator, "update", "edit", event_id=first_id + 1, when="2016-11-20", stage="passed"
    )
    assert again.content is not None and again.content.startswith("stage: 'passed' cannot follow")
    after = await s.store()
    assert after["EventRevision"] == before["EventRevision"]


# -- mentions -------------------------------------------------------------------------------------


async def test_a_rule_sets_own_refusal_is_in_its_own_words(server: Server) -> None:
    """The vote-time rule is the motion rule set's: its words come from rules.<name>.invalid."""
    s = server
    for stage, when in (("submitted", "2026-11-20 10:00"), ("reported", "2026-11-21 10:00")):
        reply = await s.ask(
            s.moderator,
            "update",
            "add",
            item="han-minkoo-dismissal",
            summary=stage,
            stage=stage,
            when=when,
        )
        assert reply.content is not None and reply.content.startswith("Recorded as #"), (
            reply.content
        )
    before = await s.store()
    early = await s.ask(
        s.moderator,
        "update",
        "add",
        item="han-minkoo-dismissal",
        summary="Voted",
        stage="passed",
        when="2026-11-21 12:00",
    )
    opens = int(datetime(2026, 11, 22, 10, tzinfo=ZoneInfo("Asia/Seoul")).timestamp())
    assert early.ephemeral
    assert early.content == (f"when: a vote must come after the vote window opens (<t:{opens}:F>).")
    assert await s.store() == before


async def test_mentions_in_summaries_are_stored_and_shown_as_text(server: Server) -> None:
    s = server
    hostile = f"Ping @everyone and @here, <@{s.member}> and <@&{s.ping_role}>!"
    reply = await s.ask(s.moderator, "update", "add", item="gsomia", summary=hostile)
    event_id = int((reply.content or "").split("#")[1].split(" ")[0])
    announcement = await s.standin.wait_for_message(s.updates)
    assert hostile in announcement.embeds[0]["description"]
    timeline = await s.ask(s.member, "timeline", item="gsomia", page=2)
    assert hostile in timeline.embeds[0]["description"]
    async with s.bot.services.sessions() as session:
        stored = await session.get(TimelineEvent, event_id)
    assert stored is not None and stored.summary_en == hostile
    # Every request that could post or edit a message disabled every mention.
    sent = [
        r.json
        for r in s.standin.requests
        if isinstance(r.json, dict)
        and ("content" in r.json or "embeds" in r.json or "data" in r.json)
    ]
    assert sent
    for body in sent:
        payload = body.get("data", body) if isinstance(body.get("data"), dict) else body
        if "embeds" in payload or "content" in payload:
            assert payload.get("allowed_mentions") == {"parse": []}, payload
