"""The fake engine's socket side: routing, the gates in the engine's order, health, diagnostics and
the fault hooks (spec 06 §1.2, §2).

Order per request: health bypass → auth gate → (tenant: always local-implicit, raw headers
ignored) → startup gate → 10 MiB body limit → injected failure → route → injected delay/drop.
"""

import hmac
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.remote import fake_engine_routes as routes
from tests.remote.fake_engine import FakeEngine, RecordedRequest
from tests.remote.fake_engine_listing import (
    OBSERVABILITY_FIELDS,
    RELIABILITY_FIELDS,
    QueryRejected,
    parse_query,
)
from tests.remote.fake_engine_routes import Reply, json_reply, text_reply

Row = dict[str, Any]
BODY_LIMIT = 10 * 1024 * 1024
HEALTH = "/global/health"
DIAGNOSTICS = "/global/diagnostics"
RELIABILITY = "/stateful-runtime/reliability"
RUN_RELIABILITY = "/stateful-runtime/runs/{run_id}/reliability"
RESUME_PLAN = "/stateful-runtime/runs/{run_id}/resume-plan"
OBSERVABILITY = "/stateful-runtime/runs/{run_id}/observability"
_RUN_ROUTE = re.compile(r"/stateful-runtime/runs/([^/]+)/(reliability|resume-plan|observability)")
METHODS = {HEALTH: ("GET", "HEAD"), DIAGNOSTICS: ("GET",), RELIABILITY: ("GET",), RUN_RELIABILITY: ("GET",),
           RESUME_PLAN: ("GET", "POST"), OBSERVABILITY: ("GET",)}
FORWARDING = ("forwarded", "x-real-ip", "cf-connecting-ip", "true-client-ip")
AUTH_REQUIRED = {"error": "Unauthorized: missing or invalid API token", "code": "AUTH_REQUIRED", "retryable": False}


def match_route(path: str) -> tuple[str, str | None]:
    """(route template, run_id); an unknown path is its own "route"."""
    if path in (HEALTH, RELIABILITY, DIAGNOSTICS):
        return path, None
    found = _RUN_ROUTE.fullmatch(path)
    if found is None:
        return path, None
    return f"/stateful-runtime/runs/{{run_id}}/{found.group(2)}", unquote(found.group(1))


def request_token(headers: dict[str, str]) -> str | None:
    """`extract_request_token`: x-agent-token, x-tandem-token, then `Bearer `/`bearer `."""
    for name in ("x-agent-token", "x-tandem-token"):
        value = headers.get(name, "").strip()
        if value:
            return value
    auth = headers.get("authorization", "")
    if auth.startswith(("Bearer ", "bearer ")) and auth[7:].strip():
        return auth[7:].strip()
    return None


def auth_passes(engine: FakeEngine, headers: dict[str, str]) -> bool:
    sent = request_token(headers)
    if engine.token is None:
        return sent is None or engine.rich_health  # 0.7.2 refuses a token nobody configured
    return sent is not None and hmac.compare_digest(sent.encode(), engine.token.encode())


def startup_reply(engine: FakeEngine) -> Reply | None:
    if engine.phase == "ready":
        return None
    failed = engine.phase == "failed"
    text = (f"Engine starting: phase={'failed' if failed else engine.phase} attempt_id={engine.attempt_id} "
            f"elapsed_ms={engine.elapsed_ms()}")
    if failed:
        text += f" error={engine.startup_error}"
    code = "ENGINE_STARTUP_FAILED" if failed else "ENGINE_STARTING"
    return json_reply(503, {"error": text, "code": code, "retryable": not failed})


def health_body(engine: FakeEngine) -> Row:
    ready = engine.phase == "ready"
    if not engine.rich_health:
        return {"healthy": ready, "ready": ready}
    body = _build_info(engine)
    body.update(healthy=True, ready=ready, phase=engine.phase, startup_attempt_id=engine.attempt_id,
                startup_elapsed_ms=engine.elapsed_ms(),
                last_error=engine.startup_error if engine.phase == "failed" else None,
                binary_path=None, workspace_root=str(engine.root))
    return body


