"""Two carriers for the one handler: an in-process httpx transport and a loopback HTTP server."""

from __future__ import annotations

import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import SplitResult, urlsplit

import httpx

from . import ids
from .api import Request, Response, handle
from .tenant import SandboxTenant

IN_PROCESS_BASE_URL = "http://sandbox.local"


def api_url(base_url: str) -> str:
    return f"{base_url}/{ids.CONTEXT_IDENTIFIER}/api"


# ---------------------------------------------------------------- in-process


def transport(tenant: SandboxTenant) -> httpx.BaseTransport:
    """An httpx transport answering from `tenant`; use it with base URL http://sandbox.local."""

    def answer(request: httpx.Request) -> httpx.Response:
        url = request.url
        port = f":{url.port}" if url.port else ""
        response = handle(
            tenant,
            Request(
                method=request.method,
                path=url.raw_path.decode("ascii").split("?", 1)[0],
                query=url.query.decode("ascii"),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.content,
                base_url=f"{url.scheme}://{url.host}{port}",
            ),
        )
        if response.action == "drop":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if response.action == "timeout":
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        if response.action == "trickle":
            return httpx.Response(
                response.status,
                headers={**response.headers, "Content-Length": str(len(response.body))},
                stream=_Trickle(response.body, tenant.trickle_seconds),
            )
        return httpx.Response(response.status, headers=response.headers, content=response.body)

    return httpx.MockTransport(answer)


class _Trickle(httpx.SyncByteStream):
    """A body that comes one byte at a time, `seconds` apart."""

    def __init__(self, body: bytes, seconds: float) -> None:
        self.body, self.seconds = body, seconds

    def __iter__(self) -> Iterator[bytes]:
        for n in range(len(self.body)):
            time.sleep(self.seconds)
            yield self.body[n : n + 1]


# ---------------------------------------------------------------- HTTP server


class LoopbackHandler(BaseHTTPRequestHandler):
    """What every loopback server of the sandbox's shares: HTTP/1.1, a request read whole, an
    answer with its length, no log lines (tests and the CLI stay quiet)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK (about 40 ms on Linux), which dwarfed every answer.
    disable_nagle_algorithm = True

    def read_request(self) -> tuple[SplitResult, bytes]:
        """The request's URL, split, and its whole body."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return urlsplit(self.path), body

    def send_head(self, status: int, headers: Mapping[str, str], length: int) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_answer(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_head(status, headers, len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _handler_class(tenant: SandboxTenant) -> type[LoopbackHandler]:
    class Handler(LoopbackHandler):
        server_version = "SandboxSuperOffice/1.0"

        def _serve(self) -> None:
            split, body = self.read_request()
            bound_host, bound_port = _bound(self.server)
            host = self.headers.get("Host") or f"{bound_host}:{bound_port}"
            response = handle(
                tenant,
                Request(
                    method=self.command,
                    path=split.path,
                    query=split.query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    base_url=f"http://{host}",
                ),
            )
            if response.action == "drop":
                self.close_connection = True
                return
            if response.action == "timeout":
                time.sleep(tenant.timeout_sleep)
            self._write(response)

        def _write(self, response: Response) -> None:
            if response.action != "trickle":
                self.send_answer(response.status, response.headers, response.body)
                return
            self.send_head(response.status, response.headers, len(response.body))
            if self.command == "HEAD":
                return
            for n in range(len(response.body)):
                time.sleep(tenant.trickle_seconds)
                self.wfile.write(response.body[n : n + 1])
                self.wfile.flush()

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeouts, tests) is normal here; anything else is a bug to show.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """`with LoopbackServer(Handler) as server:` serves on loopback in a daemon thread."""

    thread_name = "loopback-server"

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.httpd = _Server((host, port), handler)
        bound_host, bound_port = _bound(self.httpd)
        self.base_url = f"http://{bound_host}:{bound_port}"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        # A short poll interval: shutdown() waits for it, and tests start many servers.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()


class SandboxServer(LoopbackServer):
    """`with SandboxServer(tenant) as server:` serves the tenant on loopback in a daemon thread."""

    thread_name = "sandbox-server"

    def __init__(self, tenant: SandboxTenant, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_handler_class(tenant), host, port)
        self.tenant = tenant
        self.api_url = api_url(self.base_url)


def serve_forever(
    tenant: SandboxTenant,
    host: str = "127.0.0.1",
    port: int = 0,
    announce: Callable[[str, str], None] | None = None,
) -> None:
    """Serve until Ctrl-C (for `tasteget sandbox serve`); `announce(base_url, api_url)` once up."""
    server = SandboxServer(tenant, host, port)
    try:
        if announce is not None:
            announce(server.base_url, server.api_url)
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


def _bound(server: socketserver.BaseServer) -> tuple[str, int]:
    """The host and port a TCP server is bound to (typeshed allows any socket address)."""
    host, port = cast(tuple[str, int], server.server_address)[:2]
    return str(host), int(port)
