"""The `tasteget` command line: global options, the shared runtime, and the one place where
typed errors become one clear line and the spec's exit code."""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]
