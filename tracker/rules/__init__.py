"""Rule sets by name.

A rule set is one module in this package that decorates its class with
``@register``; every module here is imported on first lookup, so adding a rule
set is adding its module and its words, nothing else. It declares its kind, its
stages and their tones, its facts for the status (``status_lines``) and its
deadlines (``assess``); its words live in the catalogs under ``rules.<name>``
(i18n/*.toml, or ``i18n.add_entries`` for one kept elsewhere, as the test suite's
own in tests/petition_rules.py). Everything else asks the rule set.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from tracker.rules.base import RuleParams, RuleSet

_REGISTRY: dict[str, type[RuleSet[Any, Any]]] = {}
_loaded = False


def register(cls: type[RuleSet[Any, Any]]) -> type[RuleSet[Any, Any]]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"rule set {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True


def rule_set_names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_rule_set(name: str) -> type[RuleSet[Any, Any]]:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown rule set {name!r} (known: {known})") from None


__all__ = ["RuleParams", "RuleSet", "get_rule_set", "register", "rule_set_names"]
