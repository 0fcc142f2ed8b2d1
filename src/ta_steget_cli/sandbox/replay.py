"""A tenant made of recorded answers: `doctor --probe --record FILE` writes what a real tenant
answered (personal texts replaced); `ReplayServer(FILE)` answers the same requests the same way
on loopback, so a real tenant's behaviour becomes a test fixture.

Requests are matched on method, path, parameters, form body and JSON body; anything not
recorded is answered 400 as SuperOffice answers a question it does not understand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from .server import LoopbackHandler, LoopbackServer

FORMAT = "tasteget-probe-recording/1"


def _key(
    method: str, path: str, params: Mapping[str, str], form: Mapping[str, str], body: Any
) -> str:
    return json.dumps(
        [method.upper(), unquote(path).lower(), sorted(params.items()), sorted(form.items()), body],
        ensure_ascii=False,
    )


class Replay:
    """The recorded answers by request."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if document.get("format") != FORMAT:
            raise ValueError(f"not a probe recording ({FORMAT})")
        self.answers: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []
        for exchange in document["exchanges"]:
            key = _key(
                exchange["method"],
                exchange["path"],
                exchange["params"],
                exchange["form"],
                exchange["json"],
            )
            self.answers.setdefault(key, exchange)

    @classmethod
    def load(cls, path: Path) -> Replay:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def answer(
        self, method: str, path: str, query: str, body: bytes, content_type: str
    ) -> tuple[int, dict[str, str], bytes]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        form: dict[str, str] = {}
        json_body: Any = None
        if body and "form-urlencoded" in content_type:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif body:
            json_body = json.loads(body)
        self.asked.append(f"{method} {path}")
        found = self.answers.get(_key(method, path, params, form, json_body))
        if found is None:
            error = {
                "Error": True,
                "ErrorType": "ArgumentException",
                "ErrorMessage": f"Not in the recording: {method} {path}",
                "ErrorSource": path,
            }
            return 400, {"Content-Type": "application/json; charset=utf-8"}, _json(error)
        headers = {k.title(): v for k, v in found["headers"].items()}
        if found["body_kind"] == "json":
            return found["status"], headers, _json(found["body"])
        return found["status"], headers, b""


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _handler_class(replay: Replay) -> type[LoopbackHandler]:
    class Handler(LoopbackHandler):
        def _serve(self) -> None:
            split, body = self.read_request()
            content_type = self.headers.get("Content-Type") or ""
            self.send_answer(
                *replay.answer(self.command, split.path, split.query, body, content_type)
            )

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    return Handler


class ReplayServer(LoopbackServer):
    """`with ReplayServer(replay) as server:` answers from the recording on 127.0.0.1."""

    thread_name = "replay-server"

    def __init__(self, replay: Replay, host: str = "127.0.0.1") -> None:
        super().__init__(_handler_class(replay), host)
        self.replay = replay

    def api_url(self, path_of_api: str) -> str:
        """The api_url on this server for the recorded tenant's API path (e.g. /Cust1/api)."""
        return self.base_url + path_of_api
