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


# Entries added from outside this package (add_entries), by language.
_ADDED: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}


@cache
def catalog(language: str) -> dict[str, str]:
    with (_DIR / f"{language}.toml").open("rb") as fh:
        return _flatten(tomllib.load(fh)) | _ADDED.get(language, {})


def add_entries(language: str, table: Mapping[str, Any]) -> None:
    """Add words that live outside these files, such as a rule set shipped on its own.

    ``table`` nests as the TOML files do ({"rules": {"my-rules": {...}}}). A key the
    catalog already has with other words is refused: nothing here replaces a text.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    flat = _flatten(table)
    current = catalog(language)
    clashes = sorted(k for k, v in flat.items() if k in current and current[k] != v)
    if clashes:
        raise ValueError(f"catalog {language}: already has other words for {clashes}")
    _ADDED[language].update(flat)
    catalog.cache_clear()


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
