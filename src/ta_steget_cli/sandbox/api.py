"""The one request handler behind both the in-process transport and the HTTP server.

`handle(tenant, request)` turns a plain `Request` into a plain `Response`; the `action` of a
response tells the carrier to misbehave on purpose (drop the connection, time out).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from . import ids
from .auth import basic_credentials, check_signed_token, jwks, make_jwt
from .entity import (
    UDEFS,
    PatchError,
    apply_patch,
    current_principal,
    list_items,
    mdo_persint,
    person_entity,
    udef_layout,
)
from .faults import Fault
from .oidc import LoginUser
from .oidc import route as oidc_route
from .query import PROVIDERS, Query, QueryError, build_query
from .realism import localized, request_language
from .records import Person
from .tenant import SandboxTenant
from .variants import columns_for, fraction_ticks

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
API_PREFIX = f"/{ids.CONTEXT_IDENTIFIER}/api".lower()
ARCHIVE_PARAMS = ("$select", "$filter", "$orderBy", "$top", "$skip", "$entities")
# IIS refuses a query string longer than this (maxQueryString, 404.15) before NetServer sees it.
MAX_QUERY_STRING = 2048
UNAVAILABLE_HTML = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    b"<body><h1>SuperOffice is down for maintenance</h1></body></html>"
)


@dataclass
class Request:
    method: str
    path: str  # percent-encoded path, without the query
    query: str  # the raw query string
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host[:port] the client used


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str | None = None  # None | "drop" | "timeout" | "trickle"


def json_response(status: int, value: Any) -> Response:
    body = json.dumps(value, ensure_ascii=False).encode()
    return Response(status, body, {"Content-Type": JSON_TYPE})


def error(status: int, error_type: str, message: str, source: str) -> Response:
    body = {"Error": True, "ErrorType": error_type, "ErrorMessage": message, "ErrorSource": source}
    return json_response(status, body)


# ---------------------------------------------------------------- entry


def handle(tenant: SandboxTenant, request: Request) -> Response:
    with tenant.lock:
        tenant.arrivals.append(time.monotonic())
        tenant.busy += 1
        tenant.most_busy = max(tenant.most_busy, tenant.busy)
    try:
        return _handle(tenant, request)
    finally:
        with tenant.lock:
            tenant.busy -= 1


def _handle(tenant: SandboxTenant, request: Request) -> Response:
    path = unquote(request.path)
    lowered = path.lower()
    is_api = lowered.startswith(API_PREFIX + "/")
    is_archive = is_api and lowered.startswith(API_PREFIX + "/v1/archive/")
    with tenant.lock:
        fault = tenant.faults.take(
            path, is_api=is_api, is_archive=is_archive, method=request.method
        )
    # An answer takes the answer time it was given, this tenant's own work included: a real
    # tenant's 300 ms hold its database work, and a scan of 50,000 persons here (tens of ms,
    # one at a time under the lock) must not make answers slower the more are asked at once.
    began = time.monotonic()
    delay = tenant.answer_delay() if is_api else 0.0
    if fault is not None and fault.kind in ("status", "drop"):
        response = _fault_response(fault, request)
    else:
        with tenant.lock:
            response = _route(tenant, request, path, lowered, is_api)
            if fault is not None:
                response = _spoil(tenant, fault, response, request)
            if is_archive and response.status == 200:
                tenant.last_archive_answer = response.body
    left = delay - (time.monotonic() - began)
    if left > 0:
        time.sleep(left)
    with tenant.lock:
        status = 0 if response.action == "drop" else response.status
        tenant.requests.append((request.method, path, status))
    return response


def _fault_response(fault: Fault, request: Request) -> Response:
    if fault.kind == "drop":
        return Response(0, action="drop")
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    if fault.body == "json":
        response = error(fault.status, "SoFaultException", "Injected fault", "sandbox")
    elif fault.body == "echo":
        # Real servers' error texts sometimes quote the request back, credentials included.
        quoted = ", ".join(
            f"{name}: {request.headers[name]}"
            for name in ("authorization", "so-apptoken")
            if name in request.headers
        )
        response = error(fault.status, "SoFaultException", f"Not accepted ({quoted})", "sandbox")
    elif fault.body == "html":
        response = Response(fault.status, UNAVAILABLE_HTML, {"Content-Type": HTML_TYPE})
    else:
        response = Response(fault.status)
    response.headers.update(headers)
    return response


def _spoil(tenant: SandboxTenant, fault: Fault, response: Response, request: Request) -> Response:
    """Faults that need the real answer first: it took effect, but the client gets it wrong."""
    if fault.kind == "timeout":
        response.action = "timeout"
    elif fault.kind == "committed_status":
        # The change is made; the answer that says so is lost and an error comes instead.
        response = _fault_response(replace(fault, kind="status"), request)
    elif fault.kind == "committed_drop":
        response = Response(0, action="drop")
    elif fault.kind == "trickle":
        response.action = "trickle"
    elif fault.kind == "truncated":
        response = Response(200, response.body[: len(response.body) // 2], response.headers)
    elif fault.kind == "repeat_page" and tenant.last_archive_answer is not None:
        response = Response(200, tenant.last_archive_answer, {"Content-Type": JSON_TYPE})
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


def _route(
    tenant: SandboxTenant, request: Request, path: str, lowered: str, is_api: bool
) -> Response:
    if is_api:
        return _api(tenant, request, path[len(API_PREFIX) :])
    answer = oidc_route(tenant, request, lowered)
    if answer is not None:
        status, body, content_type = answer
        return Response(status, body, {"Content-Type": content_type})
    if lowered == f"/api/state/{ids.CONTEXT_IDENTIFIER.lower()}" and request.method == "GET":
        return _state(tenant, request)
    if lowered == "/login/api/partnersystemuser/authenticate" and request.method == "POST":
        return _authenticate(tenant, request)
    if lowered == "/login/.well-known/jwks" and request.method == "GET":
        return json_response(200, jwks(tenant.keys.jwt))
    return Response(404, b"", {"Content-Type": HTML_TYPE})


# ---------------------------------------------------------------- state and login


def _state(tenant: SandboxTenant, request: Request) -> Response:
    valid_until = tenant.now() + timedelta(hours=1)
    return json_response(
        200,
        {
            "ContextIdentifier": ids.CONTEXT_IDENTIFIER,
            "State": tenant.state,
            "IsRunning": tenant.state == "Running",
            "ValidUntil": valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Api": f"{request.base_url}/{ids.CONTEXT_IDENTIFIER}/api",
        },
    )


def _authenticate(tenant: SandboxTenant, request: Request) -> Response:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return error(400, "ArgumentException", "The body is not JSON", "Authenticate")
    if not isinstance(body, dict):
        return error(400, "ArgumentException", "The body must be a JSON object", "Authenticate")
    problem = _login_problem(tenant, body)
    if problem:
        return json_response(200, {"IsSuccessful": False, "Token": None, "ErrorMessage": problem})
    tenant.authentications += 1
    token = make_jwt(tenant.keys.jwt, tenant.issue_ticket(), request.base_url, tenant.now())
    return json_response(200, {"IsSuccessful": True, "Token": token, "ErrorMessage": ""})


def _login_problem(tenant: SandboxTenant, body: dict[str, Any]) -> str | None:
    if body.get("ApplicationToken") != ids.APP_TOKEN:
        return "Unknown ApplicationToken"
    if body.get("ContextIdentifier") != ids.CONTEXT_IDENTIFIER:
        return "Unknown ContextIdentifier"
    if body.get("ReturnTokenType") not in ("JWT", None):
        return "ReturnTokenType must be JWT"
    signed = body.get("SignedSystemToken")
    if not isinstance(signed, str):
        return "SignedSystemToken is missing"
    return check_signed_token(signed, tenant.keys.app.public_key(), tenant.now())


def _authorized(tenant: SandboxTenant, headers: dict[str, str]) -> bool:
    value = headers.get("authorization", "")
    app_token = headers.get("so-apptoken") == ids.APP_TOKEN
    scheme, _, credential = value.partition(" ")
    if scheme == "SOTicket":
        return app_token and credential in tenant.valid_tickets
    if scheme == "Bearer":
        # A native app's user token needs no app token (contract, section 7).
        user_token = _login_user(tenant, headers) is not None
        return user_token or (app_token and credential == ids.ACCESS_TOKEN)
    return value == basic_credentials()


def _login_user(tenant: SandboxTenant, headers: dict[str, str]) -> LoginUser | None:
    """The person signed in through OpenID Connect, or None for the system user and tickets."""
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    if scheme != "Bearer":
        return None
    return tenant.oidc.user_of(credential, tenant.now().timestamp())


def _function_rights(user: LoginUser | None) -> list[str]:
    """A move guide may read and edit persons; deleting them is an administrator's right."""
    if user is None or user.is_administrator:
        return [ids.ADMIN_FUNCTION_RIGHT]
    return []


