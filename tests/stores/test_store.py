"""The reliability store: exact round trip, the engine's parse strictness, the write format."""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.records import canonical_row
from tandemctl.errors import CorruptStateError, UnsupportedStateError
from tandemctl.stores.json_codec import parse_reliability, serialize_reliability
from tandemctl.stores.json_file import JsonReliabilityFile
from tests.factories import dead_letter, scope, tenant

# Written the way tandem-server writes it: declaration order, sorted metadata, 2-space pretty,
# newest update first, no trailing newline; plus keys a newer engine might add.
SERVER_FILE = """{
  "schema_version": 1,
  "outbox": [
    {
      "schema_version": 1,
      "outbox_id": "outbox-18ab48006bed9a50",
      "run_id": "run-a",
      "scope": {
        "schema_version": 1,
        "tenant_context": {
          "org_id": "org-a",
          "workspace_id": "ws-a",
          "actor_id": "u1",
          "source": "explicit"
        }
      },
      "operation": "mock.send",
      "status": "failed",
      "effect_id": "effect-18ab48006bed9a50",
      "attempts": 2,
      "created_at_ms": 2000,
      "updated_at_ms": 2000,
      "metadata": {
        "bridged_from": "external_action_record",
        "external_action_id": "act-1",
        "observed_after_execution": true
      }
    }
  ],
  "tool_effects": [
    {
      "schema_version": 1,
      "effect_id": "effect-18ab48006bed9a50",
      "scope": {
        "schema_version": 1,
        "tenant_context": {
          "org_id": "org-a",
          "workspace_id": "ws-a",
          "actor_id": "u1",
          "source": "explicit"
        },
        "data_classes": [
          "financial_record"
        ],
        "risk_tier": "financial_record_access"
      },
      "status": "failed",
      "operation": "mock.send",
      "external_resource": {
        "capability_id": null,
        "provider": "mailer",
        "target": "ops@example.com"
      },
      "redaction_tier": "safe_ui",
      "audit_hash": "5d41402abc4b2a76b9719d911017c592",
      "error": "provider timeout",
      "created_at_ms": 2000,
      "updated_at_ms": 2000,
      "future_field": {
        "z": 1,
        "a": [
          1.5,
          "ü"
        ]
      }
    }
  ],
  "dead_letters": [
    {
      "schema_version": 1,
      "dead_letter_id": "dead-letter-effect-18ab48006bed9a50",
      "source_type": "tool_effect",
      "source_id": "effect-18ab48006bed9a50",
      "run_id": "run-a",
      "scope": {
        "schema_version": 1,
        "tenant_context": {
          "org_id": "org-a",
          "workspace_id": "ws-a",
          "actor_id": "u1",
          "source": "explicit"
        }
      },
      "reason": "provider timeout — ретрай",
      "status": "retry_requested",
      "recovery_options": [
        "retry",
        "ignore",
        "compensate"
      ],
      "payload_pointer": "external-action://act-1",
      "attempts": 2,
      "created_at_ms": 2000,
      "updated_at_ms": 5000,
      "operator_disposition": "retry_requested",
      "disposition_reason": "provider is back",
      "disposition_actor": {
        "kind": "human_user",
        "id": "ops-1"
      },
      "disposition_at_ms": 5000,
      "metadata": {
        "idempotency_key": "idem-run-a-node-a-send",
        "nested": {
          "a": [],
          "b": {},
          "c": "\\u001b[31m"
        },
        "operation": "mock.send",
        "status": "failed"
      },
      "added_by_newer_engine": true
    }
  ],
  "compensations": []
}"""


def test_server_written_store_round_trips_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "stateful_reliability.json"
    data = SERVER_FILE.encode()
    store = parse_reliability(data, path)
    assert serialize_reliability(store) == data


