"""Choosing the store for a data dir: the one place that names the concrete stores."""

from collections.abc import Mapping

from tandemctl.stores.base import Store
from tandemctl.stores.json_store import JsonFileStore
from tandemctl.stores.paths import StatePaths


def open_store(paths: StatePaths, env: Mapping[str, str]) -> Store:
    return JsonFileStore(paths, env)