def _refused_delete(tenant: SandboxTenant, request: Request, source: str) -> Response | None:
    if ids.ADMIN_FUNCTION_RIGHT in _function_rights(_login_user(tenant, request.headers)):
        return None
    return error(403, "SoSecurityException", "The user has no right to delete persons", source)


# ---------------------------------------------------------------- API


def _api(tenant: SandboxTenant, request: Request, path: str) -> Response:
    if tenant.state not in ("Running", "OnlineMaintenance"):
        return Response(503, UNAVAILABLE_HTML, {"Content-Type": HTML_TYPE})
    if not _authorized(tenant, request.headers):
        return Response(401)
    parts = [p for p in path.split("/") if p]
    source = f"/api{path}"
    try:
        return _dispatch(tenant, request, parts, source)
    except QueryError as exc:
        return error(400, "ArgumentException", str(exc), source)
    except PatchError as exc:
        kind = "SoConcurrencyException" if exc.status == 409 else "ArgumentException"
        return error(exc.status, kind, str(exc), source)


def _dispatch(tenant: SandboxTenant, request: Request, parts: list[str], source: str) -> Response:
    key = [p.lower() for p in parts]
    method = request.method
    if len(key) == 3 and key[:2] == ["v1", "archive"] and method in ("GET", "POST"):
        return _archive(tenant, request, parts[2])
    language = request_language(request.headers)
    if key == ["v1", "person", "udeflayout", "published"] and method == "GET":
        return json_response(200, udef_layout())
    if (
        len(key) == 3
        and key[:2] == ["v1", "person"]
        and method in ("GET", "PATCH", "DELETE", "PUT")
    ):
        return _person(tenant, request, parts[2], source)
    if len(key) == 5 and key[:2] == ["v1", "person"] and key[3] == "consent" and method == "GET":
        return _consent(tenant, parts[2], parts[4], source)
    if key == ["v1", "agents", "person", "undelete"] and method == "POST":
        return _refused_delete(tenant, request, source) or _undelete(tenant, request, source)
    if key[:3] == ["v1", "agents", "sentry"] and len(key) == 4 and method == "POST":
        return _sentry(tenant, request, key[3], source)
    if key == ["v1", "mdolist", "persint"] and method == "GET":
        return json_response(200, mdo_persint(tenant.realism, language))
    if len(key) == 4 and key[:2] == ["v1", "list"] and key[3] == "items" and method == "GET":
        items = list_items(int(parts[2]), tenant.realism, language) if parts[2].isdigit() else None
        if items is None:
            return error(400, "ArgumentException", f"Unknown list '{parts[2]}'", source)
        return json_response(200, items)
    if key == ["v1", "user", "currentprincipal"] and method == "GET":
        return json_response(200, current_principal(_login_user(tenant, request.headers)))
    message = f"No such endpoint in this tenant: {method} {source}"
    return error(400, "BadRequestException", message, source)


