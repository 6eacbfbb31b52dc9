"""The fake engine answers like tandem-server: gates, health, diagnostics and the global
reliability list, field by field (spec 06 §1–§4, spec 01 §12–§13.2). Real sockets, httpx."""

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.remote import engine_rows as rows
from tests.remote.fake_engine import FakeEngine

Factory = Callable[..., FakeEngine]
LIST = "/stateful-runtime/reliability"
AUTH_BODY = {"error": "Unauthorized: missing or invalid API token", "code": "AUTH_REQUIRED", "retryable": False}
LIST_KEYS = {"source", "outbox", "tool_effects", "dead_letters", "compensations", "counts", "limit", "pagination"}
COLLECTIONS = ("outbox", "tool_effects", "dead_letters", "compensations")
RICH_HEALTH_KEYS = {"healthy", "ready", "apiTokenRequired", "phase", "startup_attempt_id", "startup_elapsed_ms",
                    "last_error", "version", "build_id", "git_sha", "binary_path", "binary_modified_at_ms", "mode",
                    "leaseCount", "workspace_root", "environment", "memory_context_policy", "browser"}


def client(engine: FakeEngine, token: str | None = None, header: str = "authorization") -> httpx.Client:
    headers = {}
    if token is not None:
        headers[header] = f"Bearer {token}" if header == "authorization" else token
    return httpx.Client(base_url=engine.url, headers=headers, trust_env=False, timeout=10)


def get(engine: FakeEngine, path: str, **params: Any) -> httpx.Response:
    with client(engine, engine.token) as http:
        return http.get(path, params=params or None)


def ids(body: dict[str, Any], collection: str = "dead_letters") -> list[str]:
    key = {"outbox": "outbox_id", "tool_effects": "effect_id", "dead_letters": "dead_letter_id",
           "compensations": "compensation_id"}[collection]
    return [row[key] for row in body[collection]]


def assert_json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- health and diagnostics -----------------------------------------------------------------------
def test_health_v066_is_the_rich_object_without_a_token(fake_engine: FakeEngine) -> None:
    with client(fake_engine, "wrong-token") as http:
        body = assert_json(http.get("/global/health"), 200)
    assert set(body) == RICH_HEALTH_KEYS
    assert body["version"] == "0.6.6" and body["apiTokenRequired"] is True
    assert body["healthy"] is True and body["ready"] is True and body["phase"] == "ready"
    assert body["last_error"] is None and isinstance(body["startup_elapsed_ms"], int)


def test_health_v072_is_only_healthy_and_ready(engine_factory: Factory) -> None:
    engine = engine_factory(version="0.7.2")
    with client(engine) as http:
        assert assert_json(http.get("/global/health"), 200) == {"healthy": True, "ready": True}
        head = http.head("/global/health")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(("version", "expected"), [
    ("0.6.6", {"healthy": True, "ready": False, "phase": "starting"}),
    ("0.7.2", {"healthy": False, "ready": False}),
])
def test_health_bypasses_the_startup_gate(engine_factory: Factory, version: str, expected: dict[str, Any]) -> None:
    engine = engine_factory(version=version, phase="starting")
    with client(engine) as http:
        body = assert_json(http.get("/global/health"), 200)
    assert {key: body[key] for key in expected} == expected


def test_diagnostics_v072_needs_the_token_and_a_direct_loopback_peer(engine_factory: Factory) -> None:
    engine = engine_factory(version="0.7.2")
    with client(engine) as http:
        assert assert_json(http.get("/global/diagnostics"), 401) == AUTH_BODY
    with client(engine, engine.token) as http:
        body = assert_json(http.get("/global/diagnostics"), 200)
        forwarded = http.get("/global/diagnostics", headers={"x-forwarded-for": "10.0.0.1"})
    assert body["version"] == "0.7.2" and body["apiTokenRequired"] is True and body["startup_error"] is False
    assert not {"binary_path", "workspace_root", "last_error"} & set(body)
    assert forwarded.status_code == 403 and forwarded.content == b""


def test_diagnostics_does_not_exist_on_v066(fake_engine: FakeEngine) -> None:
    response = get(fake_engine, "/global/diagnostics")
    assert response.status_code == 404 and response.content == b""


