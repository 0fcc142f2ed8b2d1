"""`tasteget doctor`: checks that the config, the connection, the credentials and every
configured id (interests, UDEF ProgIds, list items) hold in the tenant."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .config import Config
from .errors import TastegetError
from .i18n import _
from .rights import Principal


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    exit_code: int = 0  # of the error behind a failed check: 2 config, 4 credentials, else 1
    warning: bool = False  # ok, but worth fixing: printed as "warn", does not fail doctor


class DoctorSource(Protocol):
    def tenant_state(self) -> Any: ...
    def principal(self) -> Principal: ...
    def mdo_list(self, name: str) -> list[dict[str, Any]]: ...
    def udef_layout(self) -> list[dict[str, Any]]: ...
    def list_items(self, list_id: int) -> list[dict[str, Any]]: ...
    @property
    def api_url(self) -> str: ...


def _attempt(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except TastegetError as exc:
        return Check(name, False, str(exc), exc.exit_code)


def _live_ids(items: list[dict[str, Any]]) -> dict[int, str]:
    """Live list items by id. A list with headings nests its items in the headings'
    `ChildItems`; a heading is not an item itself."""
    out: dict[int, str] = {}
    for item in items:
        children = item.get("ChildItems") or []
        if children:
            out.update(_live_ids(children))
        elif not item.get("Deleted"):
            out[int(item["Id"])] = str(item.get("Name", ""))
    return out


def connection_checks(source: DoctorSource, roles: tuple[str, ...] = ()) -> Iterator[Check]:
    def state() -> str:
        found = source.tenant_state()
        if found is None:
            return _("api_url {url} (configured directly)").format(url=source.api_url)
        return _("{context} is {state}, API at {api}").format(
            context=found.context, state=found.state, api=found.api
        )

    yield _attempt(_("tenant"), state)

    def principal() -> str:
        who = source.principal()
        yes, no = _("yes"), _("no")
        return _(
            "signed in as {login} (associate {id}); may change persons: {write};"
            " may delete persons (purge, undo): {delete}"
        ).format(
            login=who.login or who.full_name,
            id=who.associate_id,
            write=yes if who.may_write else no,
            delete=yes if who.may_delete(roles) else no,
        )

    yield _attempt(_("credentials"), principal)


def interest_checks(source: DoctorSource, config: Config) -> Iterator[Check]:
    try:
        interests = _live_ids(source.mdo_list("persint"))
    except TastegetError as exc:
        yield Check(_("interests"), False, str(exc))
        return
    interest = _("interest {name}")
    wanted = [(interest.format(name=name), item_id) for name, item_id in config.kommuner.items()]
    if config.purge.newsletter_interest:
        wanted.append((_("interest newsletter"), config.purge.newsletter_interest))
    for name, item_id in wanted:
        if item_id in interests:
            yield Check(name, True, f"persint {item_id} ({interests[item_id]})")
        else:
            missing = _("persint {id} does not exist or is deleted").format(id=item_id)
            yield Check(name, False, missing)


def udef_checks(source: DoctorSource, config: Config) -> Iterator[Check]:
    try:
        layout = {str(u.get("ProgId")): u for u in source.udef_layout()}
    except TastegetError as exc:
        yield Check(_("user-defined fields"), False, str(exc))
        return
    ms, pc = config.move_status, config.preferred_contact
    fields: list[tuple[str, str | None, dict[str, int]]] = [
        ("move_status.field", ms.field, dict(ms.values)),
        ("move_status.moved_to_field", ms.moved_to_field, dict(ms.moved_to_values)),
        ("move_status.move_date_field", ms.move_date_field, {}),
        ("preferred_contact.field", pc.field, dict(pc.values)),
    ]
    for key, prog_id, values in fields:
        if not prog_id:
            continue
        udef = layout.get(prog_id)
        if udef is None:
            absent = _("no published person field with ProgId {prog_id}").format(prog_id=prog_id)
            yield Check(key, False, absent)
            continue
        yield Check(key, True, f"{prog_id} ({udef.get('FieldLabel', '')})")
        yield from list_item_checks(source, key, udef, values)


def list_item_checks(
    source: DoctorSource, key: str, udef: dict[str, Any], values: dict[str, int]
) -> Iterator[Check]:
    if not values:
        return
    list_id = int(udef.get("UDListDefinitionId") or 0)
    if not list_id:
        no_list = _("{prog_id} is not a list field").format(prog_id=udef.get("ProgId"))
        yield Check(key, False, no_list)
        return
    try:
        items = _live_ids(source.list_items(list_id))
    except TastegetError as exc:
        yield Check(_("{key} items").format(key=key), False, str(exc))
        return
    for name, item_id in values.items():
        if item_id in items:
            found = _("list item {id} ({name})").format(id=item_id, name=items[item_id])
            yield Check(f"{key} {name}", True, found)
        else:
            absent = _("list item {id} is not in list {list}").format(id=item_id, list=list_id)
            yield Check(f"{key} {name}", False, absent)


def run_checks(source: DoctorSource, config: Config) -> list[Check]:
    """Every check, in order; stops after the connection checks if they fail."""
    checks = list(connection_checks(source, config.purge.roles))
    if not all(c.ok for c in checks):
        return checks
    checks += interest_checks(source, config)
    checks += udef_checks(source, config)
    return checks


def exit_code(checks: list[Check]) -> int:
    """0 when all pass; else credentials (4) before config (2) before anything else (1)."""
    codes = {c.exit_code or 1 for c in checks if not c.ok}
    for code in (4, 2, 1):
        if code in codes:
            return code
    return 0
