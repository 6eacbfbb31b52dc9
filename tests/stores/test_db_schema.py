import hashlib
import struct

import pytest

from tandemctl.errors import UnsupportedStateError
from tandemctl.stores import db_schema as s


def test_advisory_keys_are_the_signed_big_endian_sha256_prefix() -> None:
    digest = hashlib.sha256(b"tandem-stateful-engine-lock:tandem_rt_abc").digest()
    assert s.engine_lock_key("tandem_rt_abc") == struct.unpack(">q", digest[:8])[0]
    digest = hashlib.sha256(b"tandem-stateful-write-txn:tandem_rt_abc").digest()
    assert s.write_txn_key("tandem_rt_abc") == struct.unpack(">q", digest[:8])[0]


def test_advisory_keys_cover_negative_values() -> None:
    keys = [s.advisory_key(s.ENGINE_LOCK_PREFIX, f"schema_{n}") for n in range(32)]
    assert min(keys) < 0 < max(keys)
    assert all(-(2**63) <= key < 2**63 for key in keys)


@pytest.mark.parametrize("name", ["a", "_", "tandem_rt_0123456789abcdef", "x" * 63, "_9"])
def test_valid_schema_names(name: str) -> None:
    assert s.is_valid_schema_name(name)


@pytest.mark.parametrize("name", ["", "9abc", "Tandem", "tandem-rt", "x" * 64, "a b", "ä", "abc\n", "public;"])
def test_invalid_schema_names(name: str) -> None:
    assert not s.is_valid_schema_name(name)


def test_marker_is_name_plus_newline() -> None:
    assert s.schema_from_marker("tandem_rt_0123456789abcdef\n") == "tandem_rt_0123456789abcdef"
    with pytest.raises(UnsupportedStateError, match="not a valid schema"):
        s.schema_from_marker("Bad-Name\n")


def test_tables_name_their_payload_column_and_kind() -> None:
    assert [(t.name, t.id_column, t.record_id_field, t.payload_column, t.kind) for t in s.RELIABILITY_TABLES] == [
        ("outbox_effects", "effect_id", "outbox_id", "effect_json", "outbox"),
        ("tool_effects", "effect_id", "effect_id", "effect_json", "tool_effect"),
        ("dead_letters", "dead_letter_id", "dead_letter_id", "record_json", "dead_letter"),
        ("compensations", "compensation_id", "compensation_id", "record_json", "compensation"),
    ]
    assert s.TOOL_EFFECTS.columns[3:6] == ("org_id", "workspace_id", "deployment_id")
    assert s.DEAD_LETTERS.columns[-3:] == ("org_id", "workspace_id", "deployment_id")
