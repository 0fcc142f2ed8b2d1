"""Shell completion of values (`tasteget --install-completion`): municipality and status names."""

from __future__ import annotations

from typing import Any

import typer

from .. import KOMMUNER
from ..errors import TastegetError
from .runtime import Runtime

REGION = "region"


def complete_kommun(incomplete: str) -> list[str]:
    """Municipality names that start with what was typed (any case)."""
    typed = incomplete.casefold()
    return [k for k in KOMMUNER if k.casefold().startswith(typed)]


def complete_kommun_or_region(incomplete: str) -> list[str]:
    region = [REGION] if REGION.startswith(incomplete.casefold()) else []
    return [*complete_kommun(incomplete), *region]


def complete_status(ctx: typer.Context, incomplete: str) -> list[str]:
    """The status keys of the config the command line names ([move_status.values])."""
    root: Any = ctx.find_root()
    runtime = Runtime(
        config_path=root.params.get("config"), sandbox=bool(root.params.get("sandbox"))
    )
    try:
        keys = list(runtime.config.move_status.values)
    except TastegetError:
        return []  # no readable config: nothing to offer, and no error in the middle of a line
    return [k for k in keys if k.startswith(incomplete)]
