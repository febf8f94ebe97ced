"""REST routes for the bot's own identity, the gateway, commands and channels.

Interaction callbacks and webhook (followup) routes live in rest_interactions.
Every handler answers the way Discord does, including its error codes, so the
bot's error handling runs as in production.
"""

from __future__ import annotations

from aiohttp import web

from motionwatch_standin import rules
from motionwatch_standin.journal import RequestRecord
from motionwatch_standin.messages import FLAG_EPHEMERAL, MessageRecord
from motionwatch_standin.payload import JSON, as_snowflake
from motionwatch_standin.state import State
from motionwatch_standin.wire import (
    API_PREFIX,
    body_of,
    error_response,
    invalid_form_body,
    json_response,
    no_content,
    record_of,
)


def message_problems(body: JSON, files: int, *, creating: bool) -> list[str]:
    """Discord's own limits on a message body (the spec does not cover these)."""
    problems = rules.message_limits(body)
    if creating and files == 0:
        keys = ("content", "embeds", "components", "sticker_ids", "poll")
        if not any(body.get(key) for key in keys):
            problems.append("empty message: no content, embeds, components, stickers or files")
    return problems


def enforce(state: State, record: RequestRecord, problems: list[str]) -> web.Response | None:
    """Record each problem; the 400 Discord would answer, unless told to be lenient."""
    for problem in problems:
        state.journal.violation(record, problem)
    if problems and state.settings.reject_invalid:
        return invalid_form_body(problems)
    return None


def json_object(request: web.Request) -> JSON | None:
    body = body_of(request).json
    return body if isinstance(body, dict) else None


def _int(request: web.Request, name: str) -> int:
    return as_snowflake(request.match_info[name]) or -1


