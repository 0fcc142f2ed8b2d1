"""The tool's own terms, each worded once (in English; translated where shown)."""

from __future__ import annotations

from .i18n import _


def region_name() -> str:
    """The list of persons who chose no municipality: a heading, a mail, a table cell."""
    return _("The region (no municipality chosen)")
