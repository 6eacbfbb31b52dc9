"""`doctor`: exit 0 healthy, 1 warnings, 5 errors; each suspicious finding; the engine and lock probes
on a real flock; the JSON contract and the screen at 80 and 120 columns."""

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.cli.screens import check_screen
from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter
from tests.sweep_fixtures import group_a_dead_letter, run_record
from tests.triage_state import STORE_KINDS, Triage, build_state, corrupt_store, store_file

Run = Callable[..., Result]
DAY = 86_400_000


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def healthy() -> Triage:
    return Triage(dead_letters=[dead_letter("dead-fresh", status="open", created=NOW_MS - 3_600_000)])


def doctor(tandemctl: Run, *args: str) -> tuple[int, dict[str, Any]]:
    result = tandemctl("-o", "json", "doctor", *args)
    body = result.json()
    assert body["exit_code"] == result.exit_code
    return result.exit_code, body["data"]


def levels(data: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["level"] for check in data["checks"]}


def messages(data: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["message"] for check in data["checks"]}


def test_healthy_state_exits_0_with_the_contract(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, healthy())
    result = tandemctl("-o", "json", "doctor")
    assert result.exit_code == 0, result.stdout
    body = result.json()
    assert body["ok"] is True and body["command"] == "doctor"
    data = body["data"]
    assert set(data) == {"paths", "store", "engine", "counts", "checks"}
    assert {p["name"] for p in data["paths"]} == {"data dir", "reliability store", "runs file", "history shards",
                                                  "audit ledger", "runtime events", "journal", "config file"}
    assert set(data["paths"][0]) == {"name", "path", "source", "exists"}
    assert data["paths"][0]["source"] == "--state-dir"
    assert data["store"]["kind"] == kind
    assert data["engine"]["live"] is False and "not held" in data["engine"]["how"]
    assert data["counts"]["dead_letters"] == {"open": 1}
    assert set(levels(data).values()) == {"ok"}


def test_suspicious_rows_are_warnings(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(
        dead_letters=[
            group_a_dead_letter("dead-stuck", run_id="automation-v2-run-gone"),
            dead_letter("dead-stale", status="open", created=NOW_MS - 10 * DAY),
            dead_letter("dead-parked", status="ignored", operator_disposition="retry_exhausted"),
            group_a_dead_letter("dead-due", status="retrying", metadata={"retry_dispatch_count": 5}),
        ],
        runs=[run_record()]))
    code, data = doctor(tandemctl)
    assert code == 1
    got = levels(data)
    assert got["stuck retry requests"] == got["stale open rows"] == got["exhausted rows"] == "warning"
    text = messages(data)
    assert text["stuck retry requests"].startswith("1 retry request(s) the dispatcher can never act on: dead-stuck")
    assert text["stale open rows"] == "1 open for more than 7d: dead-stale"
    assert text["exhausted rows"] == "1 parked after 5 dispatches: dead-parked; 1 about to be: dead-due"
    code, data = doctor(tandemctl, "--stale-after", "30d")
    assert levels(data)["stale open rows"] == "ok"


def test_a_corrupt_store_is_an_error(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, healthy())
    corrupt_store(kind, state.root)
    code, data = doctor(tandemctl)
    assert code == 5
    assert levels(data)["reliability store"] == "error"


def test_a_broken_audit_chain_is_an_error(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, healthy())
    audit = state.data / "audit" / "protected_events.log.jsonl"
    audit.parent.mkdir(parents=True)
    audit.write_text('{"seq": 7, "record_hash": "x"}\n')
    code, data = doctor(tandemctl)
    assert code == 5 and levels(data)["audit chain"] == "error"


@contextmanager
def held(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def test_engine_lock_and_store_lock_are_probed(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, healthy())
    with held(state.data / "stateful_runtime.engine.lock"), \
            held(store_file(kind, state.root).with_name(store_file(kind, state.root).name + ".tandemctl.lock")):
        code, data = doctor(tandemctl)
    assert data["engine"]["live"] is True and "engine lock" in data["engine"]["how"]
    assert levels(data)["engine"] == "ok" and levels(data)["lock"] == "warning"
    assert code == 1


@pytest.mark.parametrize("columns", [80, 120])
def test_doctor_screen(tandemctl: Run, kind: str, state: StateDir, columns: int,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    build_state(kind, state.root, healthy())
    monkeypatch.chdir(state.root.parent)  # relative paths: the screen does not depend on the temp dir
    env = {"COLUMNS": str(columns), "TTY_COMPATIBLE": "1",
           "TANDEM_ENGINE_URL": "http://127.0.0.1:9", "XDG_CONFIG_HOME": "cfg"}
    result = tandemctl("--state-dir", state.root.name, "doctor", env=env)
    assert result.exit_code == 0, result.stdout
    check_screen(f"doctor_{columns}" if kind == "json" else f"doctor_{kind}_{columns}", result.stdout)


def test_history_shards_in_several_months_are_a_warning(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, healthy())
    code, data = doctor(tandemctl)
    assert levels(data)["stale history shards"] == "ok"
    shards = state.data / "automation-runs" / "automation_v2_runs"
    for month in ("2026/10", "2026/11"):
        (shards / month).mkdir(parents=True)
        (shards / month / "run-x.json").write_text('{"schema_version": 1, "run": {}}')
    (shards / "2026/11" / "run-y.json").write_text('{"schema_version": 1, "run": {}}')
    code, data = doctor(tandemctl)
    assert levels(data)["stale history shards"] == "warning" and code == 1
    assert messages(data)["stale history shards"].endswith("2026/10/run-x.json + 2026/11/run-x.json")