# --- the auth gate ------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["authorization", "x-agent-token", "x-tandem-token"])
def test_each_token_header_is_accepted(fake_engine: FakeEngine, header: str) -> None:
    with client(fake_engine, fake_engine.token, header) as http:
        assert http.get(LIST).status_code == 200
    sent = fake_engine.requests_to("GET", LIST)[-1].headers
    assert header in sent and not any(name.startswith(("x-tandem-org", "x-tenant", "x-user")) for name in sent)


def test_lowercase_bearer_is_accepted(fake_engine: FakeEngine) -> None:
    with httpx.Client(base_url=fake_engine.url, trust_env=False) as http:
        assert http.get(LIST, headers={"authorization": f"bearer {fake_engine.token}"}).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": "Token x"},
                                     {"x-agent-token": "wrong"}])
def test_missing_or_wrong_token_is_401_auth_required(fake_engine: FakeEngine, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=fake_engine.url, trust_env=False) as http:
        response = http.get(LIST, headers=headers)
    assert assert_json(response, 401) == AUTH_BODY
    assert "www-authenticate" not in response.headers


def test_a_wrong_agent_token_shadows_a_correct_bearer(fake_engine: FakeEngine) -> None:
    with client(fake_engine, fake_engine.token) as http:
        assert http.get(LIST, headers={"x-agent-token": "wrong"}).status_code == 401


@pytest.mark.parametrize(("version", "status"), [("0.6.6", 200), ("0.7.2", 401)])
def test_no_token_configured(engine_factory: Factory, version: str, status: int) -> None:
    engine = engine_factory(version=version, token=None)
    with client(engine) as http:
        assert http.get(LIST).status_code == 200
    with client(engine, "some-token") as http:
        assert http.get(LIST).status_code == status


# --- the startup gate ---------------------------------------------------------------------------------
def test_auth_runs_before_the_startup_gate(engine_factory: Factory) -> None:
    engine = engine_factory(phase="starting")
    with client(engine) as http:
        assert assert_json(http.get(LIST), 401) == AUTH_BODY


def test_starting_is_503_retryable(engine_factory: Factory) -> None:
    engine = engine_factory(phase="starting")
    body = assert_json(get(engine, LIST), 503)
    assert set(body) == {"error", "code", "retryable"}
    assert body["code"] == "ENGINE_STARTING" and body["retryable"] is True
    assert re.fullmatch(r"Engine starting: phase=\w+ attempt_id=[0-9a-f-]{36} elapsed_ms=\d+", body["error"])
    engine.phase = "ready"
    assert get(engine, LIST).status_code == 200


def test_failed_startup_is_503_not_retryable(engine_factory: Factory) -> None:
    engine = engine_factory(phase="failed", startup_error="config_init failed")
    body = assert_json(get(engine, "/stateful-runtime/runs/run-a/resume-plan"), 503)
    assert body["code"] == "ENGINE_STARTUP_FAILED" and body["retryable"] is False
    assert body["error"].startswith("Engine starting: phase=failed ")
    assert body["error"].endswith(" error=config_init failed")


def test_unknown_route_and_method(fake_engine: FakeEngine) -> None:
    assert get(fake_engine, "/no/such/route").status_code == 404
    with client(fake_engine, fake_engine.token) as http:
        response = http.post(LIST, json={})
    assert response.status_code == 405 and response.headers["allow"] == "GET"


# --- the global reliability list ------------------------------------------------------------------------
@pytest.fixture
def seeded(fake_engine: FakeEngine) -> FakeEngine:
    fake_engine.write_store(
        dead_letters=[rows.dead_letter("dead-newer", created=2000, run_id="Run-A"),
                      rows.dead_letter("dead-older", status="ignored", source_type="stateful_wait", run_id="run-b"),
                      rows.dead_letter("dead-hidden", created=3000, tenant=rows.OTHER, run_id="run-a"),
                      rows.dead_letter("dead-superseded", created=2500, metadata=rows.SUPERSEDED, run_id="run-b")],
        outbox=[rows.outbox("outbox-1", run_id="run-b")],
        tool_effects=[rows.effect("effect-1", status="failed", run_id="run-b")],
        compensations=[rows.compensation("comp-1", run_id="run-b"),
                       rows.compensation("comp-done", status="completed", created=900, run_id="run-b")],
    )
    return fake_engine


