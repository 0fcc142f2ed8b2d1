"""Keeps the message catalogues in step with the code (development only; needs Babel).

    python -m ta_steget_cli.i18n_tools update    # extract, merge into sv .po, compile
    python -m ta_steget_cli.i18n_tools compile   # .po -> .mo (after editing or a merge)
    python -m ta_steget_cli.i18n_tools check     # list messages without a Swedish text

Messages are every `_()`, `ngettext()` and `N_()` literal in the package (Babel's extractor),
plus every help text of the command tree (docstrings and `help=`), read from the built CLI so
that nothing written as a plain `help=` string can be missed.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .i18n import DOMAIN, LOCALE_DIR

PACKAGE_DIR = Path(__file__).parent
LOCALES = ("sv",)
# A fixed date in the header: a date that moves with every update would be a merge conflict
# between any two helpers who add messages.
CREATION_DATE = datetime(2026, 12, 1, tzinfo=UTC)
Message = str | tuple[str, str]


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def source_messages() -> dict[Message, str]:
    """Every message of the code -> where it was first seen."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    found: dict[Message, str] = {}
    # nforms(singular, plural): mail_body's (one, several) pair in the mail's own language.
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "nforms": (1, 2)}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE_DIR), method_map=[("**.py", "python")], keywords=keywords
    ):
        key = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, f"{filename}:{lineno}")
    for text, where in help_texts():
        found.setdefault(text, where)
    return found


def help_texts() -> Iterator[tuple[str, str]]:
    """Each help text of the command tree with the command it belongs to."""
    import typer.main

    from .cli import app
    from .cli.localize import texts_of

    yield from texts_of(typer.main.get_command(app))


def read_catalogue(lang: str) -> Any:
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def write_catalogue(lang: str, catalogue: Any) -> None:
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    # Sorted, without source locations: helpers who add messages at the same time then touch
    # different lines of the .po, and moving code does not rewrite the file.
    write_po(buffer, catalogue, width=100, no_location=True, sort_output=True, omit_header=False)
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def compiled(lang: str) -> bytes:
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(lang), use_fuzzy=False)
    return buffer.getvalue()


def update() -> None:
    from babel.messages.catalog import Catalog

    template = Catalog(domain=DOMAIN, project="tasteget", creation_date=CREATION_DATE)
    for message, where in source_messages().items():
        template.add(message, locations=[(where.rsplit(":", 1)[0], 0)])
    for lang in LOCALES:
        catalogue = (
            read_catalogue(lang)
            if po_path(lang).exists()
            else Catalog(locale=lang, domain=DOMAIN, project="tasteget")
        )
        catalogue.update(template, no_fuzzy_matching=True)
        catalogue.obsolete.clear()  # a reworded message is a new message; git keeps the old
        catalogue.fuzzy = False
        catalogue.revision_date = CREATION_DATE
        catalogue.last_translator = "tasteget <noreply@example.invalid>"
        catalogue.language_team = "Svenska"
        catalogue.version = "1"
        write_catalogue(lang, catalogue)
    compile_all()


def compile_all() -> None:
    for lang in LOCALES:
        mo_path(lang).write_bytes(compiled(lang))


def untranslated(lang: str) -> list[str]:
    """The code's messages with no (or an empty, or a fuzzy) translation in `lang`."""
    catalogue = read_catalogue(lang)
    missing: list[str] = []
    for message, where in source_messages().items():
        entry = catalogue.get(message if isinstance(message, str) else message[0])
        strings = [] if entry is None else entry.string
        texts = list(strings) if isinstance(strings, tuple | list) else [strings]
        if entry is None or entry.fuzzy or not texts or not all(t.strip() for t in texts):
            shown = message if isinstance(message, str) else message[0]
            missing.append(f"{where}: {shown!r}")
    return missing


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command != "check":
        print(__doc__, file=sys.stderr)
        return 2
    missing = [m for lang in LOCALES for m in untranslated(lang)]
    for line in missing:
        print(f"no Swedish text: {line}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
