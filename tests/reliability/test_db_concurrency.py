"""Concurrency on the 0.6.9+ databases with real processes: two tandemctl processes (different data
dirs, as on two hosts) acting on one PostgreSQL database at once, and tandemctl against an
engine-style writer on SQLite. Nothing lost, nothing applied twice."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from tandemctl.stores import db_schema as s
from tests.conftest import StateDir
from tests.factories import dead_letter
from tests.reliability_helpers import journal_entries, spawn
from tests.stores.pg_builder import write_schema_marker
from tests.stores.store_kinds import Seeded, seed

ROWS = 40
ROUNDS = (("park", "ignored"), ("reopen", "open"), ("retry", "retry_requested"), ("resolve", "resolved"))


def _changed(entries: list[dict[str, Any]], action: str) -> list[str]:
    return [row["dead_letter_id"] for entry in entries if entry["action"] == action for row in entry["rows"]]


def test_two_tandemctl_processes_on_one_postgres(tmp_path: Path, pg_url: str) -> None:
    hosts = [StateDir(tmp_path / name) for name in ("host-a", "host-b")]
    for host in hosts:
        (host.data / "runtime").mkdir(parents=True)
    seeded = seed("postgres", hosts[0], [dead_letter(f"dl-{i:02}", updated=1000 + i) for i in range(ROWS)],
                  pg_url=pg_url)
    assert seeded.schema is not None
    write_schema_marker(hosts[1].data, seeded.schema)
    for action, target in ROUNDS:
        procs = [spawn(host.root, ["-o", "json", "dead-letters", action, "--all", "--reason", f"{action} by {i}",
                                   "--yes"], seeded.env) for i, host in enumerate(hosts)]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        changed = [row for host in hosts for row in _changed(journal_entries(host.journal), action)]
        assert sorted(changed) == [f"dl-{i:02}" for i in range(ROWS)]  # every row once, none twice
        records = seeded.records()
        assert {row["status"] for row in records.values()} == {target}
        for i, host in enumerate(hosts):  # each row carries the reason of the process that changed it
            for dl_id in _changed(journal_entries(host.journal), action):
                assert records[dl_id]["disposition_reason"] == f"{action} by {i}"


# An engine-style writer that does not take the engine lock (spec 03 §2.3 upsert rule): it inserts new
# rows and, every third step, rewrites one operator row from a fresh read (metadata only).
ENGINE_WRITER = r"""
import json, os, sqlite3, sys, time
path, stop = sys.argv[1], sys.argv[2]
db = sqlite3.connect(path, isolation_level=None, timeout=5)
db.execute("PRAGMA busy_timeout=5000")
touched = {}
UPSERT = ("INSERT INTO dead_letters (dead_letter_id, goal_id, run_id, status, record_json, updated_at_ms, org_id, "
          "workspace_id, deployment_id) VALUES (?, NULL, ?, ?, ?, ?, 'local', 'local', NULL) "
          "ON CONFLICT(dead_letter_id) DO UPDATE SET status = excluded.status, record_json = excluded.record_json, "
          "updated_at_ms = excluded.updated_at_ms WHERE excluded.updated_at_ms >= dead_letters.updated_at_ms")
def envelope(record):
    ctx = record["scope"]["tenant_context"]
    return json.dumps({"tenant_context": ctx, "kind": "dead_letter", "id": record["dead_letter_id"],
                       "payload": record}, separators=(",", ":"))
template = json.loads(sys.stdin.read())
print("started", flush=True)
step = 0
while not os.path.exists(stop):
    db.execute("BEGIN IMMEDIATE")
    if step % 3 == 0:
        key = "dl-ops-%02d" % (step // 3 % 20)
        record = json.loads(db.execute("SELECT record_json FROM dead_letters WHERE dead_letter_id = ?",
                                       (key,)).fetchone()[0])["payload"]
        record["metadata"] = {"engine_touch": step}
        record["updated_at_ms"] += 1
        touched[key] = step
    else:
        record = dict(template, dead_letter_id="dl-engine-%03d" % step, source_id="effect-engine-%03d" % step,
                      run_id="run-engine", updated_at_ms=2000 + step)
    db.execute(UPSERT, (record["dead_letter_id"], record["run_id"], record["status"], envelope(record),
                        record["updated_at_ms"]))
    db.execute("COMMIT")
    step += 1
    time.sleep(0.005)
print(json.dumps({"steps": step, "touched": touched}))
"""


def test_tandemctl_against_an_engine_style_writer_on_sqlite(state: StateDir, tmp_path: Path) -> None:
    seeded: Seeded = seed("sqlite", state, [dead_letter(f"dl-ops-{i:02}", run_id="run-ops", updated=1000 + i)
                                            for i in range(20)])
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", ENGINE_WRITER, str(state.data / s.SQLITE_FILE), str(stop)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert writer.stdin is not None and writer.stdout is not None
    writer.stdin.write(orjson.dumps(dead_letter("template", run_id="run-engine")).decode())
    writer.stdin.close()
    assert writer.stdout.readline().strip() == "started"
    for action in ("park", "reopen", "park", "reopen", "park"):
        proc = spawn(state.root, ["dead-letters", action, "--run", "run-ops", "--reason", "ops", "--yes"])
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert writer.poll() is None  # the writer was writing throughout
    stop.touch()
    assert writer.wait(timeout=60) == 0, writer.stderr.read() if writer.stderr else ""
    report = orjson.loads(writer.stdout.read())
    records = seeded.records()
    engine_rows = report["steps"] - len(range(0, report["steps"], 3))
    assert sum(key.startswith("dl-engine-") for key in records) == engine_rows  # none of the engine's rows lost
    ops = {key: row for key, row in records.items() if key.startswith("dl-ops-")}
    assert {row["status"] for row in ops.values()} == {"ignored"}  # the last park landed on every row
    for key, step in report["touched"].items():  # and no engine write was overwritten by tandemctl
        assert ops[key]["metadata"]["engine_touch"] == step
    for entry in journal_entries(state.journal):  # every invocation changed each row exactly once
        assert sorted(row["dead_letter_id"] for row in entry["rows"]) == sorted(ops)
    assert len(journal_entries(state.journal)) == 5
