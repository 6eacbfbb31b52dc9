"""The engine's API token, found the way spec 06 §1.1 describes; its value is never shown.

Order: --api-token-file, TANDEM_API_TOKEN, TANDEM_API_TOKEN_FILE, then the engine's shared file
`<tandem home>/security/engine_api_token` (tandem home: TANDEM_HOME, else TANDEM_STATE_DIR, else
the platform data dir + `tandem`). Values are trimmed; an empty value counts as unset.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tandemctl.errors import AuthError

ENV_API_TOKEN: Final = "TANDEM_API_TOKEN"
ENV_API_TOKEN_FILE: Final = "TANDEM_API_TOKEN_FILE"
SHARED_TOKEN: Final = Path("security") / "engine_api_token"
MAX_TOKEN_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class ApiToken:
    """A token and where it came from; `repr`/`str` never show the value."""

    value: str | None = field(repr=False)
    source: str  # e.g. "TANDEM_API_TOKEN" or "the file /x/security/engine_api_token"
    looked_at: Path | None = None  # the shared file looked for, when nothing was found

    def __str__(self) -> str:
        return f"token from {self.source}" if self.value else "no token"


def tandem_home(env: Mapping[str, str], home: Path | None = None) -> Path:
    """`resolve_tandem_home_dir`: TANDEM_HOME, else TANDEM_STATE_DIR, else <data dir>/tandem."""
    for name in ("TANDEM_HOME", "TANDEM_STATE_DIR"):
        value = env.get(name, "").strip()
        if value:
            return Path(value)
    base = home if home is not None else Path.home()
    xdg = env.get("XDG_DATA_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "tandem"
    if os.uname().sysname == "Darwin":
        return base / "Library" / "Application Support" / "tandem"
    return base / ".local" / "share" / "tandem"


def resolve_token(env: Mapping[str, str], token_file: str | None) -> ApiToken:
    """The first source that applies; an explicit file that cannot be read is an error."""
    if token_file is not None and token_file.strip():
        path = Path(token_file.strip()).expanduser()
        return ApiToken(_read(path, required=True, label="--api-token-file"), f"--api-token-file {path}")
    value = env.get(ENV_API_TOKEN, "").strip()
    if value:
        return ApiToken(value, ENV_API_TOKEN)
    named = env.get(ENV_API_TOKEN_FILE, "").strip()
    if named:
        path = Path(named).expanduser()
        return ApiToken(_read(path, required=True, label=ENV_API_TOKEN_FILE), f"{ENV_API_TOKEN_FILE} {path}")
    shared = tandem_home(env) / SHARED_TOKEN
    found = _read(shared, required=False, label="the engine's shared token file")
    if found:
        return ApiToken(found, f"the engine's token file {shared}")
    return ApiToken(None, "nowhere", looked_at=shared)


def _read(path: Path, *, required: bool, label: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TOKEN_BYTES + 1)
    except FileNotFoundError:
        if required:
            raise AuthError(f"{label}: no token file at {path}") from None
        return None
    except OSError as exc:
        if required:
            raise AuthError(f"{label}: cannot read the token file {path}: {exc.strerror or exc}") from None
        return None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise AuthError(f"{label}: the token file {path} is not UTF-8 text") from None
    if len(data) > MAX_TOKEN_BYTES or any(ch in text for ch in "\r\n\x00"):
        raise AuthError(f"{label}: the token file {path} does not hold a single token")
    if not text and required:
        raise AuthError(f"{label}: the token file {path} is empty")
    return text or None