def test_list_shape_field_by_field(seeded: FakeEngine) -> None:
    body = assert_json(get(seeded, LIST), 200)
    assert set(body) == LIST_KEYS and body["source"] == "stateful_runtime_reliability"
    assert body["counts"] == {"outbox": 1, "tool_effects": 1, "dead_letters": 3, "compensations": 2}
    assert body["limit"] == 250
    assert body["pagination"] == {"after_id": None, "after_collection": None, "before_created_at_ms": None,
                                  "next": dict.fromkeys(COLLECTIONS)}
    assert ids(body) == ["dead-superseded", "dead-newer", "dead-older"]  # updated_at_ms descending
    stored = {row["dead_letter_id"]: row for row in seeded.read_store()["dead_letters"]}
    assert all(row == stored[row["dead_letter_id"]] for row in body["dead_letters"])  # rows as stored


def test_tenant_headers_are_ignored(seeded: FakeEngine) -> None:
    with client(seeded, seeded.token) as http:
        body = http.get(LIST, headers={"x-tandem-org-id": "org-b", "x-tandem-workspace-id": "workspace-b"}).json()
    assert "dead-hidden" not in ids(body)


@pytest.mark.parametrize(("params", "expected"), [
    ({"run_id": "run_a"}, {"dead_letters": 1, "outbox": 0, "tool_effects": 0, "compensations": 0}),
    ({"run_id": "ALL"}, {"dead_letters": 3, "outbox": 1, "tool_effects": 1, "compensations": 2}),
    ({"status": "open"}, {"dead_letters": 2, "outbox": 0, "tool_effects": 0, "compensations": 0}),
    ({"status": " Sent "}, {"dead_letters": 0, "outbox": 1, "tool_effects": 0, "compensations": 0}),
    ({"source_type": "stateful-wait"}, {"dead_letters": 1, "outbox": 1, "tool_effects": 0, "compensations": 2}),
    ({"source_type": ""}, {"dead_letters": 3, "outbox": 1, "tool_effects": 1, "compensations": 2}),
])
def test_filters(seeded: FakeEngine, params: dict[str, str], expected: dict[str, int]) -> None:
    assert assert_json(get(seeded, LIST, **params), 200)["counts"] == expected


@pytest.mark.parametrize("alias", ["active_recovery_only", "activeRecoveryOnly", "active_only"])
def test_active_recovery_only_filters_before_the_limit(seeded: FakeEngine, alias: str) -> None:
    body = get(seeded, LIST, **{alias: "true", "limit": "1"}).json()
    assert ids(body) == ["dead-newer"] and ids(body, "compensations") == ["comp-1"]
    assert ids(get(seeded, LIST, **{alias: "false", "limit": "1"}).json()) == ["dead-superseded"]


@pytest.mark.parametrize(("limit", "effective"), [("0", 1), ("1", 1), ("999", 999), ("5000", 1000)])
def test_limit_is_clamped(fake_engine: FakeEngine, limit: str, effective: int) -> None:
    assert get(fake_engine, LIST, limit=limit).json()["limit"] == effective


@pytest.mark.parametrize("query", ["limit=abc", "limit=", "limit=-1", "active_recovery_only=yes",
                                   "active_only=1", "before_created_at_ms=x", "limit=1&limit=2",
                                   "active_only=true&activeRecoveryOnly=true"])
