"""Choosing the store for an invocation: the one place that names the concrete stores.

`--live` acts through a running engine's HTTP API; otherwise the data dir decides, exactly like
the engine (spec 03 §2.2): a 0.6.9+ database when it is authoritative, else the 0.6.x JSON files.
"""

from collections.abc import Mapping

from tandemctl.errors import StateNotFoundError
from tandemctl.stores.base import Store, StoreSelection
from tandemctl.stores.detect import detect_store
from tandemctl.stores.paths import StatePaths


def open_store(paths: StatePaths, env: Mapping[str, str], selection: StoreSelection) -> Store:
    if selection.live:
        from tandemctl.stores.live_store import open_live_store  # httpx only when it is needed

        return open_live_store(paths, env, selection)
    require_state(paths)
    return detect_store(paths, env, selection)


def require_state(paths: StatePaths) -> None:
    """A data dir that does not exist is a typo or a wrong environment, never an empty store:
    exit 3 naming the path and how it was resolved, before anything is read or created."""
    if paths.data_dir.is_dir() or paths.reliability_file.parent.is_dir():
        return
    raise StateNotFoundError(
        f"no Tandem state at {paths.data_dir}: the data dir does not exist (resolved from {paths.source}); "
        "check --state-dir / TANDEM_STATE_DIR (-v prints the resolved paths); nothing was created",
        path=str(paths.data_dir))
