"""Who may look: where the console listens, and the credentials it asks for.

On loopback (the default, 127.0.0.1:8090) only this machine reaches it, and no credential is
needed. On any other address it must ask for one: the operators' read token
(``--token-file``, sent as ``Authorization: Bearer``, or typed once into the sign-in page,
which sets a cookie) or a basic-auth file (``--basic-auth-file``, ``user:password`` lines,
which browsers ask for themselves). Without either it refuses to start. A credential that
is given is asked for on loopback too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from campus_core.files import SecretError, read_secret_file

#: The cookie the sign-in page sets: an HMAC of the token, never the token itself.
COOKIE = "campus_console"
#: What anyone may fetch: the sign-in page and the style it is drawn with.
OPEN_PATHS = ("/login", "/static/console.css")


class AuthError(Exception):
    """The listen address or a credential file cannot be used; the message says why."""


@dataclass(frozen=True)
class Listen:
    """A host and port to listen on."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """Only this machine can reach it."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a name may resolve to anything: treat it as reachable

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``127.0.0.1:8090``, ``[::1]:8090`` or ``0.0.0.0:8090`` (``:8090`` is every address)."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise AuthError(f"--listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:8090 or [::1]:8090")
    host = host.removeprefix("[").removesuffix("]") or "0.0.0.0"
    return Listen(host, int(port_text))


@dataclass(frozen=True)
class Credentials:
    """What a request must carry: the token, or one of the basic-auth users."""

    token: str | None = None
    users: dict[str, str] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        """Whether any credential is asked for at all."""
        return bool(self.token or self.users)

    def session_cookie(self) -> str:
        """The sign-in cookie's value for the token."""
        assert self.token
        return hmac.new(self.token.encode(), b"campus-ops console session", hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        """Whether ``given`` is the token (compared in constant time)."""
        return bool(self.token) and hmac.compare_digest(given.encode(), (self.token or "").encode())

    def admits(self, request: web.Request) -> bool:
        """Whether the request carries a credential the console accepts."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(value.strip()):
            return True
        if scheme.lower() == "basic" and self.users:
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            expected = self.users.get(user)
            return expected is not None and hmac.compare_digest(password.encode(), expected.encode())
        cookie = request.cookies.get(COOKIE)
        return bool(self.token and cookie) and hmac.compare_digest(str(cookie), self.session_cookie())


def read_token(path: Path) -> str:
    """The one word in a token file."""
    try:
        token = read_secret_file(path, "--token-file").strip()
    except SecretError as exc:
        raise AuthError(str(exc)) from None
    if not token or any(ch.isspace() for ch in token):
        raise AuthError(f"--token-file {str(path)!r}: put one token in it, one word, nothing else")
    return token


def read_users(path: Path) -> dict[str, str]:
    """``user:password`` lines (``#`` starts a comment) of a basic-auth file."""
    try:
        text = read_secret_file(path, "--basic-auth-file")
    except SecretError as exc:
        raise AuthError(str(exc)) from None
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise AuthError(f"--basic-auth-file {str(path)!r} line {number}: write user:password")
        users[user] = password
    if not users:
        raise AuthError(f"--basic-auth-file {str(path)!r} names no user: write user:password lines")
    return users


def refusal(listen: Listen, credentials: Credentials) -> str | None:
    """Why the console must not start with these, or None when it may."""
    if listen.loopback or credentials.required:
        return None
    return (
        f"--listen {listen} can be reached from other machines, and the console would show the "
        "city's data to anyone there: give --token-file FILE (the operators' read token) or "
        "--basic-auth-file FILE (user:password lines), or listen on loopback (127.0.0.1:8090)"
    )


def middleware(credentials: Credentials) -> Middleware:
    """Turn away requests without a credential, when one is asked for."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not credentials.required or request.path in OPEN_PATHS or credentials.admits(request):
            return await handler(request)
        if request.path.startswith("/api/"):
            raise web.HTTPUnauthorized(
                text='{"error": "sign in: a bearer token or basic auth is needed"}',
                content_type="application/json",
            )
        if credentials.users:
            # Browsers ask for the user and password themselves on this challenge.
            raise web.HTTPUnauthorized(
                text="sign in", headers={"WWW-Authenticate": 'Basic realm="campus console", charset="UTF-8"'}
            )
        raise web.HTTPSeeOther(f"/login?next={request.rel_url}")

    return check
