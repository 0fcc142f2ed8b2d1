"""Typed errors. Each carries the exit code of the spec; the CLI turns them into one clear line."""

from __future__ import annotations


class TastegetError(Exception):
    """Base of every error the tool reports to the user as one line."""

    exit_code = 1


class UsageError(TastegetError):
    """Bad option or argument (exit 2)."""

    exit_code = 2


class ConfigError(TastegetError):
    """The configuration is missing, malformed or incomplete (exit 2)."""

    exit_code = 2


class UntrustedCertificate(ConfigError):
    """The server's TLS certificate could not be verified (exit 2): no retry mends that."""


class AuthError(TastegetError):
    """SuperOffice did not accept the credentials (exit 4)."""

    exit_code = 4


class PartialFailure(TastegetError):
    """Some records failed; the rest was done (exit 3)."""

    exit_code = 3


class ApiError(TastegetError):
    """SuperOffice answered with an error that is not worth retrying."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.method = method
        self.path = path
        # The answer to a retry, after an attempt whose answer was lost: a 409 may then be
        # our own first write, committed, that the retry's `test` now finds.
        self.after_retry = False


class BadRequest(ApiError):
    """400: the query or body was not accepted."""


class Forbidden(ApiError):
    """403: no right to this record."""


class NotFound(ApiError):
    """404: the record is gone."""


class Conflict(ApiError):
    """409/412: the record changed since it was read."""


class TransientError(ApiError):
    """Retries were exhausted on 429/5xx/connection faults."""


class DeadlinePassed(TransientError):
    """The command's overall deadline passed (cron): it stopped before its next request, as it
    stops when SuperOffice stops answering (a purge between persons, its journal consistent)."""


class TenantUnavailable(ApiError):
    """The tenant is not running (maintenance or down)."""


class PageRepeated(ApiError):
    """The server answered the same page twice; continuing would loop or lose rows."""
