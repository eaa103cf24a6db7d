"""A small client for Open WebUI's HTTP API (the standard library only): JSON in and out, a bearer token, the
response's headers kept for the checks that read them (HSTS, cookies, CORS)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from email.message import Message
from typing import Any, Optional


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


class ApiError(RuntimeError):
    pass


class _Unfollowed(urllib.request.HTTPRedirectHandler):
    """A redirect comes back as the response (an OAuth flow reads its Location)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_UNFOLLOWED = urllib.request.build_opener(_Unfollowed)


def request(base: str, method: str, path: str, body: Any = None, token: Optional[str] = None,
            headers: Optional[dict[str, str]] = None, data: Optional[bytes] = None, timeout: float = 120,
            follow: bool = True) -> Response:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=sent)
    try:
        with (urllib.request.urlopen(req, timeout=timeout) if follow else _UNFOLLOWED.open(req, timeout=timeout)) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


def ok(response: Response, what: str) -> Any:
    if response.status >= 400:
        raise ApiError(f"{what}: HTTP {response.status} {response.body[:300]!r}")
    return response.json()


def upload(base: str, token: str, name: str, content: bytes) -> Response:
    """POST /api/v1/files/ (multipart), stored, chunked and embedded before it answers."""
    boundary = uuid.uuid4().hex
    data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return request(base, "POST", "/api/v1/files/?process=true&process_in_background=false", token=token, data=data,
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def wait_for(base: str, path: str, deadline: float, alive: Any = lambda: True) -> bool:
    """Polls until `path` answers 200 (as a probe does), the deadline passes or the process dies."""
    while time.monotonic() < deadline and alive():
        try:
            if request(base, "GET", path, timeout=5).status == 200:
                return True
        except OSError:
            pass
        time.sleep(1)
    return False
