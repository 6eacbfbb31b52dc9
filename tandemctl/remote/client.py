"""The engine's HTTP API as tandemctl uses it (spec 06): one httpx client per invocation, keep-alive,
the token in one header, the gates' errors turned into tandemctl errors, bounded retries for reads
only. A POST is never retried: a dropped connection after sending is an unknown outcome.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from tandemctl.errors import AuthError, EngineError, EngineStartingError
from tandemctl.remote.endpoint import check_url, is_loopback, redact
from tandemctl.remote.ratelimit import RateLimiter
from tandemctl.remote.token import ENV_API_TOKEN, ENV_API_TOKEN_FILE, ApiToken

# The token goes in `Authorization: Bearer` only: the engine reads x-agent-token, x-tandem-token and
# Authorization, and a wrong value in an earlier one shadows a later one, so exactly one is sent.
TOKEN_HEADER: Final = "authorization"
READ_ATTEMPTS: Final = 5
BACKOFF_S: Final = 0.2
# A retry choice runs the engine's dispatcher before the reply (spec 06 §5): reads get 30 s, POSTs 60 s.
TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
POST_TIMEOUT: Final = httpx.Timeout(60.0, connect=5.0)
FINGERPRINT: Final = "stateful_runtime_reliability"


class OutcomeUnknown(Exception):
    """The request was sent, but no answer came back: it may or may not have been applied."""


class NotSent(Exception):
    """The request never reached the engine (no connection): nothing was applied."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or the text when the body is not JSON


@dataclass(frozen=True)
class EngineIdentity:
    version: str
    how: str  # where the version was read


