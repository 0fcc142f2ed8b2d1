"""The built-in sandbox tenant: a SuperOffice-compatible API (the contract, no more) with
deterministic made-up Swedish data, in-process (`transport`) or on loopback (`SandboxServer`).
"""

from __future__ import annotations

from . import ids
from .auth import TICKET_CLAIM, sign_system_token
from .faults import Faults
from .ids import *  # noqa: F403 - the sandbox's fixed ids are part of its public face
from .server import IN_PROCESS_BASE_URL, SandboxServer, api_url, serve_forever, transport
from .store import TenantStore
from .tenant import SandboxTenant

__all__ = [  # noqa: RUF022 - grouped by purpose
    "SandboxTenant",
    "TenantStore",
    "SandboxServer",
    "transport",
    "serve_forever",
    "Faults",
    "IN_PROCESS_BASE_URL",
    "api_url",
    "sign_system_token",
    "TICKET_CLAIM",
    "ids",
]