def _archive(tenant: SandboxTenant, request: Request, name: str) -> Response:
    provider = next((p for p in PROVIDERS if p.lower() == name.lower()), None)
    source = f"/api/v1/Archive/{name}"
    if provider is None:
        return error(400, "ArgumentException", f"Unknown archive provider '{name}'", source)
    if len(request.query) > MAX_QUERY_STRING:
        return Response(404, b"", {"Content-Type": HTML_TYPE})
    if request.method == "POST" and not tenant.realism.archive_post:
        # Older NetServers have no POST on the archive endpoint.
        return Response(404, b"", {"Content-Type": HTML_TYPE})
    params = dict(parse_qsl(request.query, keep_blank_values=True))
    if request.method == "POST":
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    unknown = [k for k in params if k not in ARCHIVE_PARAMS]
    if unknown:
        return error(400, "ArgumentException", f"Unknown parameter '{unknown[0]}'", source)
    columns = columns_for(provider, tenant.realism)
    query = build_query(provider, params, tenant.realism, columns)
    cap = tenant.realism.max_top
    capped = cap is not None and (query.top is None or query.top > cap)
    rows = tenant.run(replace(query, top=cap + 1) if capped and cap is not None else query)
    next_link = None
    if capped and cap is not None and len(rows) > cap:
        rows = rows[:cap]
        next_link = _next_link(request, name, params, query, cap)
    language = request_language(request.headers)

    def text(value: str) -> str:
        return localized(value, language, tenant.realism)

    value = slim_rows(rows, query, "person" if provider == "Person" else None, text)
    metadata = f"{request.base_url}/{ids.CONTEXT_IDENTIFIER}/api/v1/Archive/$metadata"
    return json_response(
        200, {"odata.metadata": metadata, "odata.nextLink": next_link, "value": value}
    )


