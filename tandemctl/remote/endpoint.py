"""Where the engine listens: the one place that names the engine-URL variables (spec 06 §1.3).

Order: --engine-url (or config `engine_url`), TANDEM_ENGINE_URL, then
http://$TANDEM_ENGINE_HOST:$TANDEM_ENGINE_PORT with the engine's defaults 127.0.0.1:39731.
"""

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from tandemctl.constants import ENV_ENGINE_HOST, ENV_ENGINE_PORT, ENV_ENGINE_URL
from tandemctl.errors import UsageError

DEFAULT_ENGINE_HOST: Final = "127.0.0.1"
DEFAULT_ENGINE_PORT: Final = 39731


def engine_url_and_source(env: Mapping[str, str], override: str | None = None) -> tuple[str, str]:
    """The engine's base URL (no trailing slash) and which setting chose it."""
    if override and override.strip():
        return override.strip().rstrip("/"), "--engine-url"
    from_env = env.get(ENV_ENGINE_URL, "").strip()
    if from_env:
        return from_env.rstrip("/"), ENV_ENGINE_URL
    host = env.get(ENV_ENGINE_HOST, "").strip() or DEFAULT_ENGINE_HOST
    port_text = env.get(ENV_ENGINE_PORT, "").strip() or str(DEFAULT_ENGINE_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"{ENV_ENGINE_PORT}={port_text!r} is not a TCP port number")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    source = "the default" if not (env.get(ENV_ENGINE_HOST, "").strip() or env.get(ENV_ENGINE_PORT, "").strip()) \
        else f"{ENV_ENGINE_HOST}/{ENV_ENGINE_PORT}"
    return f"http://{host}:{int(port_text)}", source


def engine_url(env: Mapping[str, str], override: str | None = None) -> str:
    """--engine-url, else TANDEM_ENGINE_URL, else http://$TANDEM_ENGINE_HOST:$TANDEM_ENGINE_PORT."""
    return engine_url_and_source(env, override)[0]


def check_url(url: str) -> tuple[str, int | None]:
    """(host, port) of an http(s) URL; a clear usage error otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"engine URL {redact(url)!r} must look like http://host:port")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"engine URL {redact(url)!r} has an invalid port") from None
    return parts.hostname, port


def redact(url: str) -> str:
    """The URL without user:password (never print credentials)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    try:
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        pass
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
