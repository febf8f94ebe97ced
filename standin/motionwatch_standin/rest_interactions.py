"""Interaction callbacks, followups and the original response (webhook routes).

These routes carry no Authorization header: the interaction token in the path
is the credential, as on Discord. The callback answers 200 with
`{"interaction": ..., "resource": ...}` because discord.py ≥ 2.5 always asks
`?with_response=1` and parses that body (interactions.py,
`InteractionCallbackResponse._update`); a 204 would break it.
"""

from __future__ import annotations

from aiohttp import web

from motionwatch_standin import rules
from motionwatch_standin.interactions import (
    ALLOWED_CALLBACKS,
    APPLICATION_COMMAND,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    UPDATE_MESSAGE,
    CallbackRecord,
    InteractionRecord,
    callback_data,
)
from motionwatch_standin.journal import RequestRecord
from motionwatch_standin.messages import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_DEFAULT,
    MessageRecord,
    UploadedFile,
)
from motionwatch_standin.payload import JSON, as_snowflake
from motionwatch_standin.rest import enforce, json_object, message_problems
from motionwatch_standin.state import State
from motionwatch_standin.wire import (
    API_PREFIX,
    body_of,
    error_response,
    json_response,
    no_content,
    record_of,
)

_TRUE = ("1", "true", "True")


class _MessageGone(Exception):
    """The message a component was on no longer exists."""


