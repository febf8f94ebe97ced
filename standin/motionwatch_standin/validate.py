"""Request bodies checked against Discord's official OpenAPI description.

The spec is read once per path and shared by every stand-in in the process;
each operation's validator is built on first use and cached, so a body costs
about a millisecond. Where the spec (or jsonschema) is missing, validation is
skipped and `status` says why, so tests can show the reason.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

log = logging.getLogger(__name__)

SPEC_ENV = "DISCORD_OPENAPI_SPEC"
SPEC_URI = "urn:discord:openapi"
_METHODS = ("get", "put", "post", "patch", "delete")
# standin/motionwatch_standin/validate.py: the stand-in is installed editable from the
# project's checkout (README, Quickstart), so this file stays inside it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_spec_path() -> Path:
    """`DISCORD_OPENAPI_SPEC`, else ../shared/discord-api/openapi.json from the project root."""
    override = os.environ.get(SPEC_ENV, "").strip()
    if override:
        return Path(override)
    return PROJECT_ROOT.parent / "shared" / "discord-api" / "openapi.json"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    json_pointer: str | None
    multipart_pointer: str | None


def _lenient(document: dict[str, Any]) -> None:
    """Adjust the spec where real Discord is more lenient than its description.

    Discord accepts snowflakes as JSON integers as well as strings, and
    discord.py sends integers in places (attachment ids, allowed_mentions
    roles/users); the spec only allows strings.
    """
    schemas = document.get("components", {}).get("schemas", {})
    snowflake = schemas.get("SnowflakeType")
    if isinstance(snowflake, dict):
        schemas["SnowflakeType"] = {"anyOf": [snowflake, {"type": "integer", "minimum": 0}]}


TAGGED = "x-standin-tagged-union"


def _tagged_unions(document: dict[str, Any]) -> int:
    """Mark unions told apart by a `type` enum; returns how many.

    Discord's unions (callback kinds, component kinds, option kinds) are
    `anyOf`/`oneOf` lists whose branches each require `type`, each with its own
    enum. jsonschema checks every branch in full and nested unions multiply: a
    message with a button row cost ~5 ms. With disjoint enums on a required
    key at most one branch can match, so validating only the branch whose enum
    holds the value accepts and rejects exactly the same bodies, and its errors
    come from the branch that applies. Such unions become one `TAGGED` keyword
    (see `_check_tagged`); all other schemas are left as the spec has them.
    """
    schemas = document.get("components", {}).get("schemas", {})

    def resolve(branch: Any) -> Any:
        ref = branch.get("$ref", "") if isinstance(branch, dict) else ""
        prefix = "#/components/schemas/"
        return schemas.get(ref[len(prefix) :]) if ref.startswith(prefix) else branch

    def enum_of(branch: Any) -> list[Any] | None:
        target = resolve(branch)
        if not isinstance(target, dict) or "type" not in (target.get("required") or []):
            return None
        enum = ((target.get("properties") or {}).get("type") or {}).get("enum")
        if not isinstance(enum, list) or not enum:
            return None
        # Only plain ints and strings, so `in` cannot confuse True with 1.
        return enum if all(type(v) in (int, str) for v in enum) else None

    rewritten = 0

    def visit(node: Any) -> None:
        nonlocal rewritten
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        for value in node.values():
            visit(value)
        for keyword in ("anyOf", "oneOf"):
            branches = node.get(keyword)
            if not isinstance(branches, list) or len(branches) < 2 or TAGGED in node:
                continue
            enums = [enum_of(b) for b in branches]
            flat = [v for e in enums if e is not None for v in e]
            if any(e is None for e in enums) or len(flat) != len(set(flat)):
                continue
            del node[keyword]
            node[TAGGED] = [[e, b] for e, b in zip(enums, branches, strict=True)]
            rewritten += 1

    visit(document)
    return rewritten


def _check_tagged(validator: Any, branches: Any, instance: Any, schema: Any) -> Any:
    """The `TAGGED` keyword: validate against the branch named by `type`."""
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped, unused-ignore]

    if not validator.is_type(instance, "object"):
        yield ValidationError(f"{instance!r} is not of type 'object'")
        return
    if "type" not in instance:
        yield ValidationError("'type' is a required property")
        return
    value = instance["type"]
    for index, (enum, branch) in enumerate(branches):
        if type(value) in (int, str) and value in enum:
            yield from validator.descend(instance, branch, schema_path=index)
            return
    allowed = [v for enum, _ in branches for v in enum]
    yield ValidationError(f"{value!r} is not one of {allowed}", path=["type"])


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def _pointer(*keys: str) -> str:
    return "/" + "/".join(k.replace("~", "~0").replace("/", "~1") for k in keys)


class SpecValidator:
    """Matches requests to spec operations and validates their bodies."""

    # One parsed spec per path for the whole process: loading takes ~40 ms.
    _loaded: ClassVar[dict[Path, SpecValidator]] = {}

    def __init__(self, path: Path) -> None:
        self.path = path
        self.available = False
        self.status = ""
        self._operations: list[Operation] = []
        self._validators: dict[tuple[str, str], Any] = {}
        self._registry: Any = None
        self._validator_class: Any = None
        self._load()

    @classmethod
    def for_path(cls, path: Path | None = None) -> SpecValidator:
        resolved = (path or default_spec_path()).resolve()
        cached = cls._loaded.get(resolved)
        if cached is None:
            cached = cls._loaded[resolved] = cls(resolved)
        return cached

    def _load(self) -> None:
        try:
            from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
            from jsonschema.validators import extend  # type: ignore[import-untyped, unused-ignore]
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012
        except ImportError as exc:
            self.status = f"schema validation skipped: {exc.name} is not installed"
            return
        if not self.path.is_file():
            self.status = (
                f"schema validation skipped: no OpenAPI spec at {self.path} (set {SPEC_ENV})"
            )
            return
        started = time.perf_counter()
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.status = f"schema validation skipped: cannot read {self.path}: {exc}"
            return
        _lenient(document)
        unions = _tagged_unions(document)
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(SPEC_URI, resource)
        self._validator_class = extend(Draft202012Validator, {TAGGED: _check_tagged})
        self._operations = self._index(document)
        self.available = True
        took = (time.perf_counter() - started) * 1000
        version = document.get("info", {}).get("version", "?")
        self.status = (
            f"validating against {self.path} (API v{version}, {len(self._operations)} operations,"
            f" {unions} tagged unions, loaded in {took:.0f} ms)"
        )

    @staticmethod
    def _index(document: dict[str, Any]) -> list[Operation]:
        operations: list[Operation] = []
        for template, item in document.get("paths", {}).items():
            for method in _METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                content = (op.get("requestBody") or {}).get("content", {})
                base = ("paths", template, method, "requestBody", "content")
                operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=str(op.get("operationId", f"{method} {template}")),
                        pattern=_compile(template),
                        json_pointer=_pointer(*base, "application/json", "schema")
                        if "application/json" in content
                        else None,
                        multipart_pointer=_pointer(*base, "multipart/form-data", "schema")
                        if "multipart/form-data" in content
                        else None,
                    )
                )
        # Literal segments beat parameters: /messages/@original before /messages/{id}.
        operations.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
        return operations

    def match(self, method: str, path: str) -> Operation | None:
        for operation in self._operations:
            if operation.method == method and operation.pattern.match(path):
                return operation
        return None

    def validate(self, operation: Operation, body: Any, *, multipart: bool) -> list[str]:
        """Readable schema errors for `body` (empty when valid or not checkable)."""
        pointer = operation.multipart_pointer if multipart else operation.json_pointer
        pointer = pointer or operation.json_pointer
        if not self.available or pointer is None:
            return []
        key = (operation.operation_id, pointer)
        validator = self._validators.get(key)
        if validator is None:
            schema = {"$ref": f"{SPEC_URI}#{quote(pointer, safe='/~')}"}
            validator = self._validator_class(schema, registry=self._registry)
            self._validators[key] = validator
        problems: list[str] = []
        for error in validator.iter_errors(body):
            leaf = _deepest(error)
            message = leaf.message
            if len(message) > 160:
                # The message quotes the whole value; name the failed keyword instead.
                message = f"fails {leaf.validator} {str(leaf.validator_value)[:60]}"
            problem = f"schema {operation.operation_id}: {message} at {leaf.json_path}"
            if problem not in problems:
                problems.append(problem)
        return problems


_WEAK = frozenset({"type", "enum", "const", "anyOf", "oneOf"})


def _leaves(error: Any) -> list[Any]:
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def _deepest(error: Any) -> Any:
    """The most telling error under an anyOf/oneOf: the one deepest in the body.

    A failed union reports every branch; the branches that do not apply fail
    shallowly (wrong `type` discriminator), the one that applies fails deep.
    """
    return max(
        _leaves(error),
        key=lambda e: (len(e.absolute_path), e.validator not in _WEAK),
    )