def test_unknown_keys_survive_a_mutation_of_another_row(tmp_path: Path) -> None:
    path = tmp_path / "stateful_reliability.json"
    path.write_bytes(SERVER_FILE.encode())

    def apply(store: Any) -> tuple[bool, None]:
        store.rows("outbox")[0]["attempts"] = 3
        return True, None

    JsonReliabilityFile(path).mutate(apply, lock_timeout=1)
    after = json.loads(path.read_bytes())
    assert after["dead_letters"][0]["added_by_newer_engine"] is True
    assert after["tool_effects"][0]["future_field"] == {"z": 1, "a": [1.5, "ü"]}
    assert after["outbox"][0]["attempts"] == 3
    assert path.read_bytes().replace(b'"attempts": 3', b'"attempts": 2') == SERVER_FILE.encode()


def test_missing_file_is_an_empty_store(tmp_path: Path) -> None:
    store = JsonReliabilityFile(tmp_path / "absent.json").load()
    assert store.exists is False and store.dead_letters == []


def test_empty_object_is_a_valid_store(tmp_path: Path) -> None:
    assert parse_reliability(b"{}", tmp_path / "s.json").dead_letters == []


def test_write_format_sorts_by_updated_desc_stably_and_forces_version(tmp_path: Path) -> None:
    rows = [dead_letter("d1", updated=10), dead_letter("d2", updated=30), dead_letter("d3", updated=10)]
    store = parse_reliability(json.dumps({"schema_version": 1, "dead_letters": rows}).encode(), tmp_path / "s")
    out = serialize_reliability(store)
    parsed = json.loads(out)
    assert [r["dead_letter_id"] for r in parsed["dead_letters"]] == ["d2", "d1", "d3"]
    assert list(parsed) == ["schema_version", "outbox", "tool_effects", "dead_letters", "compensations"]
    assert not out.endswith(b"\n") and out.startswith(b'{\n  "schema_version": 1,')


def test_canonical_row_orders_keys_and_sorts_metadata() -> None:
    row = {"status": "open", "dead_letter_id": "d", "zz_unknown": 1, "metadata": {"b": 1, "a": {"d": 1, "c": 2}},
           "reason": "r", "source_id": "s", "source_type": "tool_effect", "scope": scope(), "created_at_ms": 1,
           "updated_at_ms": 1, "schema_version": 1, "recovery_options": [], "attempts": 0, "run_id": None}
    out = canonical_row(row, "dead_letters")
    assert list(out) == ["schema_version", "dead_letter_id", "source_type", "source_id", "scope", "reason",
                         "status", "recovery_options", "attempts", "created_at_ms", "updated_at_ms", "metadata",
                         "zz_unknown"]
    assert list(out["metadata"]) == ["a", "b"] and list(out["metadata"]["a"]) == ["c", "d"]


def _dl(**changes: Any) -> dict[str, Any]:
    row = dead_letter("dead-bad", tenant_context=tenant("org-a", "ws-a"))
    for key, value in changes.items():
        if value is _DROP:
            row.pop(key)
        else:
            row[key] = value
    return row


_DROP = object()

# (case, dead-letter field changes, text expected in the message) — spec 01 §5, one per rule.
STRICTNESS_CASES = [
    ("missing required id", {"dead_letter_id": _DROP}, "dead_letter_id"),
    ("missing required scope", {"scope": _DROP}, "scope"),
    ("missing created_at_ms", {"created_at_ms": _DROP}, "created_at_ms"),
    ("string for number", {"attempts": "2"}, "attempts"),
    ("float for integer", {"created_at_ms": 1000.0}, "created_at_ms"),
    ("negative unsigned", {"updated_at_ms": -1}, "updated_at_ms"),
    ("u32 overflow", {"attempts": 2**32}, "attempts"),
    ("null recovery_options", {"recovery_options": None}, "recovery_options"),
    ("null attempts", {"attempts": None}, "attempts"),
    ("null scope", {"scope": None}, "scope"),
    ("null tenant_context", {"scope": {"schema_version": 1, "tenant_context": None}}, "tenant_context"),
    ("null data_classes", {"scope": {"tenant_context": tenant("o", "w"), "data_classes": None}}, "data_classes"),
    ("unknown status spelling", {"status": "Open"}, "status"),
    ("kebab status", {"status": "retry-requested"}, "status"),
    ("unknown recovery option", {"recovery_options": ["retry", "replay"]}, "recovery_options"),
    ("unknown principal kind", {"disposition_actor": {"kind": "robot", "id": "x"}}, "disposition_actor"),
    ("bool for integer", {"attempts": True}, "attempts"),
    ("number for string", {"reason": 5}, "reason"),
    ("null in array", {"recovery_options": ["retry", None]}, "recovery_options"),
]