def _next_link(request: Request, name: str, params: dict[str, str], query: Query, cap: int) -> str:
    """OData server-driven paging: the same question from the next row on, for what is left of
    the client's $top."""
    following = {**params, "$skip": str(query.skip + cap)}
    if query.top is not None:
        following["$top"] = str(query.top - cap)
    else:
        following.pop("$top", None)
    path = f"/{ids.CONTEXT_IDENTIFIER}/api/v1/Archive/{name}"
    return f"{request.base_url}{path}?{urlencode(following)}"


# Columns whose Slim value is a list item's text (multi-language when an administrator entered
# it so); the activity type is one too.
_LIST_TEXT_TYPES = ("list",)


def slim_rows(
    rows: list[Any],
    query: Query,
    entity: str | None,
    text: Callable[[str], str] | None = None,
) -> list[dict[str, Any]]:
    """Slim rows: PrimaryKey (a string), EntityName and the selected columns' display values."""
    names = [c.name for c in query.select]
    shows = [c.show for c in query.select if c.show is not None]
    translated = [
        text is not None and (c.type in _LIST_TEXT_TYPES or c.name == "type") for c in query.select
    ]
    out = []
    for row in rows:
        slim = {"PrimaryKey": str(row.id), "EntityName": entity or row.kind}
        values = [show(row) for show in shows]
        if text is not None:
            values = [
                text(v) if t and isinstance(v, str) else v
                for v, t in zip(values, translated, strict=True)
            ]
        slim.update(zip(names, values, strict=True))
        out.append(slim)
    return out


def _find(tenant: SandboxTenant, text: str, source: str) -> Person | Response:
    if not text.isdigit():
        return error(400, "ArgumentException", f"'{text}' is not a person id", source)
    person = tenant.live_person(int(text))
    if person is None:
        return error(404, "SoNotFoundException", f"Person id {text} not found", source)
    return person


