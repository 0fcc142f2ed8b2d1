"""The client's calls for tenants that differ: archive POST that may be missing (then GET
pieces), single archive answers for `doctor --probe`, and person writes by PATCH or by GET+PUT."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..config import SuperOfficeSettings
from ..errors import ApiError
from ..i18n import _
from .archive import PostRefused, archive_params
from .requests import ApiRequest, rows_body, unmodified_since

logger = logging.getLogger("ta_steget_cli.superoffice")
# Keys of CustomFields that describe a value and are never sent back.
_DESCRIBING = (":org", ":DisplayText", ":DisplayTooltip")


class ClientExtras:
    """Mixed into SuperOfficeClient, which provides the sending."""

    settings: SuperOfficeSettings
    _archive_post: bool

    def _call(self, request: ApiRequest) -> Any:
        raise NotImplementedError

    def _archive(
        self, provider: str, params: dict[str, str], url: str | None = None
    ) -> dict[str, Any]:
        raise NotImplementedError

    def patch_person(self, person_id: int, operations: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def _post_archive(self, provider: str, params: dict[str, str]) -> Any:
        """A long query as a form-encoded POST; a tenant without it (older NetServers answer
        404/405) is remembered, and the paginator asks again in GET-sized pieces."""
        shown = f"/v1/Archive/{provider}"
        refused = PostRefused(
            f"the query to {shown} is longer than a URL may be, and this SuperOffice has no "
            "archive POST",
            method="POST",
            path=shown,
        )
        if not self._archive_post:
            raise refused
        try:
            return self._call(ApiRequest("POST", shown, f"archive:{provider}", data=params))
        except ApiError as exc:
            if exc.status not in (404, 405):
                raise
            self._archive_post = False
            logger.warning(
                "SuperOffice has no archive POST (%s): long id lists go as several GET requests",
                exc.status,
            )
            raise refused from None

    def archive_rows(
        self,
        provider: str,
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        top: int,
        order_by: str | None = None,
        post: bool = False,
    ) -> list[dict[str, Any]]:
        """One archive answer as it comes (no paging): `doctor --probe`'s samples."""
        extra = {"$top": str(top), **({"$orderBy": order_by} if order_by else {})}
        params = archive_params(select, filter, entities, **extra)
        shown = f"/v1/Archive/{provider}"
        if post:
            body = self._call(ApiRequest("POST", shown, f"archive:{provider}", data=params))
            return list(rows_body(body, shown)["value"])
        return list(self._archive(provider, params)["value"])

    def put_person(
        self, person_id: int, entity: dict[str, Any], *, if_unmodified_since: datetime | None
    ) -> dict[str, Any]:
        """Writes the whole entity back (tenants without PATCH); Conflict (412) when the
        person changed since `if_unmodified_since`."""
        shown = f"/v1/Person/{int(person_id)}"
        headers = unmodified_since(if_unmodified_since)
        body = self._call(ApiRequest("PUT", shown, "person:put", json_body=entity, headers=headers))
        if not isinstance(body, dict):
            raise ApiError(_("SuperOffice's answer to {call} is not an object").format(call=shown))
        return body

    def write_custom_fields(
        self, person_id: int, entity: dict[str, Any], fields: dict[str, str]
    ) -> dict[str, Any]:
        """Changes only `fields` of a person read as `entity`, never over someone else's change:
        a PATCH with a `test` on UpdatedDate, or, with `person_update = "put"`, the entity as
        read with the fields changed, PUT back under If-Unmodified-Since. Conflict either way
        when the person changed since it was read."""
        if self.settings.person_update == "put":
            from .values import parse_datetime

            changed = dict(entity)
            kept = {
                k: v
                for k, v in (entity.get("CustomFields") or {}).items()
                if not k.endswith(_DESCRIBING)
            }
            changed["CustomFields"] = {**kept, **fields}
            since = parse_datetime(entity.get("UpdatedDate"))
            return self.put_person(person_id, changed, if_unmodified_since=since)
        operations: list[dict[str, Any]] = [
            # The value exactly as read: SuperOffice compares it with what it holds now.
            {"op": "test", "path": "UpdatedDate", "value": entity.get("UpdatedDate")},
            {"op": "replace", "path": "CustomFields", "value": fields},
        ]
        return self.patch_person(person_id, operations)
