"""The city's bundle server for tests: https on 127.0.0.1 with a test CA, ETag and If-None-Match.

A real server (the standard library's, in a thread) serving whatever bundle the test set;
it can also be told to hang (accept, read the request, never answer), which no real server
does on purpose, to see the agent's deadline.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .ports import LOOPBACK
from .tlsca import TestCA


class BundleServer:
    """Serves one bundle at ``/<school>.tar.gz`` over https; records the requests."""

    def __init__(self, ca: TestCA, path: str = "/sh-test.tar.gz") -> None:
        issued = ca.issue("bundle-server")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(issued.cert), str(issued.key))
        self.path = path
        self.body: bytes | None = None
        self.hang = False
        #: (method, path, If-None-Match, status) of every request answered or hung.
        self.requests: list[tuple[str, str, str | None, int]] = []
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sent = self.headers.get("If-None-Match")
                if server.hang:
                    server.requests.append(("GET", self.path, sent, 0))
                    server._release.wait(60)
                    return
                body, etag = server.body, server.etag
                if self.path != server.path or body is None:
                    status, body = 404, b"no bundle here\n"
                elif sent is not None and sent == etag:
                    status, body = 304, b""
                else:
                    status = 200
                server.requests.append(("GET", self.path, sent, status))
                self.send_response(status)
                if status in (200, 304) and etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/gzip" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        # The handshake in the handler's thread, not in accept(): a stalled client stalls no other.
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="bundle-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The bundle's https URL."""
        return f"https://{LOOPBACK}:{self.port}{self.path}"

    @property
    def etag(self) -> str | None:
        """A strong ETag of the bundle served (its SHA-256), as a web server would give."""
        return None if self.body is None else f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'

    def serve(self, body: bytes | None) -> None:
        """Serve this bundle from now on (None: answer 404); stop hanging."""
        self.body = body
        self.hang = False
        self._release.set()
        self._release = threading.Event()

    def close(self) -> None:
        """Release hung requests and stop serving."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
