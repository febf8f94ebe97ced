"""Korean command names and descriptions from the catalogs, through discord.py's translator."""

from __future__ import annotations

from discord import Locale, app_commands

from i18n import catalog, t

LOCALES = {Locale.korean: "ko"}


def L(key: str) -> app_commands.locale_str:
    """A command string: English from the catalog, with its key for the translator."""
    return app_commands.locale_str(t("en", key), key=key)


class CatalogTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = LOCALES.get(locale)
        key = string.extras.get("key")
        if language is None or not key:
            return None
        return catalog(language).get(key)
