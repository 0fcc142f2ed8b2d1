"""The sandbox's answers checked against SuperOffice's own Swagger 2.0 definitions."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ta_steget_cli.sandbox import IN_PROCESS_BASE_URL, SandboxTenant, ids, transport

AUTH = {"Authorization": f"SOTicket {ids.TICKET}", "SO-AppToken": ids.APP_TOKEN}
NOW = datetime(2025, 9, 15, 10, 0, tzinfo=UTC)
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
INT32 = (-(2**31), 2**31 - 1)


def swagger_dir() -> Path | None:
    """shared/superoffice-openapi beside the repo, or under $TASTEGET_SHARED_DIR."""
    candidates = []
    if os.environ.get("TASTEGET_SHARED_DIR"):
        candidates.append(Path(os.environ["TASTEGET_SHARED_DIR"]) / "superoffice-openapi")
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "superoffice-openapi")
    return next((c for c in candidates if (c / "Swagger-v1-Person.json").is_file()), None)


SWAGGER = swagger_dir()
pytestmark = pytest.mark.skipif(
    SWAGGER is None,
    reason="SuperOffice's Swagger files not found: set TASTEGET_SHARED_DIR to the shared folder",
)


def definitions(name: str) -> dict[str, Any]:
    assert SWAGGER is not None
    return json.loads((SWAGGER / name).read_text(encoding="utf-8"))["definitions"]


def check(value: Any, schema: dict[str, Any], defs: dict[str, Any], where: str = "$") -> None:
    """The subset of Swagger 2.0 the answers need: $ref, type, properties, items, formats.

    null is accepted anywhere (SuperOffice sends null for absent objects and nextLink);
    properties the schema does not name are refused, so the sandbox cannot drift into fields
    SuperOffice does not have.
    """
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    if value is None:
        return
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        assert isinstance(value, dict), f"{where}: expected an object, found {value!r}"
        known = schema.get("properties")
        if known is None:
            return  # free-form object (CustomFields, ExtraFields, FieldProperties)
        for key, item in value.items():
            assert key in known, f"{where}: '{key}' is not in the schema"
            check(item, known[key], defs, f"{where}.{key}")
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected an array, found {value!r}"
        for number, item in enumerate(value):
            check(item, schema.get("items", {}), defs, f"{where}[{number}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: expected a string, found {value!r}"
        if schema.get("format") == "date-time":
            assert DATE_TIME.match(value), f"{where}: not a date-time: {value!r}"
        if "enum" in schema:
            assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
        if schema.get("format") == "int32":
            assert INT32[0] <= value <= INT32[1], f"{where}: {value} is not int32"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: expected a boolean, found {value!r}"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), where


def test_the_checker_catches_mistakes() -> None:
    defs = definitions("Swagger-v1-Person.json")
    ref = {"$ref": "#/definitions/SuperOffice.CRM.Services.ConsentInfo"}
    check({"ConsentPersonId": 1, "Registered": "2025-01-01T00:00:00"}, ref, defs)
    for wrong in ({"ConsentPersonId": "1"}, {"Registered": "yesterday"}, {"Nope": 1}):
        with pytest.raises(AssertionError):
            check(wrong, ref, defs)


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    tenant = SandboxTenant(persons=250, seed=2, today=NOW.date(), clock=lambda: NOW)
    base = f"{IN_PROCESS_BASE_URL}/{ids.CONTEXT_IDENTIFIER}/api"
    with httpx.Client(transport=transport(tenant), base_url=base, headers=AUTH) as client:
        yield client


def test_person_entities_match_person_entity(api: httpx.Client) -> None:
    defs = definitions("Swagger-v1-Person.json")
    schema = {"$ref": "#/definitions/SuperOffice.CRM.Services.PersonEntity"}
    page = api.get("/v1/Archive/Person", params={"$select": "personId", "$top": "40"}).json()
    consents = 0
    for row in page["value"]:
        entity = api.get(f"/v1/Person/{row['personId']}").json()
        check(entity, schema, defs, f"Person {row['personId']}")
        consents += len(entity["Consents"])
    assert consents > 40  # STORE for everyone, EMARKETING for some


def test_archive_answers_match_odata_slim_response(api: httpx.Client) -> None:
    defs = definitions("Swagger-v1-Archive.json")
    schema = {"$ref": "#/definitions/SuperOffice.Services.WebApi.OData.ODataSlimResponse"}
    for provider, select in (
        ("Person", "personId,fullName,personRegisteredDate,personAssociateId,hasEmarketingConsent"),
        ("PersonActivity", "personId,person/personId,date,registeredBy,completed"),
    ):
        answer = api.get(f"/v1/Archive/{provider}", params={"$select": select, "$top": "50"}).json()
        check(answer, schema, defs, provider)
        assert all(isinstance(r["PrimaryKey"], str) for r in answer["value"])
        for row in answer["value"]:
            for column in select.split(","):
                if "Date" in column or column == "date":
                    assert DATE_TIME.match(row[column]) and not row[column].endswith("Z")


def test_reference_lists_match_their_schemas(api: httpx.Client) -> None:
    mdo = definitions("Swagger-v1-MDOList.json")
    item = {"$ref": "#/definitions/SuperOffice.CRM.Services.MDOListItem"}
    check(api.get("/v1/MDOList/persint").json(), {"type": "array", "items": item}, mdo)
    person = definitions("Swagger-v1-Person.json")
    udef = {"$ref": "#/definitions/SuperOffice.CRM.Services.UserDefinedFieldInfo"}
    layout = api.get("/v1/Person/UdefLayout/Published").json()
    check(layout, {"type": "array", "items": udef}, person)
    assert {f["ProgId"]: f["FieldType"] for f in layout}[ids.MOVE_DATE_FIELD] == "Date"
