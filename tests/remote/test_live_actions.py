"""Live writes end to end: every action's mapping to a resume-plan choice, refused actions, the
spent retry budget, bulk under a rate limit, a dropped connection, the journal, undo, and that
the token never reaches any output or file. Real sockets against the fake engine."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, StateDir
from tests.remote import engine_rows as rows
from tests.remote.fake_engine import FakeEngine
from tests.remote.live_helpers import RESUME_PLAN, TOKEN, Live, all_text_under, seed

Factory = Callable[..., FakeEngine]
EXHAUSTED = {"retry_dispatch_count": 5, "retry_dispatched_at_ms": 900, "retry_backoff_ms": 64000}


@pytest.fixture(autouse=True)
def _clean_env(clean_live_env: None) -> None:
    """Every test here runs without the live-mode variables of the environment."""


def journal(state: StateDir) -> list[dict[str, object]]:
    return [json.loads(line) for line in state.journal.read_text().splitlines()]


# --- mappings -------------------------------------------------------------------------------------
def test_retry_sends_retry_dead_letter_with_reason_and_actor(live: Live, state: StateDir) -> None:
    result = live.cli("--actor", "alice", "-o", "json", "dead-letters", "retry", "dead-open", "--reason", "back up")
    assert result.exit_code == 0, result.stderr
    assert live.posts() == [{"choice": "retry_dead_letter", "dead_letter_id": "dead-open", "reason": "back up",
                             "actor_id": "alice"}]
    assert live.engine.requests_to("POST", RESUME_PLAN)[0].path == "/stateful-runtime/runs/run-a/resume-plan"
    row = live.engine.dead_letter("dead-open")
    assert row["status"] in ("retry_requested", "retrying") and row["disposition_actor"]["id"] == "alice"
    data = result.json()["data"]
    assert [c["dead_letter_id"] for c in data["changed"]] == ["dead-open"] and data["changed"][0]["to"] == \
        "retry_requested"
    [entry] = journal(state)
    assert entry["operation_id"] == data["operation_id"] and entry["action"] == "retry"
    assert entry["rows"][0]["after"]["disposition_reason"] == "back up"  # as the engine echoed it


def test_park_sends_ignore_dead_letter(live: Live, state: StateDir) -> None:
    result = live.cli("dead-letters", "park", "dead-retry", "--reason", "duplicate")
    assert result.exit_code == 0, result.stderr
    assert live.posts()[0]["choice"] == "ignore_dead_letter"
    assert live.engine.dead_letter("dead-retry")["status"] == "ignored"
    assert journal(state)[0]["rows"][0]["to"] == "ignored"


@pytest.mark.parametrize("action", ["resolve", "reopen"])
def test_resolve_and_reopen_are_refused_with_the_alternative(live: Live, action: str) -> None:
    result = live.cli("dead-letters", action, "dead-ignored", "--reason", "x")
    assert result.exit_code == 2
    assert f"{action} is not possible through live store {live.engine.url}" in result.stderr
    assert "without --live" in result.stderr
    assert live.engine.count("POST", RESUME_PLAN) == 0


def test_retry_of_a_row_in_a_run_the_engine_no_longer_holds_is_refused(live: Live) -> None:
    live.engine.write_runs([rows.run("run-b")])  # run-a left memory
    result = live.cli("-o", "json", "dead-letters", "retry", "dead-open", "--reason", "x")
    assert result.exit_code == 6
    assert "run 'run-a' is not in the engine's memory" in result.json()["data"]["refused"][0]["reason"]


def test_an_unknown_id_is_not_found(live: Live) -> None:
    result = live.cli("dead-letters", "park", "dead-nope", "--reason", "x")
    assert result.exit_code == 3 and live.engine.count("POST", RESUME_PLAN) == 0


# --- the spent retry budget -----------------------------------------------------------------------
def test_exhausted_row_is_refused_before_sending(live: Live) -> None:
    live.engine.write_store(dead_letters=[rows.dead_letter("dead-spent", status="ignored", metadata=EXHAUSTED)])
    result = live.cli("-o", "json", "dead-letters", "retry", "dead-spent", "--reason", "again")
    assert result.exit_code == 6
    [refused] = result.json()["data"]["refused"]
    assert "retry budget is spent (retry_dispatch_count 5 >= 5)" in refused["reason"]
    assert "park it again as retry_exhausted" in refused["reason"]
    assert live.engine.count("POST", RESUME_PLAN) == 0


def test_exhausted_row_with_force_is_sent_and_the_engine_reparks_it(live: Live) -> None:
    live.engine.write_store(dead_letters=[rows.dead_letter("dead-spent", status="ignored", metadata=EXHAUSTED)])
    result = live.cli("-o", "json", "dead-letters", "retry", "dead-spent", "--reason", "again", "--force")
    assert result.exit_code == 0, result.stderr
    assert live.engine.count("POST", RESUME_PLAN) == 1
    [changed] = result.json()["data"]["changed"]
    assert changed["to"] == "ignored"  # reported as the engine left it, not as requested
    row = live.engine.dead_letter("dead-spent")
    assert row["status"] == "ignored" and row["operator_disposition"] == "retry_exhausted"


# --- bulk, rate limit, concurrency ----------------------------------------------------------------
def test_bulk_park_keeps_the_confirmation_rules(live: Live) -> None:
    result = live.cli("dead-letters", "park", "--status", "open", "--reason", "x")  # not a terminal, no --yes
    assert result.exit_code == 2 and "pass --yes" in result.stderr
    assert live.engine.count("POST", RESUME_PLAN) == 0


def test_bulk_requests_respect_max_rps(engine_factory: Factory, tandemctl: Callable[..., Result]) -> None:
    engine = engine_factory(token=TOKEN)
    seed(engine, [rows.dead_letter(f"dead-{n:02d}", created=1000 + n) for n in range(12)])
    live = Live(engine, tandemctl)
    result = live.cli("-o", "json", "dead-letters", "park", "--status", "open", "--reason", "flood", "--yes",
                      "--max-rps", "4")
    assert result.exit_code == 0, result.stderr
    assert len(result.json()["data"]["changed"]) == 12
    times = sorted(r.at for r in engine.requests_to("POST", RESUME_PLAN))
    assert len(times) == 12
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 5  # 4 per second, one of slack for scheduling jitter; unlimited would be 12


# --- faults on writes -----------------------------------------------------------------------------
def test_a_dropped_connection_after_sending_is_unknown_and_never_retried(live: Live, state: StateDir) -> None:
    live.engine.drop_after_apply(method="POST", times=1)
    result = live.cli("-o", "json", "dead-letters", "park", "dead-open", "--reason", "x")
    assert result.exit_code == 6
    [unknown] = result.json()["data"]["unknown"]
    assert unknown["dead_letter_id"] == "dead-open"
    assert "not retried" in unknown["reason"] and "a re-read finds it 'ignored'" in unknown["reason"]
    assert live.engine.count("POST", RESUME_PLAN) == 1
    [entry] = journal(state)
    assert entry["unknown"][0]["dead_letter_id"] == "dead-open"


def test_a_slow_post_is_waited_for(live: Live) -> None:
    live.engine.delay_replies(1.5, method="POST")
    result = live.cli("dead-letters", "park", "dead-open", "--reason", "x")
    assert result.exit_code == 0, result.stderr
    assert live.engine.count("POST", RESUME_PLAN) == 1


def test_a_500_on_the_post_is_refused_with_the_engines_error(live: Live) -> None:
    live.engine.fail_next(1, status=500, method="POST")
    result = live.cli("-o", "json", "dead-letters", "park", "dead-open", "--reason", "x")
    assert result.exit_code == 6
    assert "HTTP 500: fake_engine_injected_failure" in result.json()["data"]["refused"][0]["reason"]
    assert live.engine.count("POST", RESUME_PLAN) == 1


# --- undo -----------------------------------------------------------------------------------------
def test_undo_of_a_live_park_sends_the_inverse_choice(live: Live) -> None:
    parked = live.cli("-o", "json", "dead-letters", "park", "dead-retry", "--reason", "hold")
    operation = parked.json()["data"]["operation_id"]
    result = live.cli("-o", "json", "undo", operation, "--yes")
    assert result.exit_code == 0, result.stderr
    assert [p["choice"] for p in live.posts()] == ["ignore_dead_letter", "retry_dead_letter"]
    assert live.engine.dead_letter("dead-retry")["status"] in ("retry_requested", "retrying")


def test_undo_without_an_inverse_choice_is_refused(live: Live) -> None:
    parked = live.cli("-o", "json", "dead-letters", "park", "dead-open", "--reason", "hold")
    result = live.cli("-o", "json", "undo", parked.json()["data"]["operation_id"], "--yes")
    assert result.exit_code == 6
    assert "no choice that sets status 'open'" in result.json()["data"]["refused"][0]["reason"]
    assert live.engine.count("POST", RESUME_PLAN) == 1


# --- the journal's place, and the token nowhere -----------------------------------------------------
def test_without_a_local_data_dir_the_journal_is_per_user(engine_factory: Factory, tandemctl: Callable[..., Result],
                                                          tmp_path: Path) -> None:
    engine = engine_factory(token=TOKEN)
    seed(engine)
    env = {"TANDEM_API_TOKEN": TOKEN, "XDG_STATE_HOME": str(tmp_path / "xdg-state")}
    result = tandemctl("--state-dir", str(tmp_path / "elsewhere"), "--live", "--engine-url", engine.url,
                       "dead-letters", "park", "dead-open", "--reason", "x", env=env)
    assert result.exit_code == 0, result.stderr
    entries = (tmp_path / "xdg-state" / "tandemctl" / "live-journal.jsonl").read_text().splitlines()
    assert json.loads(entries[0])["action"] == "park"


def test_the_token_appears_in_no_output_and_no_file(live: Live, tmp_path: Path) -> None:
    outputs = [
        live.cli("-v", "-v", "dead-letters", "list"),
        live.cli("-v", "-o", "json", "dead-letters", "retry", "dead-open", "--reason", "r"),
        live.cli("-v", "-o", "jsonl", "dead-letters", "park", "--status", "retry_requested", "--reason", "p", "--yes"),
        live.cli("-v", "history"),
        live.cli("-v", "dead-letters", "resolve", "dead-ignored", "--reason", "x"),
        live.cli("-v", "dead-letters", "list", token="tk_wrong"),
    ]
    live.engine.drop_after_apply(method="POST")
    outputs.append(live.cli("-v", "dead-letters", "park", "dead-ignored", "--reason", "x", "--force"))
    for result in outputs:
        assert TOKEN not in result.stdout and TOKEN not in result.stderr
        assert "tk_wrong" not in result.stdout + result.stderr
    leaked = [path for path, data in all_text_under(tmp_path) if TOKEN.encode() in data]
    assert leaked == []
    assert journal_lines(tmp_path)  # the journal exists and was searched


def journal_lines(root: Path) -> list[str]:
    return [line for path in root.rglob("tandemctl-journal.jsonl") for line in path.read_text().splitlines()]
