"""What people read, in their language: gettext over the `tasteget` catalogues.

Write every message a person reads in English inside `_()` (or `ngettext()` when it counts);
the English text is the message id and the Swedish catalogue
(`locale/sv/LC_MESSAGES/tasteget.po`, compiled to `tasteget.mo`) holds its translation. Text
that is defined before the language is known (a module-level table, a help text) is marked with
`N_()` and translated where it is shown, with `_(text)`.

The language is chosen once per run, before anything is printed: `--lang`, else `[ui] lang`,
else Swedish (`set_language`). English needs no catalogue: it is the message ids themselves.

Adding or changing a message: `python -m ta_steget_cli.i18n_tools update`, fill in the new
`msgstr` in the .po file, `python -m ta_steget_cli.i18n_tools compile` (see ARCHITECTURE.md).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path

DOMAIN = "tasteget"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"

_cache: dict[str, gettext.NullTranslations] = {}
_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"
_listeners: list[Callable[[], None]] = []


def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue for `lang` (English: the message ids as they are)."""
    if lang not in _cache:
        if lang == "en":
            _cache[lang] = gettext.NullTranslations()
        else:
            # No fallback: a missing compiled catalogue is a packaging fault, and the test suite
            # (tests/test_i18n.py) keeps the .mo in step with the .po.
            _cache[lang] = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])
    return _cache[lang]


def set_language(lang: str) -> None:
    """Make `lang` ("sv" or "en") the language of everything printed from now on."""
    global _current, _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    _current = translations(lang)
    _language = lang
    for listener in _listeners:
        listener()


def language() -> str:
    """The language chosen for this run ("sv" or "en")."""
    return _language


def on_language_change(listener: Callable[[], None]) -> None:
    """Call `listener` after every `set_language` (for texts a library computes once)."""
    _listeners.append(listener)


def _(message: str) -> str:
    """`message` (English) in the current language."""
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language (Swedish agrees too)."""
    return _current.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for the catalogue without translating it yet; translate where shown."""
    return message


set_language(DEFAULT_LANGUAGE)
