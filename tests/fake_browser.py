"""A scripted browser for `tasteget login` tests, run through the BROWSER variable.

Python's `webbrowser` runs `BROWSER` with the authorize URL; this script does what a person's
browser would: opens the sign-in page, signs in as FAKE_BROWSER_USER, and posts the answer page's
form to the app's loopback listener. FAKE_BROWSER_MODE makes it misbehave on purpose:
  ok             sign in and post the answer as it came
  wrong_state    post the answer with another state
  wrong_nonce    start the login with another nonce than the app sent
  cancel         post error=access_denied instead of signing in
  stay_away      do nothing (the app waits and gives up)
Only loopback addresses are visited: the sandbox and the listener both run on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import sys
import urllib.request
from html import unescape
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if not (host == "localhost" or host.startswith("127.")):
        raise SystemExit(f"fake browser: refusing to visit {host}")
    return url


def _fetch(url: str, form: dict[str, str] | None = None) -> tuple[str, str]:
    data = urlencode(form).encode() if form is not None else None
    try:
        with NO_PROXY.open(urllib.request.Request(_loopback(url), data=data), timeout=30) as answer:
            return answer.geturl(), answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return url, exc.read().decode("utf-8", "replace")


def _form(page: str, base: str) -> tuple[str, dict[str, str]]:
    match = re.search(r"<form[^>]*action='([^']*)'", page)
    if match is None:
        raise SystemExit("fake browser: the page has no form")
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(r"<input type=hidden name='([^']*)' value='([^']*)'>", page)
    }
    return urljoin(base, unescape(match.group(1))), fields


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def main(url: str) -> int:
    mode = os.environ.get("FAKE_BROWSER_MODE", "ok")
    if mode == "stay_away":
        return 0
    params = dict(parse_qsl(urlsplit(url).query))
    if mode == "cancel":
        _fetch(params["redirect_uri"], {"error": "access_denied", "state": params["state"]})
        return 0
    if mode == "wrong_nonce":
        url = _with_param(url, "nonce", "a-nonce-the-app-never-sent")
    where, page = _fetch(url)
    action, _fields = _form(page, where)
    user = os.environ.get("FAKE_BROWSER_USER", "ELNY")
    password = os.environ.get("FAKE_BROWSER_PASSWORD", "sandbox")
    where, page = _fetch(action, {"username": user, "password": password})
    action, fields = _form(page, where)
    if mode == "wrong_state":
        fields["state"] = "a-state-from-another-login"
    _fetch(action, fields)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