def diagnostics_body(engine: FakeEngine) -> Row:
    body = _build_info(engine)
    ready = engine.phase == "ready"
    body.update(healthy=ready, ready=ready, phase=engine.phase, startup_attempt_id=engine.attempt_id,
                startup_elapsed_ms=engine.elapsed_ms(), startup_error=engine.phase == "failed")
    return body


def _build_info(engine: FakeEngine) -> Row:
    return {"version": engine.version, "build_id": engine.version, "git_sha": None, "binary_modified_at_ms": None,
            "mode": "sidecar", "apiTokenRequired": engine.token is not None, "leaseCount": 0,
            "environment": {"os": "linux"}, "memory_context_policy": "default", "browser": {"enabled": False}}


def make_handler(engine: FakeEngine) -> type[BaseHTTPRequestHandler]:
    class Handler(EngineHandler):
        pass

    Handler.engine = engine
    return Handler


class EngineHandler(BaseHTTPRequestHandler):
    engine: FakeEngine
    protocol_version = "HTTP/1.1"
    server_version = "tandem-fake-engine"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, *args: object) -> None:
        pass

    def _serve(self, method: str) -> None:
        engine = self.engine
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if 0 < length <= BODY_LIMIT else b""
        route, run_id = match_route(parts.path)
        record = RecordedRequest(method, self.path, route, headers, body)
        engine.record(record)
        reply = self._gated(method, route, run_id, parts.query, headers, body, length)
        if length > BODY_LIMIT:
            self.close_connection = True  # the body was never read
        if reply is None:  # an injected drop: the request was handled, no answer goes back
            self.close_connection = True
            return
        record.status = reply.status
        try:
            self._send(reply, head=method == "HEAD")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. a read timeout)
            self.close_connection = True

    def _gated(self, method: str, route: str, run_id: str | None, query: str, headers: dict[str, str],
               body: bytes, length: int) -> Reply | None:
        engine = self.engine
        bypass = route == HEALTH and (engine.rich_health or method in ("GET", "HEAD"))
        if not bypass:
            if not auth_passes(engine, headers):
                return json_reply(401, AUTH_REQUIRED)
            starting = startup_reply(engine)
            if starting is not None:
                return starting
            if length > BODY_LIMIT:
                return text_reply(413, "length limit exceeded")
        failure = engine.take_fault("fail", method, route)
        if failure is not None:
            return json_reply(failure.status, {"error": "fake_engine_injected_failure",
                                               "message": f"injected HTTP {failure.status}"})
        reply = self._route(method, route, run_id, query, headers, body)
        delay = engine.take_fault("delay", method, route)
        if delay is not None:
            time.sleep(delay.seconds)
        if engine.take_fault("drop", method, route) is not None:
            return None
        return reply

    def _route(self, method: str, route: str, run_id: str | None, query: str, headers: dict[str, str],
               body: bytes) -> Reply:
        engine = self.engine
        allowed = METHODS.get(route)
        if allowed is None or (route == DIAGNOSTICS and engine.rich_health):
            return Reply(404, b"", None)
        if method not in allowed:
            return Reply(405, b"", None, (("allow", ",".join(allowed)),))
        if route == HEALTH:
            return json_reply(200, health_body(engine))
        if route == DIAGNOSTICS:
            peer = self.client_address[0]
            forwarded = any(h in FORWARDING or h.startswith("x-forwarded-") for h in headers)
            if forwarded or not (peer.startswith("127.") or peer == "::1"):
                return Reply(403, b"", None)
            return json_reply(200, diagnostics_body(engine))
        if method == "POST":
            assert run_id is not None
            return routes.post_resume_plan(engine, run_id, headers, body)
        fields = OBSERVABILITY_FIELDS if route == OBSERVABILITY else RELIABILITY_FIELDS
        try:
            params = parse_query(query, fields)
        except QueryRejected as exc:
            return text_reply(400, f"Failed to deserialize query string: {exc}")
        if route == RELIABILITY:
            return routes.reliability(engine, params)
        assert run_id is not None
        if route == RUN_RELIABILITY:
            return routes.run_reliability(engine, run_id, params)
        if route == RESUME_PLAN:
            return routes.resume_plan(engine, run_id, params)
        return routes.observability(engine, run_id, params)

    def _send(self, reply: Reply, *, head: bool) -> None:
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("content-type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)
