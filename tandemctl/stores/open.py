"""Choosing the store for an invocation: the one place that names the concrete stores.

`--live` acts through a running engine's HTTP API; otherwise the data dir decides, exactly like
the engine (spec 03 §2.2): a 0.6.9+ database when it is authoritative, else the 0.6.x JSON files.
"""

from collections.abc import Mapping

from tandemctl.stores.base import Store, StoreSelection
from tandemctl.stores.detect import detect_store
from tandemctl.stores.paths import StatePaths


def open_store(paths: StatePaths, env: Mapping[str, str], selection: StoreSelection) -> Store:
    if selection.live:
        from tandemctl.stores.live_store import open_live_store  # httpx only when it is needed

        return open_live_store(paths, env, selection)
    return detect_store(paths, env, selection)
