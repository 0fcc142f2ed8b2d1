"""Issue 9's client findings through the CLI against the sandbox over real HTTP: a foreign page
is an error, not an empty list (7); loopback calls never go through a proxy (14); a malformed
ticket or app token is said at once, not retried as if SuperOffice were down (18)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from tests.conftest import AS_OF


def overdue(env: Any, **extra_env: str) -> Any:
    env = replace(env, env={**env.env, **extra_env})
    return env.run(
        "--lang", "en", "overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat(), "-f", "json"
    )


@pytest.fixture
def env(sandbox_env: Callable[..., Any]) -> Any:
    return sandbox_env(SandboxTenant(persons=300, seed=5, today=AS_OF))


# ---------------------------------------------------------------- 7: a foreign page


def test_a_first_page_without_the_columns_asked_for_is_an_error(env: Any) -> None:
    truth = overdue(env)
    assert truth.exit_code == 0 and json.loads(truth.stdout)
    # A proxy or cache hands back an answer to another question: rows without our columns.
    foreign = {"odata.nextLink": None, "value": [{"PrimaryKey": "1", "EntityName": "sale"}]}
    env.tenant.last_archive_answer = json.dumps(foreign).encode()
    env.tenant.faults.add("repeat_page")
    result = overdue(env)
    assert result.exit_code == 1, result.output
    assert result.stdout.strip() in ("", "[]") and result.stdout != truth.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("tasteget: ")]
    assert len(lines) == 1 and "columns asked for" in lines[0]
    assert result.stdout == ""


# ---------------------------------------------------------------- 14: proxies


class RecordingProxy:
    """An HTTP proxy on loopback that records what reaches it and answers 502."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                seen.append((self.command, self.path, dict(self.headers)))
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_CONNECT = do_PATCH = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> RecordingProxy:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy() as running:
        yield running


def test_loopback_calls_never_go_through_a_proxy(env: Any, proxy: RecordingProxy) -> None:
    proxies = {
        name: proxy.url
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY")
    }
    result = overdue(env, **proxies, NO_PROXY="", no_proxy="")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)
    assert proxy.seen == []  # the ticket and app token never reached it


# ---------------------------------------------------------------- 18: malformed credentials


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("TASTEGET_TICKET", ids.TICKET + "\n", "ends with a line break"),
        ("TASTEGET_APP_TOKEN", ids.APP_TOKEN + " ", "ends with a space or tab"),
        ("TASTEGET_TICKET", ids.TICKET[:5] + "å" + ids.TICKET[5:], "not ASCII"),
    ],
)
def test_a_malformed_credential_is_said_at_once_without_retries(
    env: Any, name: str, value: str, said: str
) -> None:
    env.tenant.reset_stats()
    result = overdue(env, **{name: value})
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and name in lines[0] and said in lines[0], result.stderr
    assert value.strip() not in result.stderr  # never the value itself
    assert env.tenant.requests == []  # nothing was sent, nothing retried
