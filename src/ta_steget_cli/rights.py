"""Who is signed in, and what they may do: checked once, before the first change.

A command that writes or deletes asks here first, so that a person without the right hears it
in one line before anything is sent, instead of one 403 per person. Deleting persons (the purge
and its undo) is for an administrator of the tenant (SuperOffice's "admin-all" functional
right, or `is_administrator` in a personal login's id_token), or for a user whose role is named
in `[purge] roles`. Changing move status is for any internal user or the system user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import AuthError
from .i18n import _

ADMIN_RIGHT = "admin-all"  # SuperOffice's functional right of a general administrator
WRITING_USER_TYPES = ("InternalAssociate", "SystemAssociate")


@dataclass(frozen=True)
class Principal:
    """The signed-in user as SuperOffice describes it (currentPrincipal and Sentry)."""

    associate_id: int | None
    login: str
    full_name: str
    tenant: str
    user_type: str
    role: str | None
    function_rights: tuple[str, ...]
    is_administrator: bool

    def may_delete(self, roles: Iterable[str] = ()) -> bool:
        allowed = {r.casefold() for r in roles}
        return self.is_administrator or bool(self.role and self.role.casefold() in allowed)

    @property
    def may_write(self) -> bool:
        return self.user_type in WRITING_USER_TYPES


def require_delete(principal: Principal, roles: Iterable[str], command: str) -> None:
    """Refuses, before any change, a purge or undo by someone who may not delete persons."""
    if not principal.may_delete(roles):
        raise AuthError(
            _(
                "{command} needs an administrator of the tenant (or a role in [purge] roles);"
                " {who} is not one, so nothing was changed"
            ).format(command=command, who=_who(principal))
        )


def require_write(principal: Principal, command: str) -> None:
    """Refuses, before any change, a status change by a user who may not change persons."""
    if not principal.may_write:
        raise AuthError(
            _("{command} needs a user who may change persons; {who} may not").format(
                command=command, who=_who(principal)
            )
        )


def _who(principal: Principal) -> str:
    return principal.login or str(principal.associate_id)