class InteractionRoutes:
    def __init__(self, state: State) -> None:
        self.s = state

    def routes(self) -> list[web.RouteDef]:
        a = API_PREFIX
        hook = f"{a}/webhooks/{{app_id}}/{{token}}"
        return [
            web.post(f"{a}/interactions/{{interaction_id}}/{{token}}/callback", self.callback),
            web.post(hook, self.followup),
            web.get(f"{hook}/messages/{{message_id}}", self.get_message),
            web.patch(f"{hook}/messages/{{message_id}}", self.edit_message),
            web.delete(f"{hook}/messages/{{message_id}}", self.delete_message),
        ]

    # -- the callback -----------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        record = record_of(request)
        interaction = self.s.interactions.by_id(
            as_snowflake(request.match_info["interaction_id"]) or -1
        )
        if interaction is None or interaction.token != request.match_info["token"]:
            self.s.journal.violation(record, "callback for an unknown interaction")
            return error_response(404, 10062, "Unknown interaction")
        if interaction.callback is not None:
            self.s.journal.violation(record, "interaction already acknowledged (second callback)")
            return error_response(400, 40060, "Interaction has already been acknowledged.")
        deadline = self.s.settings.response_deadline
        if deadline is not None and interaction.sent_at is not None:
            late = record.at - interaction.sent_at
            if late > deadline:
                self.s.journal.violation(
                    record, f"callback {late:.2f} s after dispatch (max {deadline} s)"
                )
                return error_response(404, 10062, "Unknown interaction")
        body = json_object(request) or {}
        kind = body.get("type")
        if kind not in ALLOWED_CALLBACKS.get(interaction.type, set()):
            self.s.journal.violation(
                record,
                f"callback type {kind!r} is not valid for interaction type {interaction.type}",
            )
            return error_response(400, 50035, "Invalid Form Body: interaction response type")
        data = callback_data(body)
        files = body_of(request).files
        problems: list[str] = []
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            problems = message_problems(data, len(files), creating=kind == CHANNEL_MESSAGE)
        elif kind == AUTOCOMPLETE_RESULT:
            problems = rules.autocomplete_choices(data)
        rejected = enforce(self.s, record, problems)
        if rejected is not None:
            return rejected
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            self.s.check_mentions(record, data, interaction.guild_id)

        try:
            message = self._apply_callback(interaction, int(kind), data, files)
        except _MessageGone:
            return error_response(404, 10008, "Unknown Message")
        interaction.responded_at = record.at
        interaction.callback = CallbackRecord(int(kind), data, record.at, message)
        self.s.journal.notify()
        if request.query.get("with_response") not in _TRUE:
            return no_content()
        return json_response(self._callback_response(interaction, int(kind), message))

    def _apply_callback(
        self, interaction: InteractionRecord, kind: int, data: JSON, files: list[UploadedFile]
    ) -> MessageRecord | None:
        """The message the callback created or updated, if any."""
        if kind == CHANNEL_MESSAGE:
            message = self._create(interaction, data, files, original=True)
            interaction.set_original(message)
            return message
        if kind == DEFERRED_CHANNEL_MESSAGE:
            # A "thinking" placeholder; the edit or first followup fills it in.
            flags = int(data.get("flags") or 0) & FLAG_EPHEMERAL
            message = self._create(interaction, {"flags": flags}, [], original=True, loading=True)
            interaction.set_original(message)
            return message
        if kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            source = interaction.source_message
            target = self.s.messages.get(source.id) if source is not None else None
            if target is None:
                raise _MessageGone
            if kind == UPDATE_MESSAGE:
                self.s.messages.edit(target, data, files)
                self.s.announce_edited(target)
            # For a component, @original is the message the component is on.
            interaction.set_original(target)
            return target
        return None

    def _create(
        self,
        interaction: InteractionRecord,
        body: JSON,
        files: list[UploadedFile],
        *,
        original: bool,
        loading: bool = False,
    ) -> MessageRecord:
        slash = original and interaction.type == APPLICATION_COMMAND
        message = self.s.messages.create(
            channel_id=interaction.channel_id,
            guild_id=interaction.guild_id,
            author=self.s.world.bot,
            body=body,
            files=files,
            type=MESSAGE_CHAT_INPUT_COMMAND if slash else MESSAGE_DEFAULT,
            webhook_id=self.s.world.application_id,
            extra_flags=FLAG_LOADING if loading else 0,
            interaction_metadata=self.s.interactions.metadata(interaction),
        )
        self.s.announce_created(message)
        return message

    def _callback_response(
        self, interaction: InteractionRecord, kind: int, message: MessageRecord | None
    ) -> JSON:
        summary: JSON = {"id": str(interaction.id), "type": interaction.type}
        if message is not None:
            summary["response_message_id"] = str(message.id)
            summary["response_message_loading"] = message.loading
            summary["response_message_ephemeral"] = message.ephemeral
        resource: JSON = {"type": kind}
        if message is not None and kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            resource["message"] = message.to_payload()
        return {"interaction": summary, "resource": resource}

    # -- followups and the original response -------------------------------------

    def _interaction(self, request: web.Request) -> InteractionRecord | None:
        record = record_of(request)
        interaction = self.s.interactions.by_token(request.match_info["token"])
        app_id = as_snowflake(request.match_info["app_id"])
        if interaction is None or app_id != self.s.world.application_id:
            self.s.journal.violation(record, "webhook of no known interaction")
            return None
        if interaction.callback is None:
            self.s.journal.violation(record, "interaction webhook used before the callback")
            return None
        return interaction

    async def followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None:
            return error_response(404, 10015, "Unknown Webhook")
        record, parsed = record_of(request), body_of(request)
        body = json_object(request)
        if body is None:
            return error_response(400, 50035, "Invalid Form Body: expected an object")
        rejected = enforce(self.s, record, message_problems(body, len(parsed.files), creating=True))
        if rejected is not None:
            return rejected
        self.s.check_mentions(record, body, interaction.guild_id)
        original = interaction.original
        callback = interaction.callback
        if (
            callback is not None
            and callback.type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.loading
        ):
            # Discord turns the first followup after a deferred reply into the
            # reply itself: the "thinking" message gets its content.
            self.s.messages.fill(original, body, parsed.files)
            self.s.announce_edited(original)
            message = original
        else:
            message = self._create(interaction, body, parsed.files, original=False)
        interaction.followups.append(message)
        self.s.journal.notify()
        if request.query.get("wait") in _TRUE:
            return json_response(message.to_payload())
        return no_content()

    def _target(self, request: web.Request, interaction: InteractionRecord) -> MessageRecord | None:
        key = request.match_info["message_id"]
        if key == "@original":
            message = interaction.original
        else:
            wanted = as_snowflake(key)
            candidates = [interaction.original, *interaction.followups]
            message = next((m for m in candidates if m is not None and m.id == wanted), None)
        return None if message is None or message.deleted else message

    async def get_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None:
            return error_response(404, 10015, "Unknown Webhook")
        message = self._target(request, interaction)
        if message is None:
            return self._unknown_message(record_of(request))
        return json_response(message.to_payload())

    async def edit_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None:
            return error_response(404, 10015, "Unknown Webhook")
        record, parsed = record_of(request), body_of(request)
        message = self._target(request, interaction)
        if message is None:
            return self._unknown_message(record)
        body = json_object(request) or {}
        rejected = enforce(self.s, record, message_problems(body, 0, creating=False))
        if rejected is not None:
            return rejected
        self.s.check_mentions(record, body, interaction.guild_id)
        self.s.messages.edit(message, body, parsed.files)
        self.s.announce_edited(message)
        return json_response(message.to_payload())

    async def delete_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None:
            return error_response(404, 10015, "Unknown Webhook")
        message = self._target(request, interaction)
        if message is None:
            return self._unknown_message(record_of(request))
        self.s.messages.delete(message)
        self.s.announce_deleted(message)
        return no_content()

    def _unknown_message(self, record: RequestRecord) -> web.Response:
        self.s.journal.violation(record, "no such interaction message")
        return error_response(404, 10008, "Unknown Message")
