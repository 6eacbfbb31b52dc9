"""Which store keeps a data dir's dead letters, decided like the engine (spec 03 §2.2)."""

from collections.abc import Mapping

from tandemctl.stores.base import Store, StoreSelection
from tandemctl.stores.json_store import JsonFileStore
from tandemctl.stores.paths import StatePaths


def detect_store(paths: StatePaths, env: Mapping[str, str], selection: StoreSelection) -> Store:
    # The 0.6.9+ database detection plugs in here (the [databases] issue).
    return JsonFileStore(paths, env)
