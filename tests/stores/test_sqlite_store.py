"""The SQLite store on real files built per spec 03 §2.3: detection, sealed and local-encrypted
rows, bad rows and files, the engine lock held by another process, the clock rule, the sweep."""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tandemctl.cli.app import app
from tandemctl.engine.rows import RowChange
from tandemctl.errors import UnsupportedStateError
from tandemctl.stores import db_schema as s
from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter, write_json, write_store
from tests.stores.sqlite_builder import TEST_KEY, StoreBuilder, build_sqlite
from tests.stores.store_kinds import Seeded, db_path, seed
from tests.sweep_fixtures import RUN_ID, definition, group_a_dead_letter, run_record

Run = Callable[..., Result]


def build(state: StateDir, builder: StoreBuilder, *rows: dict[str, object]) -> Seeded:
    return seed("sqlite", state, list(rows), builder=builder)


def one_line_error(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_mode_and_why_with_verbose_and_the_stale_json_note_once(state: StateDir, tandemctl: Run) -> None:
    write_store(state.reliability, [dead_letter("dl-json")])
    build(state, StoreBuilder(), dead_letter("dl-db"))
    result = tandemctl("-v", "-o", "json", "dead-letters", "list")
    assert [row["dead_letter_id"] for row in result.json()["data"]] == ["dl-db"]
    assert "store: sqlite" in result.stderr and "database mode" in result.stderr
    assert result.stderr.count("is stale") == 1


@pytest.mark.parametrize(("builder", "why"), [
    (StoreBuilder(migration_status=None), "has not run"),
    (StoreBuilder(migration_status="in_progress"), "'in_progress', not complete"),
])
def test_json_mode_until_the_import_is_complete(state: StateDir, tandemctl: Run, builder: StoreBuilder,
                                                why: str) -> None:
    write_store(state.reliability, [dead_letter("dl-json")])
    build(state, builder, dead_letter("dl-db"))
    result = tandemctl("-v", "-o", "json", "dead-letters", "list")
    assert [row["dead_letter_id"] for row in result.json()["data"]] == ["dl-json"]
    assert "store: json" in result.stderr and why in result.stderr


def test_no_database_file_is_json_mode(state: StateDir, tandemctl: Run) -> None:
    write_store(state.reliability, [dead_letter("dl-json")])
    result = tandemctl("-v", "dead-letters", "list")
    assert "JSON mode: backend sqlite and no" in result.stderr
    assert not db_path(state).exists()  # never created


@pytest.mark.parametrize(("builder", "needle"), [
    (StoreBuilder(schema_version=6), "schema_version is 6"),
    (StoreBuilder(schema_version=None), "schema_version is None"),
    (StoreBuilder(transfer_status="in_progress"), "backend transfer is not complete"),
])
def test_a_store_not_understood_is_refused(state: StateDir, tandemctl: Run, builder: StoreBuilder,
                                           needle: str) -> None:
    build(state, builder, dead_letter("dl-db"))
    before = db_path(state).read_bytes()
    one_line_error(tandemctl("dead-letters", "list"), 5, needle)
    assert db_path(state).read_bytes() == before


@pytest.mark.parametrize(("argv", "needle"), [
    (("--storage-backend", "mysql"), "expected sqlite or postgres"),
    (("--storage-backend", "postgres"), "needs a URL"),
])
def test_backend_selection_errors(tandemctl: Run, argv: tuple[str, ...], needle: str) -> None:
    one_line_error(tandemctl(*argv, "dead-letters", "list"), 2, needle)


def test_env_backend_value_is_checked_like_the_engine(tandemctl: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_STORAGE_BACKEND", "Oracle")
    one_line_error(tandemctl("dead-letters", "list"), 2, "'Oracle'")


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "local_memory.key"
    path.write_text(TEST_KEY.hex())
    path.chmod(0o600)
    return path


def test_local_key_decrypts_for_reading_only(state: StateDir, tandemctl: Run, key_file: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    builder = StoreBuilder().add("dead_letters", dead_letter("dl-enc", reason="secret reason"), encoding="local")
    seeded = build(state, builder)
    before = seeded.raw()
    assert tandemctl("-o", "json", "dead-letters", "list").json()["data"][0]["tandemctl_sealed"]["readable"] is False
    monkeypatch.setenv("TANDEM_MEMORY_LOCAL_KEY_FILE", str(key_file))
    row = tandemctl("-o", "json", "dead-letters", "list").json()["data"][0]
    assert row["reason"] == "secret reason" and row["tandemctl_sealed"]["readable"] is True
    assert tandemctl("dead-letters", "park", "dl-enc", "--reason", "x").exit_code == 6
    assert seeded.raw() == before
    export = tandemctl("export")
    assert orjson.loads(export.stdout)["dead_letters"][0]["reason"] == "secret reason"
    assert "decrypted with the local memory key" in export.stderr


def test_default_key_path_with_a_local_provider(state: StateDir, tandemctl: Run, key_file: Path,
                                                monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    build(state, StoreBuilder().add("dead_letters", dead_letter("dl-enc"), encoding="local"))
    home = Path(os.environ["HOME"])
    (home / ".tandem" / "memory").mkdir(parents=True)
    (home / ".tandem" / "memory" / "local_memory.key").write_bytes(key_file.read_bytes())
    monkeypatch.setenv("TANDEM_MEMORY_DECRYPT_PROVIDER", "local-aes")
    assert tandemctl("-o", "json", "dead-letters", "list").json()["data"][0]["reason"] == "provider timeout"


def test_a_wrong_key_leaves_the_row_sealed(state: StateDir, tandemctl: Run, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    build(state, StoreBuilder().add("dead_letters", dead_letter("dl-enc"), encoding="local"))
    wrong = tmp_path / "wrong.key"
    wrong.write_text("ab" * 32)
    monkeypatch.setenv("TANDEM_MEMORY_LOCAL_KEY_FILE", str(wrong))
    row = tandemctl("-o", "json", "dead-letters", "list").json()["data"][0]
    assert row["tandemctl_sealed"]["readable"] is False and "does not open" in row["tandemctl_sealed"]["note"]


@pytest.mark.parametrize(("add", "field"), [
    (lambda b: b.mismatched("dead_letters", dead_letter("dl-bad"), "org_id", "org-other"), "org_id"),
    (lambda b: b.mismatched("dead_letters", dead_letter("dl-bad"), "id", "dl-else"), "id"),
    (lambda b: b.garbage("dead_letters", dead_letter("dl-bad")), "payload"),
    (lambda b: b.add("dead_letters", dead_letter("dl-bad"), columns={"status": "ignored"}), "status"),
    (lambda b: b.add("dead_letters", dead_letter("dl-bad", status="sleeping")), "status"),
])
def test_a_bad_row_is_exit_5_naming_table_id_and_field(state: StateDir, tandemctl: Run,
                                                       add: Callable[[StoreBuilder], object], field: str) -> None:
    builder = StoreBuilder()
    add(builder)
    seeded = build(state, builder, dead_letter("dl-good"))
    before = seeded.raw()
    # Every tenant: the rows are chosen by their index columns, and this one's columns lie about its tenant.
    one_line_error(tandemctl("--all-tenants", "dead-letters", "park", "--all", "--reason", "x", "--yes"), 5,
                   "dead_letters", "dl-bad", f"'{field}'")
    assert seeded.raw() == before
    doctor = tandemctl("doctor")  # reads every row: the lie is found whatever the tenant
    assert doctor.exit_code == 5 and "dl-bad" in doctor.stdout and f"'{field}'" in doctor.stdout, doctor.stdout


def test_a_truncated_file_is_exit_5(state: StateDir, tandemctl: Run) -> None:
    build(state, StoreBuilder(), dead_letter("dl-1"))
    path = db_path(state)
    path.write_bytes(path.read_bytes()[:300])
    before = path.read_bytes()
    one_line_error(tandemctl("dead-letters", "list"), 5, str(path))
    assert path.read_bytes() == before


HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def engine_lock_held(state: StateDir) -> Iterator[None]:
    state.data.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(state.data / s.ENGINE_LOCK_FILE)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_writes_refused_while_the_engine_lock_is_held(state: StateDir, tandemctl: Run,
                                                      engine_lock_held: None) -> None:
    seeded = build(state, StoreBuilder(), dead_letter("dl-1"))
    before = seeded.raw()
    one_line_error(tandemctl("dead-letters", "park", "dl-1", "--reason", "x"), 4,
                   "a Tandem engine is running; stop it or use the live mode (--live)")
    assert seeded.raw() == before
    assert tandemctl("dead-letters", "list").exit_code == 0  # reads still work


def test_reads_work_while_a_writer_holds_a_transaction(state: StateDir, tandemctl: Run) -> None:
    build(state, StoreBuilder(), dead_letter("dl-1"))
    writer = sqlite3.connect(db_path(state), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE dead_letters SET updated_at_ms = updated_at_ms WHERE dead_letter_id = 'dl-1'")
        assert tandemctl("dead-letters", "list").exit_code == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_the_clock_only_moves_forward_in_column_and_payload(state: StateDir, tandemctl: Run) -> None:
    seeded = build(state, StoreBuilder(), dead_letter("dl-future", created=NOW_MS + 5, updated=NOW_MS + 10))
    park = tandemctl("-o", "json", "dead-letters", "park", "dl-future", "--reason", "x")
    assert park.exit_code == 0
    assert seeded.records()["dl-future"]["updated_at_ms"] == NOW_MS + 11
    assert seeded.columns("dl-future")[:2] == ("ignored", NOW_MS + 11)
    envelope = orjson.loads(seeded.raw()["dl-future"])
    assert (envelope["kind"], envelope["id"]) == ("dead_letter", "dl-future")
    # The journal says what was written, so undo recognises the row and moves the clock on again.
    undo = tandemctl("undo", park.json()["data"]["operation_id"], "--yes")
    assert undo.exit_code == 0, undo.stderr
    assert seeded.columns("dl-future")[:2] == ("open", NOW_MS + 12)


def _sweep_state(root: Path, *, database: bool) -> None:
    data = root / "data"
    rows = [group_a_dead_letter(), group_a_dead_letter("dead-no-run", run_id="run-missing"),
            group_a_dead_letter("dead-wait", source_type="stateful_wait")]
    runs = [run_record()]
    write_json(data / "automations-v2" / "automation-dead-letter.json", definition())
    write_json(data / "automations-v2" / "index.json", {"schema_version": 1, "definitions": [
        {"automation_id": "automation-dead-letter", "path": "automation-dead-letter.json", "updated_at_ms": 900}]})
    if database:
        builder = StoreBuilder()
        for run in runs:
            builder.add_run(run)
        build_sqlite(builder.extend("dead_letters", rows), data)
    else:
        write_store(data / "runtime" / "stateful_reliability.json", rows)
        write_json(data / "automation_v2_runs.json", {"schema_version": 1, "runs": {r["run_id"]: r for r in runs}})


def test_sweep_dry_run_plans_like_the_files_and_sweep_refuses(tmp_path: Path) -> None:
    def sweep(root: Path, *argv: str) -> Result:
        result = CliRunner().invoke(app, ["--state-dir", str(root), "-o", "json", "sweep", *argv])
        return Result(result.exit_code, result.stdout, result.stderr)

    _sweep_state(tmp_path / "files", database=False)
    _sweep_state(tmp_path / "db", database=True)
    from_files = sweep(tmp_path / "files", "--once", "--dry-run")
    from_db = sweep(tmp_path / "db", "--once", "--dry-run")
    assert from_files.exit_code == from_db.exit_code == 0, (from_files.stderr, from_db.stderr)
    assert from_db.json()["data"] == from_files.json()["data"]
    plan = from_db.json()["data"]
    assert [item["dead_letter_id"] for item in plan["dispatched"]] == ["dead-review-effect"]
    assert plan["runs_requeued"] == [RUN_ID] and plan["skipped"]
    database = tmp_path / "db" / "data" / s.SQLITE_FILE
    before = database.read_bytes()
    refused = sweep(tmp_path / "db", "--once")
    assert refused.exit_code == 4
    assert "dispatcher handles requested retries at start-up and every second" in refused.stdout
    assert database.read_bytes() == before


def test_a_first_page_or_a_filtered_list_decodes_only_what_it_needs(state: StateDir, tandemctl: Run) -> None:
    """A row never reached is never decoded: the oldest row is garbage, the newest page is fine."""
    builder = StoreBuilder().garbage("dead_letters", dead_letter("dl-bad", status="ignored", updated=1))
    build(state, builder, *[dead_letter(f"dl-{i}", updated=1000 + i) for i in range(5)])
    page = tandemctl("-o", "json", "dead-letters", "list", "--limit", "2")
    assert [row["dead_letter_id"] for row in page.json()["data"]] == ["dl-4", "dl-3"]
    assert tandemctl("dead-letters", "list", "--status", "open", "--limit", "0").exit_code == 0
    one_line_error(tandemctl("dead-letters", "list", "--limit", "0"), 5, "dl-bad")


def test_the_store_itself_never_writes_a_sealed_row(state: StateDir, key_file: Path) -> None:
    seeded = build(state, StoreBuilder().add("dead_letters", dead_letter("dl-enc"), encoding="local"))
    seeded.env["TANDEM_MEMORY_LOCAL_KEY_FILE"] = str(key_file)
    before = seeded.raw()
    with seeded.store().writer(5.0) as writer:
        row = writer.dead_letters()[0]
        assert row["tandemctl_sealed"]["readable"] is True
        with pytest.raises(UnsupportedStateError, match="never writes sealed rows"):
            writer.apply([RowChange("dead_letters", "dl-enc", row, {**row, "status": "ignored"})])
    assert seeded.raw() == before