def _person(tenant: SandboxTenant, request: Request, text: str, source: str) -> Response:
    found = _find(tenant, text, source)
    if isinstance(found, Response):
        return found
    language = request_language(request.headers)
    if request.method == "GET":
        return json_response(200, person_entity(found, tenant.realism, language))
    stale = _changed_since(tenant, found, request.headers.get("if-unmodified-since"), source)
    if stale is not None:
        return stale
    if request.method == "DELETE":
        refused = _refused_delete(tenant, request, source)
        if refused is not None:
            return refused
        tenant.delete(found)
        return Response(204)
    if request.method == "PATCH" and not tenant.realism.patch:
        return Response(405, b"", {"Allow": "GET, PUT, DELETE", "Content-Type": HTML_TYPE})
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return error(400, "ArgumentException", "The body is not JSON", source)
    operations = _put_as_patch(body) if request.method == "PUT" else body
    if apply_patch(found, operations, tenant.realism):
        tenant.touch(found)
    return json_response(200, person_entity(found, tenant.realism, language))


def _put_as_patch(entity: Any) -> list[dict[str, Any]]:
    """A PUT of the whole PersonEntity, as the changes it makes to the writable fields."""
    if not isinstance(entity, dict):
        raise PatchError("The body must be a PersonEntity")
    operations = [
        {"op": "replace", "path": name, "value": entity[name]}
        for name in ("Firstname", "Lastname", "NoMailing")
        if name in entity
    ]
    fields = entity.get("CustomFields")
    if isinstance(fields, dict):
        values = {k: v for k, v in fields.items() if k in UDEFS}
        operations.append({"op": "replace", "path": "CustomFields", "value": values})
    return operations


def _changed_since(
    tenant: SandboxTenant, person: Person, header: str | None, source: str
) -> Response | None:
    if header is None:
        return None
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        since = None
    if since is None:
        return error(400, "ArgumentException", f"Bad If-Unmodified-Since '{header}'", source)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    # With fractions kept, the record's exact time is compared with the header's whole second.
    exact = person.updated * 10_000_000
    if tenant.realism.update_precision == "fraction":
        exact += fraction_ticks(person)
    if exact > int(since.timestamp()) * 10_000_000:
        message = f"Person id {person.id} was changed after {header}"
        return error(412, "SoConcurrencyException", message, source)
    return None


def _consent(tenant: SandboxTenant, text: str, purpose: str, source: str) -> Response:
    found = _find(tenant, text, source)
    if isinstance(found, Response):
        return found
    if purpose.upper() == "STORE":
        return json_response(200, True)
    if purpose.upper() == "EMARKETING":
        return json_response(200, found.consent == "active")
    return error(400, "ArgumentException", f"Unknown consent purpose '{purpose}'", source)


def _undelete(tenant: SandboxTenant, request: Request, source: str) -> Response:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    person_id = body.get("Id") if isinstance(body, dict) else None
    if not isinstance(person_id, int) or isinstance(person_id, bool):
        return error(400, "ArgumentException", 'The body must be {"Id": <person id>}', source)
    if not tenant.undelete(person_id):
        message = f"Person id {person_id} is not in the recycle bin"
        return error(404, "SoNotFoundException", message, source)
    return Response(204)  # the contract: Undelete answers 204 with no body


def _sentry(tenant: SandboxTenant, request: Request, name: str, source: str) -> Response:
    rights = _function_rights(_login_user(tenant, request.headers))
    if name == "getfunctionrights":
        return json_response(200, rights)
    if name == "hasfunctionright":
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return error(400, "ArgumentException", "The body is not JSON", source)
        wanted = body.get("FunctionRight") if isinstance(body, dict) else None
        if not isinstance(wanted, str):
            return error(400, "ArgumentException", "FunctionRight is missing", source)
        return json_response(200, wanted in rights)
    return error(400, "BadRequestException", f"No such endpoint in this tenant: {source}", source)
