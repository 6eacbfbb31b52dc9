"""The I/O floor of one sweep: read and parse every file the sweep reads, write every file it
writes (temp + fsync + rename, audit append + fsync), in plain Python with orjson.

    python benchmarks/io_floor.py DATA_DIR REQUEUED_RUNS_JSON   # time it as a process

It reads the reliability store, the hot runs file, every definition, the audit ledger and the
history shards of every retry candidate's run (what the sweep reads), and writes the hot runs
file, one shard per requeued run (the list comes from a `sweep --dry-run` made beforehand), one
audit line per requeued run and the reliability store (what the sweep writes).
"""

import os
import sys
from pathlib import Path
from typing import Any

import orjson

CANDIDATE = {"retry_requested", "retrying"}


def _write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.floor.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)


def _shards(shard_root: Path, run_ids: set[str]) -> dict[str, tuple[Path, Any]]:
    found: dict[str, tuple[Path, Any]] = {}
    if not shard_root.is_dir():
        return found
    months = [month for year in shard_root.iterdir() for month in year.iterdir()]
    for run_id in run_ids:
        for month in months:
            path = month / f"{run_id}.json"
            try:
                found[run_id] = (path, orjson.loads(path.read_bytes()))
            except FileNotFoundError:
                continue
    return found


def sweep_io_floor(data: Path, requeued: set[str]) -> None:
    reliability = data / "runtime" / "stateful_reliability.json"
    store = orjson.loads(reliability.read_bytes())
    runs_file = data / "automation_v2_runs.json"
    runs = orjson.loads(runs_file.read_bytes()) if runs_file.exists() else {"schema_version": 1, "runs": {}}
    definitions = data / "automations-v2"
    for path in definitions.glob("*.json") if definitions.is_dir() else []:
        orjson.loads(path.read_bytes())
    audit = data / "audit" / "protected_events.log.jsonl"
    if audit.exists():
        for line in audit.read_bytes().splitlines():
            orjson.loads(line)
    run_ids = {dl["run_id"] for dl in store.get("dead_letters", []) if dl["status"] in CANDIDATE and dl.get("run_id")}
    shards = _shards(data / "automation-runs" / "automation_v2_runs", run_ids)
    _write(runs_file, orjson.dumps(runs, option=orjson.OPT_INDENT_2))
    for run_id in requeued:
        if run_id in shards:
            path, record = shards[run_id]
            _write(path, orjson.dumps(record, option=orjson.OPT_INDENT_2))
    audit.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(audit, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for run_id in sorted(requeued):
            os.write(fd, orjson.dumps({"run_id": run_id}) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    _write(reliability, orjson.dumps(store, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    sweep_io_floor(Path(sys.argv[1]), set(orjson.loads(Path(sys.argv[2]).read_bytes())))
