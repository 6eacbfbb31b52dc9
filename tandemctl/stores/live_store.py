"""The running engine as a store, through its HTTP API (the [live] issue)."""

from collections.abc import Mapping

from tandemctl.errors import UsageError
from tandemctl.stores.base import Store, StoreSelection
from tandemctl.stores.paths import StatePaths


def open_live_store(paths: StatePaths, env: Mapping[str, str], selection: StoreSelection) -> Store:
    raise UsageError("--live: acting through a running engine is not available in this build")
