"""Rules the OpenAPI spec does not express, checked explicitly.

Each function returns short rule descriptions (empty when the body is fine);
the caller prefixes the request. `message_limits`, `command_definition` and
`autocomplete_choices` are Discord's own limits (Discord answers 400);
`mentions_disabled` is this project's policy: the bot never pings.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from typing import Any

from motionwatch_standin.payload import JSON, as_snowflake

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_FIELDS_MAX = 25
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
NAME_MAX = 32
DESCRIPTION_MAX = 100
CHOICES_MAX = 25
OPTIONS_MAX = 25

CHAT_INPUT = 1
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


EMBED_URL_MAX = 2048
_URL_SCHEMES = ("http://", "https://", "attachment://")


def embed_url_problem(link: object) -> str | None:
    """Discord answers 400 for an embed URL that is not a short, well-formed link."""
    if not isinstance(link, str):
        return "not a string"
    if len(link) > EMBED_URL_MAX:
        return f"{len(link)} characters (max {EMBED_URL_MAX})"
    if not link.startswith(_URL_SCHEMES) or any(c.isspace() or ord(c) < 32 for c in link):
        return f"not a valid URL: {link[:80]!r}"
    return None


def message_limits(body: JSON) -> list[str]:
    """Content length and embed limits of a message body."""
    problems: list[str] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        problems.append(f"content: {len(content)} characters (max {CONTENT_MAX})")
    embeds = body.get("embeds") or []
    if not isinstance(embeds, list):
        return problems
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"embeds: {len(embeds)} embeds (max {EMBEDS_MAX})")
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        where = f"embeds[{index}]"
        for key, limit in EMBED_LIMITS.items():
            text = _text(embed.get(key))
            total += len(text)
            if len(text) > limit:
                problems.append(f"{where}.{key}: {len(text)} characters (max {limit})")
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append(f"{where}.fields: {len(fields)} fields (max {EMBED_FIELDS_MAX})")
        for number, item in enumerate(fields):
            for key, limit in FIELD_LIMITS.items():
                text = _text(item.get(key)) if isinstance(item, dict) else ""
                total += len(text)
                if len(text) > limit:
                    problems.append(
                        f"{where}.fields[{number}].{key}: {len(text)} characters (max {limit})"
                    )
        for key in ("url", "image", "thumbnail", "author"):
            value = embed.get(key)
            link = value.get("url") if isinstance(value, dict) else value
            if link is not None and (problem := embed_url_problem(link)):
                problems.append(f"{where}.{key}{'' if key == 'url' else '.url'}: {problem}")
        footer = _text((embed.get("footer") or {}).get("text"))
        author = _text((embed.get("author") or {}).get("name"))
        total += len(footer) + len(author)
        if len(footer) > 2048:
            problems.append(f"{where}.footer.text: {len(footer)} characters (max 2048)")
        if len(author) > 256:
            problems.append(f"{where}.author.name: {len(author)} characters (max 256)")
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds: {total} characters in all (max {EMBED_TOTAL_MAX})")
    return problems


def mentions_disabled(body: JSON, allowed_roles: Collection[int]) -> list[str]:
    """The bot must not ping: allowed_mentions present, nothing parsed, no users."""
    mentions = body.get("allowed_mentions")
    if not isinstance(mentions, dict):
        return ["allowed_mentions: missing (mentions must be disabled explicitly)"]
    problems: list[str] = []
    if mentions.get("parse"):
        problems.append(f"allowed_mentions.parse: {mentions['parse']!r} (must be empty)")
    if mentions.get("users"):
        problems.append(f"allowed_mentions.users: {mentions['users']!r} (must be empty)")
    for role in mentions.get("roles") or []:
        if as_snowflake(role) not in allowed_roles:
            problems.append(f"allowed_mentions.roles: role {role} is not allowed to be pinged")
    if mentions.get("replied_user"):
        problems.append("allowed_mentions.replied_user: true (must be false or absent)")
    return problems


def valid_name(name: str) -> bool:
    """`^[-_\\p{L}\\p{N}]{1,32}$`, written out because `re` has no \\p{...}."""
    if not 1 <= len(name) <= NAME_MAX:
        return False
    return all(c in "-_" or unicodedata.category(c)[0] in "LN" for c in name)


def _name_problems(where: str, name: Any, localizations: Any) -> list[str]:
    problems: list[str] = []
    names = [("name", name)] + [
        (f"name_localizations[{locale}]", value) for locale, value in (localizations or {}).items()
    ]
    for label, value in names:
        text = _text(value)
        if not valid_name(text):
            problems.append(
                f"{where}.{label}: {text!r} does not match ^[-_\\p{{L}}\\p{{N}}]{{1,32}}$"
            )
        elif text != text.lower():
            problems.append(f"{where}.{label}: {text!r} must be lower case")
    return problems


def _description_problems(where: str, description: Any, localizations: Any) -> list[str]:
    problems: list[str] = []
    texts = [("description", description)] + [
        (f"description_localizations[{locale}]", value)
        for locale, value in (localizations or {}).items()
    ]
    for label, value in texts:
        text = _text(value)
        if not 1 <= len(text) <= DESCRIPTION_MAX:
            problems.append(f"{where}.{label}: {len(text)} characters (must be 1-100)")
    return problems


def command_definition(command: JSON, where: str = "command") -> list[str]:
    """Names, descriptions and option structure of one application command."""
    if command.get("type", CHAT_INPUT) != CHAT_INPUT:
        # Context-menu names may have spaces and capitals; they have no description.
        return []
    where = f"{where} {command.get('name')!r}"
    problems = _name_problems(where, command.get("name"), command.get("name_localizations"))
    problems += _description_problems(
        where, command.get("description"), command.get("description_localizations")
    )
    problems += _options(where, command.get("options") or [])
    return problems


def _options(where: str, options: list[Any]) -> list[str]:
    problems: list[str] = []
    if len(options) > OPTIONS_MAX:
        problems.append(f"{where}.options: {len(options)} options (max {OPTIONS_MAX})")
    seen: set[str] = set()
    optional_seen = False
    for option in options:
        if not isinstance(option, dict):
            continue
        name = _text(option.get("name"))
        here = f"{where}.{name or '?'}"
        if name in seen:
            problems.append(f"{here}: duplicate option name")
        seen.add(name)
        problems += _name_problems(here, option.get("name"), option.get("name_localizations"))
        problems += _description_problems(
            here, option.get("description"), option.get("description_localizations")
        )
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            problems += _options(here, option.get("options") or [])
            continue
        if option.get("required"):
            if optional_seen:
                problems.append(f"{here}: required option after an optional one")
        else:
            optional_seen = True
        choices = option.get("choices") or []
        if len(choices) > CHOICES_MAX:
            problems.append(f"{here}.choices: {len(choices)} choices (max {CHOICES_MAX})")
        if choices and option.get("autocomplete"):
            problems.append(f"{here}: choices and autocomplete are mutually exclusive")
        problems += choice_problems(f"{here}.choices", choices)
    return problems


def choice_problems(where: str, choices: list[Any]) -> list[str]:
    problems: list[str] = []
    for index, choice in enumerate(choices):
        if not isinstance(choice, dict):
            problems.append(f"{where}[{index}]: not an object")
            continue
        name = _text(choice.get("name"))
        if not 1 <= len(name) <= DESCRIPTION_MAX:
            problems.append(f"{where}[{index}].name: {len(name)} characters (must be 1-100)")
        value = choice.get("value")
        if isinstance(value, str) and len(value) > DESCRIPTION_MAX:
            problems.append(f"{where}[{index}].value: {len(value)} characters (max 100)")
    return problems


def autocomplete_choices(data: Any) -> list[str]:
    """The body of an autocomplete result (callback type 8)."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return ["data.choices: missing"]
    choices = data["choices"]
    problems = []
    if len(choices) > CHOICES_MAX:
        problems.append(f"data.choices: {len(choices)} choices (max {CHOICES_MAX})")
    return problems + choice_problems("data.choices", choices)
