"""The store contract, run on every store (the 0.6.x JSON file, SQLite, PostgreSQL): list semantics,
every action and undo through the commands, compare-and-set conflicts, byte-exact unchanged rows
and unknown fields, stale open rows, export; sealed rows on the databases."""

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pytest

from tandemctl.engine.rows import RowChange
from tandemctl.stores.base import ChangeConflict
from tests.cli.test_cli_actions import CASES
from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter, scope, tenant, write_store
from tests.stores.records import compensation
from tests.stores.sqlite_builder import StoreBuilder
from tests.stores.store_kinds import KINDS, Seeded, seed

ORG_A = tenant("org-a", "ws-a")
ORG_B = tenant("org-b", "ws-b", deployment="prod")
Seed = Callable[..., Seeded]


@pytest.fixture(params=KINDS)
def seeder(request: pytest.FixtureRequest, state: StateDir, monkeypatch: pytest.MonkeyPatch) -> Seed:
    kind = request.param

    def make(dead_letters: Sequence[dict[str, Any]], **kwargs: Any) -> Seeded:
        url = request.getfixturevalue("pg_url") if kind == "postgres" else None
        seeded = seed(kind, state, dead_letters, pg_url=url, **kwargs)
        for name, value in seeded.env.items():
            monkeypatch.setenv(name, value)
        return seeded

    return make


def effect(effect_id: str, *, status: str = "succeeded", run_id: str = "run-a", updated: int = 3000,
           tenant_context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, "effect_id": effect_id, "run_id": run_id, "scope": scope(tenant_context),
            "status": status, "operation": "mock.send", "audit_hash": "5d41402abc4b2a76", "created_at_ms": 1000,
            "updated_at_ms": updated}


ROWS = [
    dead_letter("dl-1", updated=5000, run_id="run-a"),
    dead_letter("dl-2", updated=7000, status="ignored", run_id="run-b", reason="quota exceeded"),
    dead_letter("dl-3", updated=5000, run_id="Run-A"),  # ties on updated_at_ms keep the stored order
    dead_letter("dl-4", updated=6000, tenant_context=ORG_A, source_type="stateful_wait", options=("ignore",)),
    dead_letter("dl-5", updated=4000, tenant_context=ORG_B, status="retry_requested"),
    dead_letter("dl-6", updated=8000, created=900, reason="provider timeout again"),
]


def ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [row["dead_letter_id"] for row in result.json()["data"]]


