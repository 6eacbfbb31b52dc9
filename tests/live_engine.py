"""A real HTTP server on 127.0.0.1 answering the engine's health endpoint, for liveness tests."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar


class HealthHandler(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []  # every path requested, for assertions

    def do_GET(self) -> None:
        HealthHandler.paths.append(self.path)
        self.send_response(200 if self.path == "/global/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"ready":true}')

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def health_server() -> Iterator[str]:
    """Serve on an ephemeral port; yields the base URL."""
    server = HTTPServer(("127.0.0.1", 0), HealthHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