class CoreRoutes:
    def __init__(self, state: State) -> None:
        self.s = state

    def routes(self) -> list[web.RouteDef]:
        a = API_PREFIX
        app = f"{a}/applications/{{app_id}}"
        return [
            web.get(f"{a}/users/@me", self.me),
            web.get(f"{a}/users/{{user_id}}", self.user),
            web.get(f"{a}/gateway", self.gateway),
            web.get(f"{a}/gateway/bot", self.gateway_bot),
            web.get(f"{a}/oauth2/applications/@me", self.application),
            web.get(f"{a}/applications/@me", self.application),
            web.get(f"{app}/commands", self.list_commands),
            web.put(f"{app}/commands", self.overwrite_commands),
            web.post(f"{app}/commands", self.create_command),
            web.get(f"{app}/commands/{{command_id}}", self.get_command),
            web.patch(f"{app}/commands/{{command_id}}", self.edit_command),
            web.delete(f"{app}/commands/{{command_id}}", self.delete_command),
            web.get(f"{app}/guilds/{{guild_id}}/commands", self.list_commands),
            web.put(f"{app}/guilds/{{guild_id}}/commands", self.overwrite_commands),
            web.post(f"{app}/guilds/{{guild_id}}/commands", self.create_command),
            web.get(f"{app}/guilds/{{guild_id}}/commands/{{command_id}}", self.get_command),
            web.patch(f"{app}/guilds/{{guild_id}}/commands/{{command_id}}", self.edit_command),
            web.delete(f"{app}/guilds/{{guild_id}}/commands/{{command_id}}", self.delete_command),
            web.get(f"{a}/guilds/{{guild_id}}", self.guild),
            web.get(f"{a}/guilds/{{guild_id}}/members/{{user_id}}", self.member),
            web.get(f"{a}/channels/{{channel_id}}", self.channel),
            web.post(f"{a}/channels/{{channel_id}}/typing", self.typing),
            web.get(f"{a}/channels/{{channel_id}}/messages", self.list_messages),
            web.post(f"{a}/channels/{{channel_id}}/messages", self.create_message),
            web.get(f"{a}/channels/{{channel_id}}/messages/{{message_id}}", self.get_message),
            web.patch(f"{a}/channels/{{channel_id}}/messages/{{message_id}}", self.edit_message),
            web.delete(f"{a}/channels/{{channel_id}}/messages/{{message_id}}", self.delete_message),
            web.get("/attachments/{channel_id}/{attachment_id}/{filename}", self.attachment),
        ]

    # -- identity and gateway ---------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        user = self.s.world.bot.to_payload()
        return json_response({**user, "verified": True, "mfa_enabled": False, "locale": "en-US"})

    async def user(self, request: web.Request) -> web.Response:
        user = self.s.world.users.get(_int(request, "user_id"))
        if user is None:
            return error_response(404, 10013, "Unknown User")
        return json_response(user.to_payload())

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.s.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response(
            {
                "url": self.s.gateway_url,
                "shards": self.s.recommended_shards,
                "session_start_limit": limit,
            }
        )

    async def application(self, request: web.Request) -> web.Response:
        world = self.s.world
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": world.owner.to_payload(),
                "team": None,
                "bot": world.bot.to_payload(),
                "redirect_uris": [],
                # Must stay null: with an endpoint URL discord.py warns that it
                # will not receive interactions over the gateway.
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(world.guilds),
            }
        )

    # -- application commands ---------------------------------------------------

    def _scope(self, request: web.Request) -> tuple[int | None, web.Response | None]:
        """The command scope (None = global), or the error to answer."""
        record = record_of(request)
        if _int(request, "app_id") != self.s.world.application_id:
            self.s.journal.violation(record, "application id is not the bot's application")
            return None, error_response(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return None, None
        guild_id = _int(request, "guild_id")
        if guild_id not in self.s.world.guilds:
            return None, error_response(404, 10004, "Unknown Guild")
        return guild_id, None

    async def list_commands(self, request: web.Request) -> web.Response:
        scope, error = self._scope(request)
        return error or json_response(self.s.commands.listing(scope))

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        scope, error = self._scope(request)
        if error is not None:
            return error
        body = body_of(request).json
        if not isinstance(body, list):
            return error_response(400, 50035, "Invalid Form Body: expected an array")
        problems = [p for c in body if isinstance(c, dict) for p in rules.command_definition(c)]
        rejected = enforce(self.s, record_of(request), problems)
        if rejected is not None:
            return rejected
        stored = self.s.commands.bulk_overwrite(scope, [c for c in body if isinstance(c, dict)])
        self.s.journal.notify()
        return json_response(stored)

    async def create_command(self, request: web.Request) -> web.Response:
        scope, error = self._scope(request)
        if error is not None:
            return error
        body = json_object(request)
        if body is None:
            return error_response(400, 50035, "Invalid Form Body: expected an object")
        rejected = enforce(self.s, record_of(request), rules.command_definition(body))
        if rejected is not None:
            return rejected
        stored, created = self.s.commands.upsert(scope, body)
        self.s.journal.notify()
        return json_response(stored, 201 if created else 200)

    async def get_command(self, request: web.Request) -> web.Response:
        scope, error = self._scope(request)
        if error is not None:
            return error
        command = self.s.commands.get(scope, _int(request, "command_id"))
        return (
            json_response(command)
            if command
            else error_response(404, 10063, "Unknown application command")
        )

    async def edit_command(self, request: web.Request) -> web.Response:
        scope, error = self._scope(request)
        if error is not None:
            return error
        body = json_object(request) or {}
        command = self.s.commands.get(scope, _int(request, "command_id"))
        if command is None:
            return error_response(404, 10063, "Unknown application command")
        merged = {**command, **body}
        rejected = enforce(self.s, record_of(request), rules.command_definition(merged))
        if rejected is not None:
            return rejected
        edited = self.s.commands.edit(scope, _int(request, "command_id"), body)
        self.s.journal.notify()
        return json_response(edited)

    async def delete_command(self, request: web.Request) -> web.Response:
        scope, error = self._scope(request)
        if error is not None:
            return error
        if not self.s.commands.delete(scope, _int(request, "command_id")):
            return error_response(404, 10063, "Unknown application command")
        return no_content()

    # -- guilds and channels ----------------------------------------------------

    async def guild(self, request: web.Request) -> web.Response:
        guild = self.s.world.guilds.get(_int(request, "guild_id"))
        if guild is None:
            return error_response(404, 10004, "Unknown Guild")
        payload = guild.to_payload(members=[])
        for key in ("channels", "members", "threads", "presences", "voice_states"):
            payload.pop(key, None)
        return json_response(payload)

    async def member(self, request: web.Request) -> web.Response:
        guild = self.s.world.guilds.get(_int(request, "guild_id"))
        if guild is None:
            return error_response(404, 10004, "Unknown Guild")
        member = guild.members.get(_int(request, "user_id"))
        if member is None:
            return error_response(404, 10007, "Unknown Member")
        return json_response(member.to_payload())

    async def channel(self, request: web.Request) -> web.Response:
        channel = self.s.world.find_channel(_int(request, "channel_id"))
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        return json_response(channel.to_payload())

    async def typing(self, request: web.Request) -> web.Response:
        if self.s.world.find_channel(_int(request, "channel_id")) is None:
            return error_response(404, 10003, "Unknown Channel")
        return no_content()

    # -- channel messages -------------------------------------------------------

    def _message(self, request: web.Request) -> MessageRecord | None:
        message = self.s.messages.get(_int(request, "message_id"))
        if (
            message is None
            or message.channel_id != _int(request, "channel_id")
            or message.ephemeral
        ):
            return None
        return message

    async def list_messages(self, request: web.Request) -> web.Response:
        channel_id = _int(request, "channel_id")
        if self.s.world.find_channel(channel_id) is None:
            return error_response(404, 10003, "Unknown Channel")
        query, problems = request.query, []
        limit = 50
        if "limit" in query:
            wanted = query["limit"]
            if wanted.isdigit() and 1 <= int(wanted) <= 100:
                limit = int(wanted)
            else:
                problems.append(f"limit: {wanted!r} is not an integer from 1 to 100")
        anchors: dict[str, int | None] = {}
        for name in ("around", "before", "after"):
            if name in query:
                anchors[name] = as_snowflake(query[name])
                if anchors[name] is None:
                    problems.append(f"{name}: {query[name]!r} is not a snowflake")
        if len(anchors) > 1:
            problems.append(f"{', '.join(anchors)}: only one of around, before, after may be given")
        rejected = enforce(self.s, record_of(request), problems)
        if rejected is not None:
            return rejected
        page = self.s.messages.history(
            channel_id,
            limit=limit,
            before=anchors.get("before"),
            after=anchors.get("after"),
            around=anchors.get("around"),
        )
        return json_response([m.to_payload() for m in page])

    async def get_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        return json_response(message.to_payload())

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self.s.world.find_channel(_int(request, "channel_id"))
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        parsed, record = body_of(request), record_of(request)
        body = json_object(request)
        if body is None:
            return error_response(400, 50035, "Invalid Form Body: expected an object")
        refusal = self.s.refused.get(channel.id)
        if refusal is not None:
            return error_response(*refusal)
        problems = message_problems(body, len(parsed.files), creating=True)
        rejected = enforce(self.s, record, problems)
        if rejected is not None:
            return rejected
        self.s.check_mentions(record, body, channel.guild_id)
        nonce = body.get("nonce")
        enforced = str(nonce) if nonce is not None and body.get("enforce_nonce") else None
        if enforced is not None:
            # Discord answers a nonce repeated within a few minutes with the message it made.
            earlier_id = self.s.nonces.earlier(channel.id, enforced)
            earlier = self.s.messages.get(earlier_id) if earlier_id is not None else None
            if earlier is not None:
                return json_response(earlier.to_payload())
        message = self.s.messages.create(
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=self.s.world.bot,
            body=body,
            files=parsed.files,
        )
        if enforced is not None:
            self.s.nonces.remember(channel.id, enforced, message.id)
        # Only interaction responses can be ephemeral.
        message.flags &= ~FLAG_EPHEMERAL
        self.s.announce_created(message)
        gate = self.s.held.get(channel.id)
        if gate is not None:
            await gate.wait()
        return json_response(message.to_payload())

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        if message.author.id != self.s.world.bot.id:
            return error_response(403, 50005, "Cannot edit a message authored by another user")
        parsed, record = body_of(request), record_of(request)
        body = json_object(request) or {}
        rejected = enforce(self.s, record, message_problems(body, 0, creating=False))
        if rejected is not None:
            return rejected
        self.s.check_mentions(record, body, message.guild_id)
        self.s.messages.edit(message, body, parsed.files)
        self.s.announce_edited(message)
        return json_response(message.to_payload())

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        self.s.messages.delete(message)
        self.s.announce_deleted(message)
        return no_content()

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        """The CDN: attachment URLs in messages point here."""
        attachment = self.s.messages.attachment(_int(request, "attachment_id"))
        if attachment is None:
            return web.Response(status=404)
        return web.Response(
            body=attachment.data, content_type=attachment.content_type or "application/octet-stream"
        )