class EngineClient:
    def __init__(self, url: str, token: ApiToken, *, max_rps: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        host, _ = check_url(url)
        self.url, self.token = url, token
        self._sleep = sleep
        self.limiter = RateLimiter(max_rps) if max_rps else None
        headers = {"user-agent": "tandemctl", "accept": "application/json"}
        if token.value:
            headers[TOKEN_HEADER] = f"Bearer {token.value}"
        # No proxy from the environment for loopback: a proxy would add forwarding headers (spec 06 §2.4).
        self._http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT, trust_env=not is_loopback(host),
                                  limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))

    @property
    def shown_url(self) -> str:
        return redact(self.url)

    def close(self) -> None:
        self._http.close()

    # --- reads ---------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None, *, ok: tuple[int, ...] = (200,)) -> Reply:
        """GET with bounded retries (transport errors, 5xx, 429, ENGINE_STARTING); gates raise."""
        for attempt in range(READ_ATTEMPTS):
            last = attempt == READ_ATTEMPTS - 1
            try:
                reply = _reply(self._http.get(path, params=params))
            except httpx.TransportError as exc:
                if last:
                    raise EngineError(f"{self.shown_url}{path}: {_transport(exc)} ({READ_ATTEMPTS} attempts)") from None
            else:
                if reply.status in ok:
                    return reply
                if last or not _retryable(reply):
                    self.raise_for(path, reply, attempts=attempt + 1)
            self._sleep(min(BACKOFF_S * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    def health(self) -> Reply:
        """`GET /global/health` (no token needed); any answer below 500 is returned, the rest retried."""
        return self.get("/global/health", ok=tuple(range(100, 500)))

    def identify(self) -> EngineIdentity:
        """Tandem, or a clear refusal: health's shape, then the reliability list's fingerprint (spec 06 §2.4)."""
        health = self.health()
        body = health.body
        if (health.status != 200 or not isinstance(body, dict) or not isinstance(body.get("ready"), bool)
                or not isinstance(body.get("healthy"), bool)):
            raise EngineError(f"{self.shown_url} is not a Tandem engine: GET /global/health answered HTTP "
                              f"{health.status} without Tandem's {{healthy, ready}}; check --engine-url / "
                              "TANDEM_ENGINE_URL / TANDEM_ENGINE_PORT")
        probe = self.get("/stateful-runtime/reliability", {"limit": 1}, ok=(*range(200, 300), 404))
        if not isinstance(probe.body, dict) or probe.body.get("source") != FINGERPRINT:
            raise EngineError(f"{self.shown_url} is not a Tandem engine: GET /stateful-runtime/reliability "
                              f"answered HTTP {probe.status} without \"source\": \"{FINGERPRINT}\"")
        if isinstance(body.get("version"), str):
            return EngineIdentity(body["version"], "/global/health")
        diagnostics = self.get("/global/diagnostics", ok=tuple(range(200, 600)))
        if diagnostics.status == 200 and isinstance(diagnostics.body, dict) and \
                isinstance(diagnostics.body.get("version"), str):
            return EngineIdentity(diagnostics.body["version"], "/global/diagnostics")
        return EngineIdentity("unknown (0.7.2 or later)", f"/global/diagnostics answered HTTP {diagnostics.status}")

    # --- writes --------------------------------------------------------------------------------
    def post(self, path: str, body: Mapping[str, Any]) -> Reply:
        """One POST, never retried. NotSent when no connection was made, OutcomeUnknown after sending."""
        if self.limiter is not None:
            self.limiter.wait()
        try:
            return _reply(self._http.post(path, json=dict(body), timeout=POST_TIMEOUT))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(_transport(exc)) from None
        except httpx.TransportError as exc:
            raise OutcomeUnknown(_transport(exc)) from None

    # --- errors --------------------------------------------------------------------------------
    def raise_for(self, path: str, reply: Reply, *, attempts: int = 1) -> None:
        """The gates' answers (spec 06 §1.2, §2.1) and other failures as tandemctl errors."""
        code = reply.body.get("code") if isinstance(reply.body, dict) else None
        where = f"{self.shown_url}{path}"
        if reply.status == 401:
            raise AuthError(self._auth_message())
        if reply.status == 403:
            raise EngineError(f"{where}: HTTP 403 {code or ''}: the engine denied this request (a hosted or "
                              "enterprise engine needs a signed tenant context, which tandemctl does not send)")
        if reply.status == 503 and code == "ENGINE_STARTING":
            raise EngineStartingError(f"{where}: the engine is still starting ({_text(reply)}); "
                                      f"gave up after {attempts} attempts, try again shortly")
        if reply.status == 503 and code == "ENGINE_STARTUP_FAILED":
            raise EngineError(f"{where}: the engine failed to start: {_text(reply)}")
        raise EngineError(f"{where}: HTTP {reply.status}: {_text(reply)}"
                          + (f" (after {attempts} attempts)" if attempts > 1 else ""))

    def _auth_message(self) -> str:
        if self.token.value is None:
            looked = f"no token found at {self.token.looked_at}" if self.token.looked_at else "no token found"
            return (f"the engine at {self.shown_url} requires an API token: {looked}, and none is set with "
                    f"--api-token-file, {ENV_API_TOKEN} or {ENV_API_TOKEN_FILE}")
        return (f"the engine at {self.shown_url} rejected the API token (token rejected; from {self.token.source}). "
                "The engine reads its token at startup; a rotated token is not written back to the file")


def _reply(response: httpx.Response) -> Reply:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Reply(response.status_code, body)


def _retryable(reply: Reply) -> bool:
    code = reply.body.get("code") if isinstance(reply.body, dict) else None
    if reply.status == 503:
        return code != "ENGINE_STARTUP_FAILED"
    return reply.status == 429 or reply.status >= 500


def _text(reply: Reply) -> str:
    if isinstance(reply.body, dict):
        parts = [str(reply.body[key]) for key in ("error", "code", "message") if reply.body.get(key)]
        return ": ".join(parts) or "(no details)"
    return str(reply.body).strip()[:200] or "(empty body)"


def _transport(exc: httpx.TransportError) -> str:
    kinds = {httpx.ConnectError: "cannot connect (connection refused or unreachable)",
             httpx.ConnectTimeout: "timed out connecting", httpx.ReadTimeout: "timed out waiting for the answer",
             httpx.WriteTimeout: "timed out sending", httpx.PoolTimeout: "no free connection",
             httpx.RemoteProtocolError: "the connection was closed without a complete answer"}
    for kind, text in kinds.items():
        if isinstance(exc, kind):
            return text
    return f"network error ({type(exc).__name__})"
