"""HTTP plumbing shared by the middleware and the REST handlers.

discord.py only decodes a body as JSON when the Content-Type header is exactly
`application/json` (http.py `json_or_text`); aiohttp's `json_response` adds
`; charset=utf-8`, which would hand the client a *string*. So every JSON reply
goes through `json_response` here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from motionwatch_standin.journal import FileRecord, RequestRecord
from motionwatch_standin.messages import UploadedFile
from motionwatch_standin.payload import dumps

API_PREFIX = "/api/v10"


@dataclass
class ParsedBody:
    json: Any = None
    files: list[UploadedFile] = field(default_factory=list)
    multipart: bool = False
    error: str | None = None


_RECORD = web.RequestKey("standin.record", RequestRecord)
_BODY = web.RequestKey("standin.body", ParsedBody)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def error_response(
    status: int, code: int, message: str, errors: dict[str, Any] | None = None
) -> web.Response:
    """A Discord-style error body: discord.py reads `code`, `message` and `errors`."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_response(body, status)


def invalid_form_body(problems: list[str]) -> web.Response:
    # discord.py flattens `errors` into its exception text: name each problem.
    errors = {
        f"problem{i}": {"_errors": [{"code": "BASE_TYPE_INVALID", "message": p}]}
        for i, p in enumerate(problems)
    }
    return error_response(400, 50035, "Invalid Form Body", errors)


def record_of(request: web.Request) -> RequestRecord:
    return request[_RECORD]


def body_of(request: web.Request) -> ParsedBody:
    return request[_BODY]


def attach(request: web.Request, record: RequestRecord, body: ParsedBody) -> None:
    request[_RECORD] = record
    request[_BODY] = body


async def read_body(request: web.Request) -> ParsedBody:
    """JSON, or multipart with `payload_json` and `files[n]` parts, read once."""
    if not request.body_exists:
        return ParsedBody()
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return ParsedBody()
    if request.content_type != "application/json":
        return ParsedBody(error=f"body with content type {request.content_type!r}")
    try:
        return ParsedBody(json=json.loads(raw))
    except ValueError as exc:
        return ParsedBody(error=f"body is not valid JSON: {exc}")


async def _read_multipart(request: web.Request) -> ParsedBody:
    parsed = ParsedBody(multipart=True)
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            parsed.error = "nested multipart is not supported"
            continue
        name = part.name or ""
        data = bytes(await part.read())
        if name == "payload_json":
            try:
                parsed.json = json.loads(data)
            except ValueError as exc:
                parsed.error = f"payload_json is not valid JSON: {exc}"
        elif part.filename is not None:
            content_type = part.headers.get("Content-Type")
            parsed.files.append(UploadedFile(name, part.filename, content_type, data))
        else:
            parsed.error = f"unexpected multipart field {name!r} (only payload_json and files[n])"
    return parsed


def file_records(files: list[UploadedFile]) -> list[FileRecord]:
    return [FileRecord(f.part, f.filename, len(f.data), f.content_type) for f in files]
