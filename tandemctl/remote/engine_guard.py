"""Refuse to sweep while a Tandem engine is live: a live engine holds the runs and the audit
chain tail in memory and runs the dead-letter dispatcher itself every second (spec 02 §6).

Two probes: the 0.6.9+ engine lock (a held flock on `<data>/stateful_runtime.engine.lock`)
and `GET <engine-url>/global/health` (any HTTP answer means live; a refused connection does not).
"""

import http.client
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from tandemctl.errors import EngineLiveError
from tandemctl.fs import locks
from tandemctl.remote.endpoint import check_url
from tandemctl.remote.endpoint import engine_url as engine_url

HEALTH_PATH: Final = "/global/health"
PROBE_TIMEOUT_S: Final = 1.0
_WHY: Final = (
    "a live engine runs this dead-letter dispatcher itself every second and keeps the runs and the "
    "audit chain in memory, so an offline sweep now would be overwritten or fork the ledger. "
    "Let the engine do it, or stop the engine and sweep again"
)


def detect_live_engine(engine_lock_file: Path, engine_url_override: str | None, env: Mapping[str, str],
                       *, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why the engine counts as live, or None when it is not (the "skip" variant for the CLI)."""
    if locks.is_flock_held(engine_lock_file):
        return f"the engine lock {engine_lock_file} is held"
    url = engine_url(env, engine_url_override)
    answer = probe_health(url, timeout_s=timeout_s)
    if answer is None:
        return None
    return (f"{answer} from {url}{HEALTH_PATH}; any answer there is treated as a live engine, for safety "
            "(if that is not the engine, point the probe elsewhere with --engine-url or TANDEM_ENGINE_URL)")


def check_engine_idle(engine_lock_file: Path, engine_url: str | None, env: Mapping[str, str],
                      *, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Raise EngineLiveError (exit 4) when an engine is live."""
    reason = detect_live_engine(engine_lock_file, engine_url, env, timeout_s=timeout_s)
    if reason is not None:
        raise EngineLiveError(f"a Tandem engine is live ({reason}): {_WHY}", reason=reason)


def probe_health(url: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """What the health endpoint showed (e.g. "HTTP 404"), or None when nothing listens."""
    hostname, port = check_url(url)
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # liveness only: no data is sent or trusted
        connection = http.client.HTTPSConnection(hostname, port, timeout=timeout_s, context=context)
    else:
        connection = http.client.HTTPConnection(hostname, port, timeout=timeout_s)
    try:
        return _ask(connection, parts.path.rstrip("/") + HEALTH_PATH)
    finally:
        connection.close()


def _ask(connection: http.client.HTTPConnection, path: str) -> str | None:
    try:
        connection.connect()
    except OSError:
        return None  # refused, unreachable or no such host: nothing is serving there
    try:
        connection.request("GET", path, headers={"User-Agent": "tandemctl-engine-guard"})
        response = connection.getresponse()
    except TimeoutError:
        # Something accepted the connection but is slow to answer: assume a busy engine.
        return "a connection accepted but no answer in time"
    except (http.client.HTTPException, OSError):
        return None  # not an HTTP server, so not the engine
    return f"HTTP {response.status}"
