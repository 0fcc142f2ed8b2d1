"""An example for each command, shown at the end of its help. The command lines read the same in
every language; only the heading is translated (by `localize`)."""

from __future__ import annotations

# Command path (without "tasteget") -> example command lines. tests/test_i18n.py fails for a
# command without one, and for an example that does not parse.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": ("tasteget --sandbox overdue --kommun Krokom",),
    "doctor": ("tasteget doctor",),
    "login": ("tasteget login --tenant Cust12345",),
    "logout": ("tasteget logout",),
    "whoami": ("tasteget whoami",),
    "secrets": ("tasteget secrets set smtp_password",),
    "secrets list": ("tasteget secrets list",),
    "secrets set": ("tasteget secrets set smtp_password",),
    "secrets unset": ("tasteget secrets unset smtp_password",),
    "overdue": ("tasteget overdue --kommun Krokom", "tasteget overdue --all -o forsenade.xlsx"),
    "notify": ("tasteget notify --dry-run --only Krokom",),
    "purge": (
        "tasteget purge --dry-run --plan-out gallring.json",
        "tasteget purge --plan gallring.json",
    ),
    "report": ("tasteget report --quarter 2025Q3 -o rapport.html",),
    "sandbox": ("tasteget sandbox serve --write-config sandbox.toml",),
    "sandbox reset": ("tasteget sandbox reset",),
    "sandbox respond": ("tasteget sandbox respond 1234 --kind chat",),
    "sandbox serve": ("tasteget sandbox serve --port 8765 --write-config sandbox.toml",),
    "status": ("tasteget status list --kommun Åre",),
    "status list": ("tasteget status list --kommun Åre --status moved",),
    "status set": ("tasteget status set 1234 moved --moved-to Krokom --date 2026-03-01",),
    "status import": ("tasteget status import flyttstatus.csv --dry-run",),
    "status review": ("tasteget status review --kommun Berg",),
}


def examples_of(path: str) -> tuple[str, ...]:
    """The examples of the command at `path` ("tasteget status set"), if it has any."""
    return EXAMPLES.get(path.removeprefix("tasteget").strip(), ())
