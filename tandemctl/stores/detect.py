"""Which store keeps a data dir's dead letters, decided like the engine (spec 03 §2.2): the
backend from the selection or TANDEM_STORAGE_BACKEND, the database's "initialized" hint, schema v5,
no unfinished backend transfer, and the one-time import marked complete; else the JSON files."""

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tandemctl.errors import UnsupportedStateError, UsageError
from tandemctl.stores import db_schema as s
from tandemctl.stores.base import Store, StoreSelection
from tandemctl.stores.paths import StatePaths
from tandemctl.stores.sql_dialect import Dialect, SqliteDialect

if TYPE_CHECKING:
    from tandemctl.stores.sql_store import SqlStore

ENV_BACKEND: Final = "TANDEM_STORAGE_BACKEND"
ENV_POSTGRES_URL: Final = "TANDEM_STORAGE_POSTGRES_URL"
RELIABILITY_NAME: Final = "stateful_reliability.json"


def storage_backend(env: Mapping[str, str], selection: StoreSelection) -> str:
    """`sqlite` or `postgres`, exactly the values the engine accepts (anything else: exit 2)."""
    raw = selection.storage_backend if selection.storage_backend is not None else env.get(ENV_BACKEND, "")
    value = raw.strip().lower()
    if value in ("", "sqlite"):
        return "sqlite"
    if value in ("postgres", "postgresql"):
        return "postgres"
    raise UsageError(f"storage backend {raw!r} (--storage-backend or {ENV_BACKEND}): expected sqlite or postgres")


def database_root(paths: StatePaths) -> Path:
    """R's parent when R (the reliability file's folder) is named `runtime`, else R itself."""
    runtime = paths.reliability_file.parent
    return runtime.parent if runtime.name == "runtime" else runtime


def detect_store(paths: StatePaths, env: Mapping[str, str], selection: StoreSelection) -> Store:
    backend = storage_backend(env, selection)
    if paths.reliability_file.name != RELIABILITY_NAME:
        return _json(paths, env, f"JSON mode: {paths.reliability_file.name} is not {RELIABILITY_NAME}, "
                                 "which the engine never moves into its database")
    root = database_root(paths)
    dialect: Dialect
    if backend == "postgres":
        url = (selection.postgres_url or env.get(ENV_POSTGRES_URL, "")).strip()
        if not url:
            raise UsageError(f"the postgres backend needs a URL: --postgres-url or {ENV_POSTGRES_URL}")
        marker = root / s.PG_SCHEMA_MARKER_FILE
        if not marker.is_file():
            return _json(paths, env, f"JSON mode: backend postgres, but no schema marker {marker} "
                                     "(the engine has not initialised PostgreSQL for this data dir)")
        from tandemctl.stores.pg_dialect import PostgresDialect  # psycopg only when PostgreSQL is used

        schema = s.schema_from_marker(marker.read_text(encoding="utf-8", errors="replace"))
        dialect = PostgresDialect(url, schema, marker, paths.engine_lock_file)
    else:
        database = root / s.SQLITE_FILE
        if not database.exists():
            return _json(paths, env, f"JSON mode: backend sqlite and no {database} (Tandem 0.6.8 or older, "
                                     "or 0.6.9+ not started yet)")
        dialect = SqliteDialect(database, paths.engine_lock_file)
    if root != paths.engine_lock_file.parent:
        raise UnsupportedStateError(f"the database root {root} and the engine lock's folder "
                                    f"{paths.engine_lock_file.parent} differ; tandemctl cannot tell which engine "
                                    "owns this store (pass --state-dir rather than --reliability-file)")
    from tandemctl.stores.sql_store import SqlStore  # each store's modules only when it is the one

    store = SqlStore(paths, env, dialect, why="")
    why = _authority(store)
    if why.startswith("JSON"):
        store.close()
        return _json(paths, env, why)
    notes: tuple[str, ...] = ()
    if paths.reliability_file.exists():
        notes = (f"{paths.reliability_file} is stale: this Tandem reads and writes its {backend} database "
                 "only, so tandemctl ignores that file",)
    store.why, store.notes = why, notes
    return store


def _json(paths: StatePaths, env: Mapping[str, str], why: str) -> Store:
    from tandemctl.stores.json_store import JsonFileStore

    return JsonFileStore(paths, env, why=why)


def _authority(store: "SqlStore") -> str:
    """The mode and why: refuse what is not understood, JSON until the import completed."""
    where = store.dialect.location
    versions = store.fetch(f"SELECT schema_version FROM {s.SCHEMA_METADATA}")
    version = versions[0][0] if versions else None
    if len(versions) != 1 or version != s.SCHEMA_VERSION:
        raise UnsupportedStateError(f"{where}: schema_metadata.schema_version is {version!r}, this tandemctl "
                                    f"understands {s.SCHEMA_VERSION} (Tandem 0.6.9-0.7.x); nothing was read")
    transfers = store.fetch(f"SELECT transfer_id, status FROM {s.BACKEND_TRANSFERS}")
    unfinished = [f"{tid} ({status})" for tid, status in transfers if status != s.TRANSFER_COMPLETE]
    if unfinished:
        raise UnsupportedStateError(f"{where}: a backend transfer is not complete: {', '.join(unfinished)}; the "
                                    "engine refuses this store until `tandem-engine storage migrate` finishes")
    marker = store.fetch(f"SELECT status FROM {s.STATEFUL_MIGRATIONS} WHERE migration_id = ?",
                         (s.LEGACY_MIGRATION_ID,))
    if not marker:
        return (f"JSON mode: {where} exists but its one-time import ({s.LEGACY_MIGRATION_ID}) has not run, so the "
                "engine still reads the JSON files")
    if marker[0][0] != s.MIGRATION_COMPLETE:
        return (f"JSON mode: the one-time import ({s.LEGACY_MIGRATION_ID}) in {where} is {marker[0][0]!r}, not "
                "complete, so the engine still reads the JSON files")
    return f"database mode: {where} is schema v{s.SCHEMA_VERSION} and its one-time import is complete"
