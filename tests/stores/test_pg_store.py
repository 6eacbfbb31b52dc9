"""The PostgreSQL store against real servers: connection failures, the engine's advisory lock
held elsewhere, a marker naming no schema, detection without a marker, credentials never shown."""

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql.executors import PostgreSQLExecutor

from tandemctl.stores import db_schema as s
from tests.conftest import Result, StateDir
from tests.factories import dead_letter, write_store
from tests.pg_server import HOST, SUPERUSER, running_cluster
from tests.reliability_helpers import spawn
from tests.stores.pg_builder import write_schema_marker
from tests.stores.store_kinds import Seeded, seed
from tests.stores.test_sqlite_store import one_line_error

Run = Callable[..., Result]
SECRET = "right-secret"
WAITING_TANDEMCTL = ("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                     "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'tandemctl'")


@pytest.fixture
def pg_seeded(state: StateDir, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    seeded = seed("postgres", state, [dead_letter("dl-1"), dead_letter("dl-2", updated=2000)], pg_url=pg_url)
    for name, value in seeded.env.items():
        monkeypatch.setenv(name, value)
    return seeded


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_one_line_exit_1(state: StateDir, tandemctl: Run) -> None:
    write_schema_marker(state.data, "tandem_rt_0123456789abcdef")
    url = f"postgresql://{SUPERUSER}:{SECRET}@{HOST}:{_free_port()}/nothing"
    result = tandemctl("--storage-backend", "postgres", "--postgres-url", url, "dead-letters", "list")
    one_line_error(result, 1, "cannot use the PostgreSQL database", ":***@")
    assert SECRET not in result.stderr


@pytest.fixture(scope="module")
def password_server(request: pytest.FixtureRequest) -> Iterator[PostgreSQLExecutor]:
    """A cluster of its own that asks TCP clients for a password (scram-sha-256)."""
    with running_cluster(request) as executor:
        with psycopg.connect(host=HOST, port=executor.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f"ALTER ROLE {SUPERUSER} PASSWORD '{SECRET}'")
            hba = connection.execute("SHOW hba_file").fetchone()
            assert hba is not None
            Path(hba[0]).write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
            connection.execute("SELECT pg_reload_conf()")
        yield executor


def test_a_wrong_password_is_one_line_exit_1(state: StateDir, tandemctl: Run,
                                              password_server: PostgreSQLExecutor) -> None:
    write_schema_marker(state.data, "tandem_rt_0123456789abcdef")
    url = f"postgresql://{SUPERUSER}:wrong-one@{HOST}:{password_server.port}/postgres"
    result = tandemctl("--storage-backend", "postgres", "--postgres-url", url, "dead-letters", "list")
    one_line_error(result, 1, "password authentication failed")
    assert "wrong-one" not in result.stderr


def test_a_marker_naming_no_schema_is_exit_5(state: StateDir, tandemctl: Run, pg_url: str) -> None:
    write_schema_marker(state.data, "tandem_rt_ffffffffffffffff")
    result = tandemctl("--storage-backend", "postgresql", "--postgres-url", pg_url, "dead-letters", "list")
    one_line_error(result, 5, "not a Tandem schema v5 store")


def test_no_marker_is_json_mode(state: StateDir, tandemctl: Run, pg_url: str) -> None:
    write_store(state.reliability, [dead_letter("dl-json")])
    result = tandemctl("-v", "--storage-backend", "postgres", "--postgres-url", pg_url, "-o", "json",
                       "dead-letters", "list")
    assert [row["dead_letter_id"] for row in result.json()["data"]] == ["dl-json"]
    assert "backend postgres, but no schema marker" in result.stderr


def test_writes_refused_while_an_engine_holds_the_advisory_lock(pg_seeded: Seeded, tandemctl: Run) -> None:
    assert pg_seeded.pg_url is not None and pg_seeded.schema is not None
    before = pg_seeded.raw()
    with psycopg.connect(pg_seeded.pg_url, autocommit=True) as engine:  # an engine on another host
        engine.execute("SELECT pg_advisory_lock(%s)", (s.engine_lock_key(pg_seeded.schema),))
        one_line_error(tandemctl("dead-letters", "park", "dl-1", "--reason", "x"), 4,
                       "a Tandem engine is running; stop it or use the live mode (--live)")
        assert tandemctl("dead-letters", "list").exit_code == 0
    assert pg_seeded.raw() == before
    assert tandemctl("dead-letters", "park", "dl-1", "--reason", "x").exit_code == 0  # released: it works


def test_the_write_waits_for_the_engines_transaction_lock(pg_seeded: Seeded) -> None:
    """An engine-style writer inside its write transaction: tandemctl waits on the lock, then writes."""
    assert pg_seeded.pg_url is not None and pg_seeded.schema is not None
    with psycopg.connect(pg_seeded.pg_url) as engine, psycopg.connect(pg_seeded.pg_url, autocommit=True) as watch:
        engine.execute("SELECT pg_advisory_xact_lock(%s)", (s.write_txn_key(pg_seeded.schema),))
        proc = spawn(pg_seeded.state.root, ["dead-letters", "park", "dl-1", "--reason", "x"], pg_seeded.env)
        # A fresh statement each time in autocommit: activity views are snapshotted per transaction.
        while watch.execute(WAITING_TANDEMCTL).fetchone() != (1,):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        assert pg_seeded.records()["dl-1"]["status"] == "open"
        engine.commit()
    assert proc.wait(timeout=60) == 0, proc.communicate()
    assert pg_seeded.records()["dl-1"]["status"] == "ignored"


def test_verbose_never_shows_the_password(state: StateDir, tandemctl: Run, pg_url: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = seed("postgres", state, [dead_letter("dl-1")], pg_url=pg_url)
    url = pg_url.replace(f"{SUPERUSER}@", f"{SUPERUSER}:{SECRET}@")  # trust auth accepts any password
    monkeypatch.setenv("TANDEM_STORAGE_BACKEND", "postgres")
    monkeypatch.setenv("TANDEM_STORAGE_POSTGRES_URL", url)
    result = tandemctl("-v", "dead-letters", "list")
    assert result.exit_code == 0, result.stderr
    assert f"store: postgres postgresql://{SUPERUSER}:***@" in result.stderr and seeded.schema in result.stderr
    assert SECRET not in result.stderr + result.stdout
