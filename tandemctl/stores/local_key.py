"""The engine's local memory key, for reading local-encrypted database rows (spec 03 §2.5 case 2):
`TANDEM_MEMORY_LOCAL_KEY_FILE`, else `~/.tandem/memory/local_memory.key` when the decrypt
provider is a `local-…` one. Read only; never created or changed."""

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from tandemctl.engine.protected_records import parse_local_key
from tandemctl.errors import UsageError

ENV_KEY_FILE: Final = "TANDEM_MEMORY_LOCAL_KEY_FILE"
ENV_PROVIDER: Final = "TANDEM_MEMORY_DECRYPT_PROVIDER"
DEFAULT_KEY_PATH: Final = Path(".tandem") / "memory" / "local_memory.key"


def key_file(env: Mapping[str, str]) -> Path | None:
    """The key file the engine would use, or None when the memory is not locally encrypted."""
    explicit = env.get(ENV_KEY_FILE, "").strip()
    if explicit:
        return Path(explicit)
    if env.get(ENV_PROVIDER, "").strip().startswith("local-"):
        home = env.get("HOME", "").strip()
        return (Path(home) if home else Path.home()) / DEFAULT_KEY_PATH
    return None


def load_local_key(env: Mapping[str, str]) -> bytes | None:
    """The 32-byte key, or None when none is configured or the default file is absent."""
    path = key_file(env)
    if path is None:
        return None
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if env.get(ENV_KEY_FILE, "").strip():
            raise UsageError(f"{ENV_KEY_FILE}={path}: no such file") from None
        return None  # the engine's default path without a key: rows stay sealed
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the local memory key: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: the local memory key must be a regular file (the engine refuses links)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the local memory key: {exc.strerror or exc}") from None
    return parse_local_key(data)
