"""The SuperOffice client, the only code of tasteget that speaks HTTP.

- `client.py`: sending, classifying answers, retries, single-record calls;
- `limiter.py`: the one limiter all workers share (starts per second, requests in flight);
- `auth.py`: one `httpx.Auth` per login mode (the system user's login and ticket cache);
- `archive.py`: the paginator (page size, keyset paging, id chunking, repeated-page checks);
- `answers.py`: each answer classified (done / retry / re-authenticate / resolve / fail);
- `tenant.py`: the tenant's /api/state answer and the https-only rule for URLs;
- `redact.py`: the log filter that keeps secrets out of logs;
- `values.py`: SuperOffice's encoded values and dates (no HTTP; services may use it).

Callers import from here; the names below are the package's public face.
"""

from .auth import TICKET_CLAIM, SuperOfficeAuth, SystemUserAuth, auth_for
from .client import SuperOfficeClient
from .limiter import Limiter
from .redact import RedactSecrets
from .requests import ApiRequest
from .stats import RequestStats
from .tenant import TenantState, login_host
from .values import format_datetime, parse_datetime, primary_key

__all__ = [
    "TICKET_CLAIM",
    "ApiRequest",
    "Limiter",
    "RedactSecrets",
    "RequestStats",
    "SuperOfficeAuth",
    "SuperOfficeClient",
    "SystemUserAuth",
    "TenantState",
    "auth_for",
    "format_datetime",
    "login_host",
    "parse_datetime",
    "primary_key",
]