def test_unparsable_query_is_400_plain_text(fake_engine: FakeEngine, query: str) -> None:
    response = get(fake_engine, f"{LIST}?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("Failed to deserialize query string: ")


def test_cursor_pages_only_its_collection(seeded: FakeEngine) -> None:
    """Upstream test 20: next cursor, inference from a bare after_id, stale anchor."""
    first = get(seeded, LIST, limit="1", active_only="true").json()
    assert first["pagination"]["next"]["dead_letters"] == {"after_id": "dead-newer", "after_collection": "dead_letters"}
    assert first["pagination"]["next"]["outbox"] == {"after_id": "outbox-1", "after_collection": "outbox"}
    second = get(seeded, LIST, after_id="dead-newer").json()
    assert second["pagination"]["after_collection"] == "dead_letters"
    assert second["pagination"]["after_id"] == "dead-newer"
    assert ids(second) == ["dead-older"]
    assert second["counts"] == {"outbox": 1, "tool_effects": 1, "dead_letters": 1, "compensations": 2}
    stale = get(seeded, LIST, after_id="dead-missing").json()
    assert stale["counts"] == dict.fromkeys(COLLECTIONS, 0)
    assert stale["pagination"]["after_collection"] is None and stale["pagination"]["next"] == dict.fromkeys(COLLECTIONS)


@pytest.mark.parametrize(("alias", "value"), [("after_collection", "dead_letters"), ("after_kind", "dead_letter"),
                                              ("afterCollection", "Dead-Letters")])
def test_after_collection_aliases(seeded: FakeEngine, alias: str, value: str) -> None:
    body = get(seeded, LIST, after_id="outbox-1", **{alias: value}).json()
    assert body["pagination"]["after_collection"] == "dead_letters"
    assert body["counts"]["dead_letters"] == 0 and body["counts"]["outbox"] == 1  # anchor not in dead letters


def test_an_unrecognised_collection_falls_back_to_inference(seeded: FakeEngine) -> None:
    body = get(seeded, LIST, after_id="outbox-1", after_collection="nonsense").json()
    assert body["pagination"]["after_collection"] == "outbox" and body["counts"]["outbox"] == 0


def test_inference_finds_an_anchor_beyond_the_first_page(fake_engine: FakeEngine) -> None:
    """Upstream test 21: 1005 dead letters, anchor dead-0004 with limit=1."""
    fake_engine.write_store(dead_letters=[rows.dead_letter(f"dead-{i:04d}", created=i) for i in range(1005)])
    body = get(fake_engine, LIST, limit="1", after_id="dead-0004").json()
    assert body["pagination"]["after_collection"] == "dead_letters" and ids(body) == ["dead-0003"]


@pytest.mark.parametrize("alias", ["before_created_at_ms", "before_created_at", "beforeCreatedAtMs",
                                   "beforeCreatedAt"])
def test_cursor_keeps_the_created_time_bound(fake_engine: FakeEngine, alias: str) -> None:
    """Upstream test 22."""
    fake_engine.write_store(dead_letters=[
        rows.dead_letter("dead-window-first", created=3000, updated=9000),
        rows.dead_letter("dead-outside-window", created=5000, updated=8500),
        rows.dead_letter("dead-window-second", created=2000, updated=8000)])
    first = get(fake_engine, LIST, limit="1", **{alias: "4000"}).json()
    cursor = first["pagination"]["next"]["dead_letters"]
    assert ids(first) == ["dead-window-first"] and first["pagination"]["before_created_at_ms"] == 4000
    assert cursor == {"after_id": "dead-window-first", "after_collection": "dead_letters", "before_created_at_ms": 4000}
    assert ids(get(fake_engine, LIST, limit="1", **cursor).json()) == ["dead-window-second"]


@pytest.mark.parametrize("content", [b"{not-valid-json", b"[]", b'{"dead_letters": [{"dead_letter_id": 1}]}'])
def test_an_unreadable_store_lists_as_empty(fake_engine: FakeEngine, content: bytes) -> None:
    fake_engine.write_raw_store(content)
    body = assert_json(get(fake_engine, LIST), 200)
    assert body["counts"] == dict.fromkeys(COLLECTIONS, 0)
    assert fake_engine.reliability_file.read_bytes() == content  # a read never moves the file


def test_an_unreadable_store_can_be_told_apart_when_asked(engine_factory: Factory) -> None:
    engine = engine_factory(corrupt_store_as_empty=False)
    engine.write_raw_store(b"{not-valid-json")
    assert assert_json(get(engine, LIST), 500)["error"] == "reliability_store_unreadable"