@pytest.mark.parametrize(("case", "changes", "field"), STRICTNESS_CASES, ids=[c[0] for c in STRICTNESS_CASES])
def test_engine_strictness_is_refused_naming_record_and_field(
    tmp_path: Path, case: str, changes: dict[str, Any], field: str
) -> None:
    path = tmp_path / "stateful_reliability.json"
    data = json.dumps({"schema_version": 1, "dead_letters": [_dl(**changes)]}, indent=2).encode()
    path.write_bytes(data)
    with pytest.raises(CorruptStateError) as info:
        JsonReliabilityFile(path).load()
    text = str(info.value)
    assert str(path) in text and "dead_letters[0]" in text and field in text
    assert "\n" not in text
    if "dead_letter_id" in _dl(**changes):
        assert "'dead-bad'" in text
    assert path.read_bytes() == data


RAW_CASES = [
    ("truncated", b'{"schema_version": 1, "dead_letters": [', "invalid JSON"),
    ("bom", b'\xef\xbb\xbf{"schema_version": 1}', "byte-order mark"),
    ("invalid utf-8", b'{"schema_version": 1, "x": "\xff"}', "invalid JSON"),
    ("top level array", b"[]", "top level"),
    ("trailing garbage", b'{"schema_version": 1} x', "invalid JSON"),
    ("nan", b'{"schema_version": 1, "dead_letters": [], "x": NaN}', "invalid JSON"),
    ("duplicate key", b'{"schema_version": 1, "dead_letters": [], "dead_letters": []}', "duplicate key"),
    ("array is null", b'{"schema_version": 1, "dead_letters": null}', "dead_letters"),
    ("float version", b'{"schema_version": 1.0}', "schema_version"),
]


@pytest.mark.parametrize(("case", "data", "needle"), RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_unparseable_files_are_refused_and_left_untouched(tmp_path: Path, case: str, data: bytes,
                                                          needle: str) -> None:
    path = tmp_path / "stateful_reliability.json"
    path.write_bytes(data)
    with pytest.raises(CorruptStateError) as info:
        JsonReliabilityFile(path).mutate(lambda store: (True, None), lock_timeout=1)
    assert needle in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["stateful_reliability.json", "stateful_reliability.json.tandemctl.lock"]


def test_newer_schema_version_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedStateError, match="newer than this tandemctl supports"):
        parse_reliability(b'{"schema_version": 2}', tmp_path / "s.json")


def test_duplicate_key_inside_a_record_is_refused(tmp_path: Path) -> None:
    row = json.dumps(dead_letter("d1"))
    data = ('{"dead_letters": [' + row[:-1] + ', "status": "open"}]}').encode()
    with pytest.raises(CorruptStateError, match="duplicate key 'status'"):
        parse_reliability(data, tmp_path / "s.json")


def test_any_json_is_accepted_inside_metadata(tmp_path: Path) -> None:
    rows = [dead_letter("d1", metadata=[1, "x", None, {"deep": [{"x": 1.25}]}]), dead_letter("d2", metadata="text")]
    store = parse_reliability(json.dumps({"dead_letters": rows}).encode(), tmp_path / "s.json")
    assert len(store.dead_letters) == 2


def _nest(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_beyond_serde_recursion_limit_is_refused(tmp_path: Path) -> None:
    ok = {"dead_letters": [dead_letter("d1", metadata=_nest(124))]}  # 1 + 1 + 1 + 124 = 127 levels
    parse_reliability(json.dumps(ok).encode(), tmp_path / "s.json")
    deep = {"dead_letters": [dead_letter("d1", metadata=_nest(125))]}
    with pytest.raises(CorruptStateError, match="nested deeper than 127"):
        parse_reliability(json.dumps(deep).encode(), tmp_path / "s.json")