def test_list_is_in_the_engine_order_with_its_filters(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    seeder(ROWS)
    assert ids(tandemctl("--all-tenants", "-o", "json", "dead-letters", "list")) == \
        ["dl-6", "dl-2", "dl-4", "dl-1", "dl-3", "dl-5"]
    assert ids(tandemctl("-o", "json", "dead-letters", "list")) == ["dl-6", "dl-2", "dl-1", "dl-3"]
    assert ids(tandemctl("--tenant", "org-b/ws-b/prod", "-o", "json", "dead-letters", "list")) == ["dl-5"]
    assert ids(tandemctl("--tenant", "org-b/ws-b", "-o", "json", "dead-letters", "list")) == []
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--run", "run_a")) == ["dl-6", "dl-1", "dl-3"]
    assert ids(tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--status", "IGNORED",
                         "--status", "retry-requested")) == ["dl-2", "dl-5"]
    assert ids(tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--source-type", "stateful_wait")) \
        == ["dl-4"]
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--reason-match", "again|quota")) == ["dl-6", "dl-2"]


def test_cursor_pages_cover_the_list_exactly_once(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    seeder(ROWS)
    seen: list[str] = []
    argv = ["--all-tenants", "-o", "json", "dead-letters", "list", "--limit", "2"]
    result = tandemctl(*argv)
    while True:
        seen += ids(result)
        cursor = result.json().get("next")
        if not cursor:
            break
        result = tandemctl(*argv, "--after-id", cursor["after_id"])
    assert seen == ["dl-6", "dl-2", "dl-4", "dl-1", "dl-3", "dl-5"]
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--after-id", "no-such")) == []
    # An anchor outside the filter yields nothing, as in the engine.
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--status", "open", "--after-id", "dl-2")) == []


@pytest.mark.parametrize(("action", "start", "target"), [
    ("retry", "open", "retry_requested"), ("park", "open", "ignored"),
    ("resolve", "retry_requested", "resolved"), ("reopen", "ignored", "open"),
])
def test_every_action_and_its_undo(seeder: Seed, tandemctl: Callable[..., Result], action: str, start: str,
                                   target: str) -> None:
    seeded = seeder([dead_letter("dl-x", status=start, updated=2000), dead_letter("dl-y", updated=1500)])
    untouched = seeded.raw()["dl-y"]
    result = tandemctl("-o", "json", "dead-letters", action, "dl-x", "--reason", "ops")
    assert result.exit_code == 0, result.stderr
    row = seeded.records()["dl-x"]
    assert (row["status"], row["disposition_reason"], row["updated_at_ms"]) == (target, "ops", NOW_MS)
    assert seeded.raw()["dl-y"] == untouched
    if seeded.kind != "json":
        assert seeded.columns("dl-x")[:2] == (target, NOW_MS)
    operation = result.json()["data"]["operation_id"]
    undo = tandemctl("-o", "json", "undo", operation, "--yes")
    assert undo.exit_code == 0, undo.stderr
    assert seeded.records()["dl-x"]["status"] == start
    assert seeded.raw()["dl-y"] == untouched


def test_bulk_action_by_selector(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    seeded = seeder(ROWS)
    result = tandemctl("--all-tenants", "dead-letters", "park", "--status", "open", "--reason", "bulk", "--yes")
    assert result.exit_code == 0, result.stderr
    statuses = {key: row["status"] for key, row in seeded.records().items()}
    assert statuses == {"dl-1": "ignored", "dl-2": "ignored", "dl-3": "ignored", "dl-4": "ignored",
                        "dl-5": "retry_requested", "dl-6": "ignored"}


def test_unknown_fields_survive_and_unchanged_rows_are_byte_exact(seeder: Seed,
                                                                 tandemctl: Callable[..., Result]) -> None:
    extra = {"future_field": {"z": 1, "a": [1.5, "ü"]}, "metadata": {"retry_dispatch_count": 2, "b": 1, "a": 2}}
    seeded = seeder([dead_letter("dl-new", updated=3000, **extra), dead_letter("dl-old", updated=2000, **extra)])
    before = seeded.raw()
    assert tandemctl("dead-letters", "park", "dl-new", "--reason", "x").exit_code == 0
    after = seeded.raw()
    assert after["dl-old"] == before["dl-old"]
    assert seeded.records()["dl-new"]["future_field"] == {"z": 1, "a": [1.5, "ü"]}


def test_a_row_changed_between_plan_and_apply_is_a_conflict(seeder: Seed) -> None:
    seeded = seeder([dead_letter("dl-c", updated=2000), dead_letter("dl-d", updated=2000)])
    store = seeded.store()
    with store.writer(5.0) as writer:
        rows = {row["dead_letter_id"]: row for row in writer.dead_letters()}
        planned = [RowChange("dead_letters", key, rows[key], {**rows[key], "status": "ignored",
                                                                "updated_at_ms": NOW_MS}) for key in ("dl-c", "dl-d")]
        seeded.engine_write({**rows["dl-d"], "status": "retrying", "updated_at_ms": 2500})
        with pytest.raises(ChangeConflict) as conflict:
            writer.apply(planned)
        assert conflict.value.keys == ("dl-d",)
        assert {key: row["status"] for key, row in seeded.records().items()} == {"dl-c": "open", "dl-d": "retrying"}
        written = writer.apply(planned, skip_conflicts=True)
    assert [change.key for change in written] == ["dl-c"]
    assert {key: row["status"] for key, row in seeded.records().items()} == {"dl-c": "ignored", "dl-d": "retrying"}


def test_stale_open_rows_are_listed_and_resolved(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    rows = [dead_letter("dead-letter-1", updated=2000), dead_letter("dead-letter-2", updated=2000),
            dead_letter("dead-letter-3", updated=2000, status="ignored"),
            dead_letter("dead-letter-4", updated=2000, run_id="run-other")]
    effects = [effect("effect-letter-1"), effect("effect-letter-2", status="failed"), effect("effect-letter-3"),
               effect("effect-letter-4")]
    seeded = seeder(rows, tool_effects=effects)
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--stale")) == ["dead-letter-1"]
    result = tandemctl("dead-letters", "resolve", "--stale", "--reason", "effect succeeded", "--yes")
    assert result.exit_code == 0, result.stderr
    statuses = {key: row["status"] for key, row in seeded.records().items()}
    assert statuses == {"dead-letter-1": "resolved", "dead-letter-2": "open", "dead-letter-3": "ignored",
                        "dead-letter-4": "open"}


def test_export_is_the_engine_document(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    seeder(ROWS, tool_effects=[effect("effect-1")])
    result = tandemctl("export")
    assert result.exit_code == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert list(document) == ["schema_version", "outbox", "tool_effects", "dead_letters", "compensations"]
    assert [row["dead_letter_id"] for row in document["dead_letters"]] == ["dl-6", "dl-2", "dl-4", "dl-1", "dl-3",
                                                                           "dl-5"]
    assert document["dead_letters"][0] == ROWS[5]
    assert [row["effect_id"] for row in document["tool_effects"]] == ["effect-1"]


def test_sealed_rows_are_listed_marked_and_never_written(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    builder = StoreBuilder().add("dead_letters", dead_letter("dl-local", updated=3000), encoding="local") \
        .hosted("dead_letters", dead_letter("dl-hosted", updated=2000, run_id="run-h"))
    seeded = seeder([dead_letter("dl-plain", updated=1000)], builder=builder)
    if seeded.kind == "json":
        pytest.skip("the JSON file has no sealed rows")
    before = seeded.raw()
    listed = tandemctl("-o", "json", "dead-letters", "list").json()["data"]
    assert [row["dead_letter_id"] for row in listed] == ["dl-local", "dl-hosted", "dl-plain"]
    hosted = listed[1]
    assert hosted["tandemctl_sealed"]["encoding"] == "hosted" and not hosted["tandemctl_sealed"]["readable"]
    assert {key: hosted[key] for key in ("run_id", "status", "updated_at_ms")} == \
        {"run_id": "run-h", "status": "open", "updated_at_ms": 2000}
    assert "reason" not in hosted and "source_type" not in hosted  # nothing invented
    table = tandemctl("dead-letters", "list")
    assert "sealed:" in table.stdout and "sealed row(s)" in table.stderr
    result = tandemctl("-o", "json", "dead-letters", "park", "--all", "--reason", "x", "--yes")
    assert result.exit_code == 6
    refused = {row["dead_letter_id"] for row in result.json()["data"]["refused"]}
    assert refused == {"dl-local", "dl-hosted"}
    after = seeded.raw()
    assert (after["dl-local"], after["dl-hosted"]) == (before["dl-local"], before["dl-hosted"])
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--source-type", "tool_effect")) == ["dl-plain"]


@pytest.mark.parametrize(("action", "status", "force", "code", "final"), CASES)
def test_the_cli_transition_table_on_every_store(seeder: Seed, tandemctl: Callable[..., Result], action: str,
                                                 status: str, force: bool, code: int, final: str) -> None:
    seeded = seeder([dead_letter("dead-1", status=status), dead_letter("dead-2")])
    before = seeded.raw()
    result = tandemctl("-o", "json", "dead-letters", action, "dead-1", "--reason", "why",
                       *(["--force"] if force else []))
    assert result.exit_code == code, result.stderr
    assert seeded.records()["dead-1"]["status"] == final
    if final == status:
        assert seeded.raw() == before and result.json()["data"]["applied"] is False
    else:
        assert seeded.raw()["dead-2"] == before["dead-2"]


def test_other_tenants_ids_are_not_found_and_retry_resets_the_budget(seeder: Seed,
                                                                     tandemctl: Callable[..., Result]) -> None:
    exhausted = dead_letter("dead-x", status="ignored", operator_disposition="retry_exhausted",
                            metadata={"retry_dispatch_count": 5, "retry_dispatched_at_ms": 900})
    seeded = seeder([exhausted, dead_letter("dead-a", tenant_context=ORG_A)])
    assert tandemctl("dead-letters", "park", "dead-a", "--reason", "x").exit_code == 3
    assert tandemctl("dead-letters", "retry", "dead-x", "--reason", "again").exit_code == 0
    metadata = seeded.records()["dead-x"]["metadata"]
    assert "retry_dispatch_count" not in metadata and metadata["previous_retry_dispatch_count"] == 5


def test_engine_order_and_cursor_across_many_batches(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    rows = [dead_letter(f"dl-{i:04}", updated=1000 + (i * 7919) % 97) for i in range(1300)]
    seeder(rows)
    expected = [row["dead_letter_id"] for row in sorted(rows, key=lambda row: -row["updated_at_ms"])]
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--limit", "0")) == expected
    seen: list[str] = []
    argv = ["-o", "json", "dead-letters", "list", "--limit", "450"]
    result = tandemctl(*argv)
    while True:
        seen += ids(result)
        cursor = result.json().get("next")
        if not cursor:
            break
        result = tandemctl(*argv, "--after-id", cursor["after_id"])
    assert seen == expected


def counted(result: Result) -> list[tuple[Any, ...]]:
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    return [(*(group[field] for field in data["by"]), group["count"]) for group in data["groups"]]


def test_count_answers_what_list_selects(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    """Counted from the index columns on a database, by decoding on the JSON file: the same answer,
    which is what the list selects with the same flags."""
    seeder([*ROWS, dead_letter("dl-7", updated=9000, run_id="  RUN-a\u2003", status="ignored"),
            dead_letter("dl-8", updated=9100, run_id="run-\u00c5")])
    assert counted(tandemctl("--all-tenants", "-o", "json", "dead-letters", "count")) == \
        [("open", 5), ("ignored", 2), ("retry_requested", 1)]
    assert counted(tandemctl("-o", "json", "dead-letters", "count", "--by", "tenant", "--by", "status")) == \
        [("local/local", "open", 4), ("local/local", "ignored", 2)]
    assert counted(tandemctl("--all-tenants", "-o", "json", "dead-letters", "count", "--by", "tenant")) == \
        [("local/local", 6), ("org-a/ws-a", 1), ("org-b/ws-b/prod", 1)]
    # The run filter trims Unicode white space and lower-cases ASCII only, as the engine does.
    run_a = tandemctl("-o", "json", "dead-letters", "count", "--run", "run_a", "--by", "run")
    assert counted(run_a) == [("run-a", 2), ("  RUN-a\u2003", 1), ("Run-A", 1)]
    assert ids(tandemctl("-o", "json", "dead-letters", "list", "--run", "run_a")) == ["dl-7", "dl-6", "dl-1", "dl-3"]
    assert counted(tandemctl("-o", "json", "dead-letters", "count", "--run", "RUN-\u00e5")) == []
    assert counted(tandemctl("-o", "json", "dead-letters", "count", "--run", "RUN-\u00c5")) == [("open", 1)]
    # A payload selector decodes the candidates: still the list's answer.
    assert counted(tandemctl("--all-tenants", "-o", "json", "dead-letters", "count", "--source-type",
                             "stateful_wait")) == [("open", 1)]
    assert counted(tandemctl("--all-tenants", "-o", "json", "dead-letters", "count", "--status", "open",
                             "--reason-match", "again")) == [("open", 1)]


def test_a_tenant_page_counts_what_other_tenants_hold(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    seeder(ROWS)
    assert "; 2 more in other tenants;" in tandemctl("dead-letters", "list").stderr
    assert "; 1 more in other tenants;" in tandemctl("dead-letters", "list", "--status", "open").stderr
    assert "; 1 more in other tenants;" in tandemctl("dead-letters", "list", "--source-type", "stateful_wait").stderr
    assert "other tenants" not in tandemctl("dead-letters", "list", "--status", "ignored").stderr


def test_bulk_selectors_on_the_payload_pick_the_same_rows(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    """A database reads only the selector's candidates and skips payloads that cannot match: the
    rows changed are still exactly those the selector names, on every store."""
    seeded = seeder([*ROWS, dead_letter("dl-old", created=100, updated=9000),
                     dead_letter("dl-wait", created=5000, updated=9100, source_type="stateful_wait",
                                 options=("ignore",))])
    result = tandemctl("--all-tenants", "-o", "json", "dead-letters", "park", "--status", "open", "--older-than",
                       f"{NOW_MS - 950}ms", "--source-type", "tool_effect", "--reason", "old", "--yes")
    assert result.exit_code == 0, result.stderr
    parked = sorted(key for key, row in seeded.records().items() if row.get("disposition_reason") == "old")
    assert parked == ["dl-6", "dl-old"]  # created at 900 and 100; dl-wait is a wait, the rest newer


def test_an_id_held_by_another_tenant_says_which(seeder: Seed, tandemctl: Callable[..., Result]) -> None:
    seeder(ROWS)
    result = tandemctl("dead-letters", "park", "dl-5", "dl-1", "--reason", "x")
    assert result.exit_code == 3, result.stderr  # one row parked, one not found here: not found wins
    assert "note: dl-5 is in tenant org-b/ws-b/prod: use --tenant org-b/ws-b/prod (or --all-tenants)" \
        in result.stderr


def test_compensations_of_an_effect(seeder: Seed) -> None:
    """A database narrows by a text search on the payload, then checks the field: a payload that
    only mentions the id elsewhere is not one, and an id that needs a JSON escape still works."""
    targets = [("comp-1", "effect-1", "rollback"), ("comp-2", "effect-2", "rollback"),
               ("comp-3", "effect-3", "undo effect-1 first"), ("comp-4", 'effect-"q"', "rollback"),
               ("comp-5", "effect-1", "refund")]
    records = [{**compensation(key, updated=1000 + index), "target_effect_id": target, "reason": reason}
               for index, (key, target, reason) in enumerate(targets)]
    seeded = seeder([dead_letter("dl-1")], builder=StoreBuilder().extend("compensations", records))
    if seeded.kind == "json":
        write_store(seeded.state.reliability, [dead_letter("dl-1")], compensations=records)
    store = seeded.store()
    assert [row["compensation_id"] for row in store.compensations_of("effect-1")] == ["comp-5", "comp-1"]
    assert [row["compensation_id"] for row in store.compensations_of('effect-"q"')] == ["comp-4"]
    assert store.compensations_of("effect-9") == []
