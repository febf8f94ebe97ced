"""Message catalogs (SPEC §7): every text the bot writes, in English and Korean.

Catalogs are TOML files beside this module, one per language, with the same
keys and the same placeholders (a test holds them to it). Code asks for a key;
it never carries the words itself.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "ko")
DEFAULT = "en"
_DIR = Path(__file__).parent


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


@cache
def catalog(language: str) -> dict[str, str]:
    with (_DIR / f"{language}.toml").open("rb") as fh:
        return _flatten(tomllib.load(fh))


def language_for(setting: str | None, locale: str | None) -> str:
    """The guild's /setup language, else its preferred locale, else English."""
    if setting in LANGUAGES:
        return setting
    if locale and locale.split("-")[0].lower() in LANGUAGES:
        return locale.split("-")[0].lower()
    return DEFAULT


def t(language: str, key: str, /, **values: object) -> str:
    """The text for ``key`` in ``language`` (English where a language lacks it)."""
    text = catalog(language if language in LANGUAGES else DEFAULT).get(key)
    if text is None:
        text = catalog(DEFAULT)[key]
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in catalog(DEFAULT)
